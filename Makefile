# Two commands do all set-up: `make run` and `make test`. Both create .venv with a Python >= 3.12.
# Override the interpreter with PYTHON=/path/to/python3.12.

PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 /root/.pyenv/versions/3.12.1/bin/python3.12 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	command -v $$p; break; fi; done)
VENV := .venv
PY := $(VENV)/bin/python
SCENARIO ?= scenarios/baseline.toml

.PHONY: run test test-slow bench calibrate clean check-python

check-python:
	@if [ -z "$(PYTHON)" ]; then echo "error: no Python >= 3.12 found; install one or pass PYTHON=/path/to/python3.12" >&2; exit 2; fi

$(VENV)/.installed: pyproject.toml | check-python
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench,cluster]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/streamsim run $(SCENARIO)

test: $(VENV)/.installed
	$(PY) -m pytest -q

# The slow tests include the large schema fuzz (tests/test_fuzz.py): 300 scenarios, or
# STREAMSIM_FUZZ_EXAMPLES=N make test-slow.
test-slow: $(VENV)/.installed
	$(PY) -m pytest -q -m slow

bench: $(VENV)/.installed
	$(PY) benchmarks/run_baseline.py

calibrate: $(VENV)/.installed
	$(VENV)/bin/streamsim calibrate $(SCENARIO)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

"""The memory guard: the estimate is printed by validate and run, and run refuses what does not fit.

The estimate against measured peaks is a benchmark (benchmarks/memory_estimate.py), not a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings, strategies as st

from streamsim.core import config
from streamsim.sim import memory

ROOT = Path(__file__).resolve().parents[1]
TINY = ["listeners.count=200", "artists.count=30", "run.epochs=1", "run.burn_in_epochs=0", "run.name=tiny"]


def streamsim(*args: str, available: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != memory.AVAILABLE_ENV}
    if available is not None:
        env[memory.AVAILABLE_ENV] = available
    return subprocess.run([sys.executable, "-m", "streamsim", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, env=env)


def sets(*overrides: str) -> list[str]:
    return [a for s in overrides for a in ("--set", s)]


def gib(scenario: config.Scenario) -> str:
    return f"peak memory about {memory.estimate(scenario).total / memory.GB:.1f} GiB"


def test_validate_prints_the_estimate_and_the_memory_available():
    proc = streamsim("validate", "scenarios/baseline.toml", "scenarios/large.toml", available="64G")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for path, line in zip(("baseline", "large"), lines, strict=True):
        scenario = config.load(ROOT / "scenarios" / f"{path}.toml")
        assert f"{gib(scenario)} of 64.0 GiB available" in line
    assert memory.estimate(config.load(ROOT / "scenarios" / "large.toml")).total > \
        2 * memory.estimate(config.load(ROOT / "scenarios" / "baseline.toml")).total


def test_run_refuses_a_scenario_larger_than_the_memory_available(tmp_path):
    proc = streamsim("run", "scenarios/baseline.toml", "--quiet", "--out", str(tmp_path / "out"), *sets(*TINY),
                     available="1M")
    assert proc.returncode == 2
    assert "needs about" in proc.stderr and "more than the 0.0 GiB available" in proc.stderr
    assert "--force" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_force_runs_it_anyway_and_the_run_prints_its_estimate(tmp_path):
    proc = streamsim("run", "scenarios/baseline.toml", "--quiet", "--force", "--out", str(tmp_path / "out"),
                     *sets(*TINY), available="1M")
    assert proc.returncode == 0, proc.stderr
    assert f"tiny: {gib(config.load(ROOT / 'scenarios' / 'baseline.toml', TINY))}" in proc.stderr
    (run_dir,) = (tmp_path / "out" / "tiny").iterdir()
    assert (run_dir / "metrics.parquet").is_file()


def test_available_memory_reads_the_override_and_else_the_kernel(monkeypatch):
    monkeypatch.setenv(memory.AVAILABLE_ENV, "1.5G")
    assert memory.available_bytes() == int(1.5 * 1024 ** 3)
    monkeypatch.setenv(memory.AVAILABLE_ENV, "123456")
    assert memory.available_bytes() == 123456
    monkeypatch.delenv(memory.AVAILABLE_ENV)
    if Path("/proc/meminfo").is_file():
        assert 0 < memory.available_bytes() < 2 ** 50


@settings(max_examples=40, deadline=None)
@given(listeners=st.integers(1, 20_000_000), artists=st.integers(1, 2_000_000), epochs=st.integers(1, 520),
       factor=st.floats(1.01, 10.0))
def test_the_estimate_grows_with_listeners_artists_and_epochs(listeners, artists, epochs, factor):
    base = config.Scenario().replace(**{"listeners.count": listeners, "artists.count": artists,
                                        "run.epochs": epochs})
    est = memory.estimate(base)
    assert all(v >= 0 for v in est.parts.values()) and est.total >= memory.COEFFICIENTS.base
    for key, value in (("listeners.count", min(int(listeners * factor) + 1, 20_000_000)),
                       ("artists.count", min(int(artists * factor) + 1, 2_000_000)),
                       ("run.epochs", min(int(epochs * factor) + 1, 10_000))):
        assert memory.estimate(base.replace(**{key: value})).total >= est.total


def test_restated_engine_constants_agree_with_the_engine():
    from streamsim.agents import listening

    co = memory.COEFFICIENTS
    assert (co.slot_seconds, co.slot_extra, co.slot_block) == (listening.SLOT_SECONDS, listening.SLOT_EXTRA,
                                                               listening.BLOCK)


def test_expected_sizes_match_a_short_run():
    """Tracks within 10 % and exposures within 25 % on a small baseline (seconds_per_exposure is
    measured at 10,000 listeners; small catalogs are skipped less). The peak itself is measured
    by benchmarks/memory_estimate.py."""
    from streamsim.sim.model import StreamingModel

    scenario = config.load(ROOT / "scenarios" / "baseline.toml",
                           ["listeners.count=1500", "artists.count=150", "run.epochs=2", "run.burn_in_epochs=0"])
    sizes = memory.expected_sizes(scenario)
    model = StreamingModel(scenario)
    model.run()
    assert abs(len(model.catalog) / sizes.tracks - 1) < 0.1
    assert abs(len(model.ledger.events) / sizes.exposures - 1) < 0.25

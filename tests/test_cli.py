"""The command line: show and calibrate on small runs, and clean errors on bad folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ["listeners.count=400", "artists.count=60", "run.epochs=3"]


def streamsim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streamsim", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def sets(*overrides: str) -> list[str]:
    return [a for s in overrides for a in ("--set", s)]


def test_calibrate_prints_every_target_and_writes_it(tmp_path):
    proc = streamsim("calibrate", "scenarios/baseline.toml", "--quiet", "--out", str(tmp_path), *sets(*TINY))
    assert proc.returncode == 0, proc.stderr
    for target in [f"C{i}" for i in range(1, 11)]:
        assert target in proc.stdout
    (run_dir,) = (tmp_path / "baseline").iterdir()
    rows = json.loads((run_dir / "calibration.json").read_text())
    assert [r["id"] for r in rows] == [f"C{i}" for i in range(1, 11)]
    assert all(r["status"] in {"pass", "out of band", "reported", "not measured"} for r in rows)


def test_run_then_show(tmp_path):
    proc = streamsim("run", "scenarios/baseline.toml", "--quiet", "--out", str(tmp_path), *sets(*TINY))
    assert proc.returncode == 0, proc.stderr
    run_dir = proc.stdout.strip().splitlines()[-1].removeprefix("results: ")
    shown = streamsim("show", run_dir)
    assert shown.returncode == 0, shown.stderr
    assert "streams_per_listener" in shown.stdout and "payout_gini_pro_rata" in shown.stdout


def test_show_on_a_folder_that_is_not_a_run(tmp_path):
    proc = streamsim("show", str(tmp_path))
    assert proc.returncode == 2
    assert "not a run folder" in proc.stderr and "Traceback" not in proc.stderr


def test_validate_imports_only_what_it_needs():
    """`streamsim validate` stays fast: no compiler, scientific, table or plotting library is imported to
    check a file (numpy is allowed: the payout-rule registry the schema validates against needs it)."""
    code = ("import sys; from streamsim.cli import app\n"
            "try:\n    app(['validate', 'scenarios/baseline.toml'])\nexcept SystemExit as e:\n    assert not e.code\n"
            "print(sorted(m for m in ('numba', 'scipy', 'pandas', 'pyarrow', 'matplotlib', 'mesa', "
            "'llvmlite', 'SALib', 'dask') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"

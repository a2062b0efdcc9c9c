"""Sweeps: validation, common random numbers, resume after SIGKILL, failures, Dask parity.

Runs are real and tiny (200 listeners, 40 artists, 3 epochs). The uninterrupted sweep on the
local process pool is the reference every other executor and every resumed sweep must match.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from streamsim.core import config
from streamsim.core.config import ScenarioError
from streamsim.studies import sweep

ROOT = Path(__file__).resolve().parents[1]
RUNNER = "streamsim.studies.runner:run"

GRID = """
base = "{base}"
replications = 2
seed = 11
[set]
"run.name" = "tiny"
"run.epochs" = 3
"run.burn_in_epochs" = 0
"listeners.count" = 200
"artists.count" = 40
[grid]
"payouts.active" = ["pro_rata", "user_centric"]
recommender.exploration.share = [0.0, 0.2]
"""


def write_sweep(folder: Path, text: str = GRID) -> Path:
    path = folder / "grid.toml"
    path.write_text(text.format(base=ROOT / "scenarios" / "baseline.toml"), encoding="utf-8")
    return path


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """A table without wall-time measurements, which differ between identical runs."""
    frame = frame.drop(columns=[c for c in sweep.TIMING_COLUMNS if c in frame.columns])
    if "metric" in frame.columns:
        frame = frame[~frame["metric"].isin(sweep.TIMING_COLUMNS)]
    return frame.reset_index(drop=True)


def assert_same_tables(a: Path, b: Path) -> None:
    for name in ("sweep.parquet", "summary.parquet", "runs.parquet"):
        pd.testing.assert_frame_equal(comparable(pd.read_parquet(a / name)),
                                      comparable(pd.read_parquet(b / name)), check_exact=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted 2 x 2 x 2 sweep on the local process pool."""
    root = tmp_path_factory.mktemp("reference")
    out = root / "out"
    with sweep.local_executor(2) as (pool, threads):
        outcome = sweep.run_sweep(sweep.plan(write_sweep(root)), out, pool, threads, runner_path=RUNNER)
    assert (outcome.completed, outcome.failed) == (8, 0), outcome.failures
    return out


def test_plan_resolves_every_run_with_common_seeds(tmp_path):
    plan = sweep.plan(write_sweep(tmp_path))
    assert len(plan.runs) == 8
    assert plan.spec.swept_keys() == ["payouts.active", "recommender.exploration.share"]
    expected = sweep.seeds(11, 2)
    assert len(set(expected)) == 2 and all(0 <= s < 2**63 for s in expected)
    for run in plan.runs:
        assert run.seed == expected[run.replication]
    assert len({r.run_id for r in plan.runs}) == 8
    assert [r.run_id for r in sweep.plan(write_sweep(tmp_path)).runs] == [r.run_id for r in plan.runs]
    assert not (tmp_path / "out").exists()


def test_zip_and_nested_keys(tmp_path):
    path = tmp_path / "zip.toml"
    path.write_text('[grid.payouts]\nactive = ["pro_rata", "threshold"]\n'
                    '[zip]\n"listeners.count" = [100, 200, 300]\n"artists.count" = [10, 20, 30]\n', encoding="utf-8")
    plan = sweep.plan(path)
    assert len(plan.runs) == 6
    assert {(r.params["listeners.count"], r.params["artists.count"]) for r in plan.runs} == {
        (100, 10), (200, 20), (300, 30)}


def test_plan_rejects_bad_sweeps_before_running(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('replications = 2\ncolour = "red"\n[grid]\n"listeners.count" = [0, 10]\n'
                   '"recommender.kind" = ["als", "deep"]\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        sweep.plan(bad)
    assert any("colour" in p for p in info.value.problems)
    bad.write_text('[grid]\n"listeners.count" = [0, 10]\n"recommender.kind" = ["als", "deep"]\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        sweep.plan(bad)
    text = "\n".join(info.value.problems)
    assert "listeners.count" in text and "recommender.kind" in text
    bad.write_text('[zip]\na = [1, 2]\nb = [1]\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="equal lengths"):
        sweep.plan(bad)


def test_sweep_files_are_strict_about_numbers_through_the_cli(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('replications = true\nseed = 1.5\n[grid]\n"listeners.count" = [100, true]\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "streamsim", "sweep", str(bad), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    err = " ".join(proc.stderr.split())
    assert "replications: got True, expected: an integer in [1, 10000]" in err
    assert "seed: got 1.5, expected: an integer" in err
    assert not (tmp_path / "out").exists()
    bad.write_text('[grid]\n"listeners.count" = [100, true]\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "streamsim", "sweep", str(bad), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "listeners.count: got True, expected: an integer" in " ".join(proc.stderr.split())


def _complete(out: Path) -> dict[str, float]:
    runs = out / "runs" / "tiny"
    if not runs.is_dir():
        return {}
    return {d.name: (d / "manifest.json").stat().st_mtime for d in runs.iterdir() if sweep.is_complete(d)}


def test_killed_sweep_resumes_and_matches(reference, tmp_path):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); from streamsim.studies import sweep; "
            f"sweep.main({str(path)!r}, workers=1, out={str(out)!r}, quiet=True, runner_path={RUNNER!r})")
    log = tmp_path / "sweep.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, start_new_session=True,
                                stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        try:
            while len(_complete(out)) < 2 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its pool workers
            proc.wait()
    done = _complete(out)
    assert 2 <= len(done) < 8, (len(done), log.read_text(errors="replace")[-2000:])
    assert not (out / "sweep.parquet").exists()

    outcome = sweep.main(path, workers=2, out=out, quiet=True, runner_path=RUNNER)
    assert outcome.skipped == len(done)
    assert outcome.completed == 8 - len(done) and outcome.failed == 0
    after = _complete(out)
    assert len(after) == 8
    assert all(after[name] == mtime for name, mtime in done.items())  # finished runs untouched
    assert not list((out / "runs" / "tiny").glob("*.partial"))
    assert_same_tables(out, reference)


def test_a_failing_run_is_recorded_and_the_others_finish(tmp_path, monkeypatch):
    path = tmp_path / "fail.toml"
    path.write_text('replications = 1\n[set]\n"run.name" = "tiny"\n"run.epochs" = 2\n"run.burn_in_epochs" = 0\n"artists.count" = 40\n'
                    '[grid]\n"listeners.count" = [200, 201]\n', encoding="utf-8")
    monkeypatch.setenv(sweep.FAIL_ENV, "listeners.count=201")
    plan = sweep.plan(path)
    out = tmp_path / "out"
    outcome = sweep.run_sweep(plan, out, sweep.InlineExecutor(), runner_path=RUNNER)
    assert (outcome.completed, outcome.failed) == (1, 1)
    bad = next(r for r in plan.runs if r.params["listeners.count"] == 201)
    record = json.loads((out / "runs" / "tiny" / f"{bad.run_id}.failed.json").read_text(encoding="utf-8"))
    assert "injected failure" in record["error"] and record["params"] == {"listeners.count": 201}
    assert not sweep.is_complete(sweep.run_dir(out, bad))
    runs = pd.read_parquet(out / "runs.parquet").set_index("run_id")
    assert runs.loc[bad.run_id, "status"] == "failed"
    assert set(pd.read_parquet(out / "sweep.parquet")["listeners.count"]) == {200}

    monkeypatch.delenv(sweep.FAIL_ENV)
    outcome = sweep.run_sweep(plan, out, sweep.InlineExecutor(), runner_path=RUNNER)
    assert (outcome.skipped, outcome.completed, outcome.failed) == (1, 1, 0)
    assert not (out / "runs" / "tiny" / f"{bad.run_id}.failed.json").exists()


THREE_EPOCHS = """
replications = 1
summary_epochs = 2
[set]
"run.name" = "tiny"
"run.epochs" = 3
"run.burn_in_epochs" = 0
"artists.count" = 40
[grid]
"listeners.count" = {counts}
"""


def _cli_sweep(path: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streamsim", "sweep", str(path), "--workers", "1", "--quiet",
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, **env})


def test_cli_exits_1_when_runs_fail_and_an_extended_grid_runs_only_the_new_runs(tmp_path):
    path, out = tmp_path / "grid.toml", tmp_path / "out"
    path.write_text(THREE_EPOCHS.format(counts="[200, 201]"), encoding="utf-8")
    proc = _cli_sweep(path, out, {sweep.FAIL_ENV: "listeners.count=201"})
    assert proc.returncode == 1, proc.stderr
    assert "2 runs: 1 ran, 0 already finished, 1 failed" in proc.stdout
    assert "injected failure" in proc.stderr and "Traceback" not in proc.stderr
    done = _complete(out)
    assert len(done) == 1

    path.write_text(THREE_EPOCHS.format(counts="[200, 201, 202]"), encoding="utf-8")
    proc = _cli_sweep(path, out, {sweep.FAIL_ENV: ""})
    assert proc.returncode == 0, proc.stderr
    assert "3 runs: 2 ran, 1 already finished, 0 failed" in proc.stdout
    after = _complete(out)
    assert len(after) == 3 and all(after[name] == mtime for name, mtime in done.items())

    # summary_epochs = 2 of 3: each run contributes the mean of its last two epochs, not the
    # final epoch alone and not the whole run
    table = pd.read_parquet(out / "sweep.parquet")
    summary = pd.read_parquet(out / "summary.parquet").set_index(["config", "metric"])
    for config, group in table.groupby("config"):
        assert group["epoch"].tolist() == [0, 1, 2]
        for metric in ("streams", "mean_true_utility"):
            values = group[metric].to_numpy(dtype=float)
            assert values[1:].mean() not in (values.mean(), values[-1]), (metric, values)   # the windows differ
            assert summary.loc[(config, metric), "mean"] == pytest.approx(values[1:].mean(), rel=1e-12)
            assert summary.loc[(config, metric), "n"] == 1


def _report_threads(scenario, out_root, quiet=True, run_id=None, n_threads=None) -> Path:
    """A stand-in runner: reports the threads it was given and the worker's numba and BLAS caps."""
    import numba

    return Path(f"{n_threads}-{numba.get_num_threads()}-{os.environ.get('OMP_NUM_THREADS')}")


@pytest.mark.parametrize("workers", [1, 2])
def test_local_pool_splits_the_cores_between_workers(tmp_path, workers):
    cores = os.cpu_count() or 1
    share = max(1, cores // workers)                  # each worker its share, never oversubscribed
    toml = config.load(None, ["listeners.count=10"]).to_toml()
    with sweep.local_executor(workers) as (pool, threads):
        assert threads == share and threads * workers <= max(cores, workers)
        futures = [pool.submit(sweep.execute, toml, str(tmp_path), f"r{i}", threads, "test_sweep:_report_threads")
                   for i in range(2 * workers)]
        results = [f.result() for f in futures]
    assert {r["status"] for r in results} == {"complete"}, results
    assert {r["path"] for r in results} == {f"{share}-{share}-{share}"}


def test_dask_local_cluster_gives_the_same_tables(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        outcome = sweep.run_sweep(sweep.plan(write_sweep(tmp_path)), tmp_path / "out",
                                  client.get_executor(pure=False), runner_path=RUNNER)
    assert (outcome.completed, outcome.failed) == (8, 0), outcome.failures
    assert_same_tables(tmp_path / "out", reference)


def test_seeds_are_spawned_from_the_root():
    children = np.random.SeedSequence(3).spawn(3)
    assert sweep.seeds(3, 3) == [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_real_dask_cluster_started_with_dask_commands_gives_the_same_tables(reference, tmp_path):
    """`dask scheduler` and `dask worker` processes (two worker processes) on this machine; the
    sweep is submitted with `streamsim sweep --scheduler tcp://...` exactly as on a cluster."""
    dask = Path(sys.executable).with_name("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    try:
        procs.append(subprocess.Popen([str(dask), "worker", address, "--nworkers", "2", "--nthreads", "1",
                                       "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
        out = tmp_path / "out"
        cli = subprocess.run([sys.executable, "-m", "streamsim", "sweep", str(write_sweep(tmp_path)),
                              "--scheduler", address, "--out", str(out), "--quiet"],
                             capture_output=True, text=True, timeout=900, cwd=ROOT)
        assert cli.returncode == 0, cli.stderr
        assert "8 ran" in cli.stdout
        runs = pd.read_parquet(out / "runs.parquet")
        assert (runs["status"] == "complete").all()
        # the same numbers as the local process pool (run ids and seeds included)
        pd.testing.assert_frame_equal(comparable(pd.read_parquet(out / "summary.parquet")),
                                      comparable(pd.read_parquet(reference / "summary.parquet")), check_exact=True)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=60)

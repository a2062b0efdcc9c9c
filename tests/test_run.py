"""End to end: a small seeded run writes complete, documented, reproducible outputs."""

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
from streamsim.studies import runner
from streamsim.economics.rules import rule_names
from streamsim.measures.registry import metric_columns

RULES = rule_names()

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["listeners.count=2000", "artists.count=200", "run.epochs=8", "run.burn_in_epochs=0", "run.name=small",
         "run.seed=11"]

METRIC_COLUMNS = list(metric_columns())
ARTIST_COLUMNS = ["epoch", "artist_id", "tier", "major_label", "entry_epoch", "streams", "unique_listeners",
                  "impressions", "tracks_released", "release_mean_length_s", "release_mean_intro_s",
                  *[f"payout_{r}" for r in RULES]]
# Columns that measure wall time, not the simulation: excluded from reproducibility checks.
TIMING_COLUMNS = ["rec_fit_seconds"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    return runner.run(config.load(None, SMALL), out_root=out, run_id="a")


def simulated(metrics: pd.DataFrame) -> pd.DataFrame:
    return metrics.drop(columns=TIMING_COLUMNS)


def test_run_writes_every_documented_column(small_run):
    metrics = pd.read_parquet(small_run / "metrics.parquet")
    assert list(metrics["epoch"]) == list(range(8))
    assert set(METRIC_COLUMNS) <= set(metrics.columns)
    values = metrics[METRIC_COLUMNS].to_numpy(dtype=float)
    assert np.isfinite(values).all()
    assert (metrics["streams"] > 0).all() and (metrics["catalog_tracks"].diff().dropna() >= 0).all()
    artists = pd.read_parquet(small_run / "artists.parquet")
    assert set(ARTIST_COLUMNS) <= set(artists.columns)
    assert len(artists) >= 8 * 200
    for rule in RULES:
        paid = artists.groupby("epoch")[f"payout_{rule}"].sum().to_numpy()
        assert paid == pytest.approx(metrics["pool"].to_numpy(), rel=1e-9)


def test_run_folder_is_complete_and_re_runnable(small_run, tmp_path):
    manifest = json.loads((small_run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["seed"] == 11
    assert {"numpy", "numba", "mesa"} <= set(manifest["versions"])
    assert manifest["seconds"]["listen"] > 0
    resolved = config.load(small_run / "config.toml")
    assert resolved == config.load(None, SMALL)
    assert not list(small_run.parent.glob("*.partial"))


def test_same_seed_same_results(small_run, tmp_path):
    again = runner.run(config.load(None, SMALL), out_root=tmp_path, run_id="b")
    for name in ("metrics.parquet", "artists.parquet"):
        a, b = pd.read_parquet(small_run / name), pd.read_parquet(again / name)
        if name == "metrics.parquet":
            a, b = simulated(a), simulated(b)
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_another_seed_other_results(small_run, tmp_path):
    other = runner.run(config.load(None, [*SMALL, "run.seed=12"]), out_root=tmp_path, run_id="c")
    a, b = pd.read_parquet(small_run / "metrics.parquet"), pd.read_parquet(other / "metrics.parquet")
    assert not a["streams"].equals(b["streams"])


def _cli_run(tmp_path: Path, threads: int, name: str) -> dict[str, pd.DataFrame]:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    args = [sys.executable, "-m", "streamsim", "run", str(ROOT / "scenarios" / "baseline.toml"), "--quiet",
            "--out", str(tmp_path / name)] + [a for s in SMALL for a in ("--set", s)]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / name / "small").iterdir()
    assert f"results: {run_dir}" in proc.stdout.splitlines()
    return {"metrics": simulated(pd.read_parquet(run_dir / "metrics.parquet")),
            "artists": pd.read_parquet(run_dir / "artists.parquet")}


def test_one_and_two_threads_give_identical_results(tmp_path):
    one, two = _cli_run(tmp_path, 1, "one"), _cli_run(tmp_path, 2, "two")
    for name in one:
        pd.testing.assert_frame_equal(one[name], two[name], check_exact=True)


def test_a_killed_run_never_looks_complete(tmp_path):
    args = [sys.executable, "-m", "streamsim", "run", str(ROOT / "scenarios" / "baseline.toml"), "--quiet",
            "--out", str(tmp_path), "--set", "listeners.count=3000", "--set", "run.epochs=500"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    scenario_dir = tmp_path / "baseline"
    while time.monotonic() < deadline and not list(scenario_dir.glob("*.partial/manifest.json")):
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    (partial,) = scenario_dir.iterdir()
    assert partial.name.endswith(".partial")
    assert json.loads((partial / "manifest.json").read_text())["status"] == "running"
    assert not (partial / "metrics.parquet").exists()
    with pytest.raises(ValueError):
        runner.load_run(partial)


@pytest.mark.parametrize("choice", ["budget", "slate_argmax"])
def test_a_platform_with_no_tracks_runs(tmp_path, choice):
    empty = ["listeners.count=100", "artists.count=20", "run.epochs=2", "run.burn_in_epochs=0", "catalog.back_catalog_years=0",
             "artists.releases_per_epoch=0", f"listeners.choice={choice}"]
    first = runner.run(config.load(None, empty), out_root=tmp_path)
    second = runner.run(config.load(None, empty), out_root=tmp_path)
    assert first != second
    metrics = pd.read_parquet(second / "metrics.parquet")
    assert (metrics["streams"] == 0).all() and (metrics["catalog_tracks"] == 0).all()
    assert np.isfinite(metrics[METRIC_COLUMNS].to_numpy(dtype=float)).all()


def test_burn_in_epochs_are_simulated_flagged_and_left_out(tmp_path):
    """run.burn_in_epochs: simulated first, flagged in both tables, left out of summaries,
    sweep summaries and calibration tallies."""
    from streamsim.measures.registry import recorded
    from streamsim.present.summary import summary_rows
    from streamsim.studies.calibration import Tally

    burn = config.load(None, [*SMALL, "run.epochs=3", "run.burn_in_epochs=2"])
    run_dir = runner.run(burn, out_root=tmp_path, run_id="burn")
    metrics = pd.read_parquet(run_dir / "metrics.parquet")
    artists = pd.read_parquet(run_dir / "artists.parquet")
    assert list(metrics["epoch"]) == [0, 1, 2, 3, 4] and list(metrics["burn_in"]) == [1, 1, 0, 0, 0]
    assert set(artists.loc[artists["epoch"] < 2, "burn_in"]) == {True}
    assert not artists.loc[artists["epoch"] >= 2, "burn_in"].any()
    kept = recorded(metrics)
    assert list(kept["epoch"]) == [2, 3, 4]
    first = dict((name, f) for name, f, _, _ in summary_rows(metrics))
    assert first["active_listeners"] == f"{kept['active_listeners'].iloc[0]:,.0f}"
    # the same five epochs without a burn-in: identical numbers, only the flag differs
    plain = runner.run(config.load(None, [*SMALL, "run.epochs=5"]), out_root=tmp_path, run_id="plain")
    plain_metrics = pd.read_parquet(plain / "metrics.parquet")
    pd.testing.assert_frame_equal(metrics.drop(columns=["burn_in", *TIMING_COLUMNS]),
                                  plain_metrics.drop(columns=["burn_in", *TIMING_COLUMNS]), check_exact=True)
    tally = Tally(burn_in_epochs=2)
    runner.run(burn, out_root=tmp_path, run_id="tally", observers=(tally,))
    assert len(tally.streams_per_listener) == 3

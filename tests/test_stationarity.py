"""The steady-state check of issue 10.3 (benchmarks/stationarity.py).

The slow test runs the check itself: the baseline with the schema's default burn-in
(`run.burn_in_epochs`), 3 seeds, shrunk to 1,000 listeners, judged on the seeds' mean
(docs/studies/stationarity.md). The fast tests check the drift arithmetic on a synthetic table.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _stationarity():
    spec = importlib.util.spec_from_file_location("stationarity", ROOT / "benchmarks" / "stationarity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table(trend: float, seeds=(1, 2), epochs: int = 30) -> pd.DataFrame:
    """Every metric equals 1 + trend · epoch, for each seed."""
    stationarity = _stationarity()
    rows = [{"seed": s, "epoch": e, **{m: 1.0 + trend * e for m in stationarity.METRICS}}
            for s in seeds for e in range(epochs)]
    return pd.DataFrame(rows)


def test_drift_compares_the_first_and_last_windows_after_the_burn_in():
    stationarity = _stationarity()
    table = stationarity.drift(_table(0.01), burn_in=10, epochs=20, window=4)
    # recorded epochs 10..29: first window 10..13 (mean 11.5), last 26..29 (mean 27.5)
    assert np.allclose(table["first"], 1.115) and np.allclose(table["last"], 1.275)
    assert np.allclose(table["change"], (1.275 - 1.115) / 1.115)
    assert set(table["seed"]) == {1, 2} and len(table) == 2 * len(stationarity.METRICS)


def test_the_verdict_is_on_the_seeds_mean():
    """Two seeds drifting in opposite directions by the same amount leave the pooled mean flat."""
    stationarity = _stationarity()
    up, down = _table(0.01, seeds=(1,)), _table(-0.01, seeds=(2,))
    down[stationarity.METRICS] += 0.58      # the two seeds sum to 2.58 at every epoch
    table = stationarity.drift(pd.concat([up, down]), burn_in=0, epochs=30, window=4)
    assert (table["change"].abs() > 0.05).all()
    means = stationarity.pooled(table)
    assert len(means) == len(stationarity.METRICS) and np.allclose(means["change"], 0.0)


def test_drift_refuses_a_run_shorter_than_burn_in_plus_epochs():
    with pytest.raises(ValueError, match="recorded epochs"):
        _stationarity().drift(_table(0.0, epochs=20), burn_in=10, epochs=20, window=4)


@pytest.mark.slow
def test_baseline_is_stationary_after_the_default_burn_in():
    """Every headline metric moves < 5 % between the first and last 8 recorded epochs (3 seeds)."""
    assert _stationarity().main(["--seeds", "1", "2", "3", "--listeners", "1000"]) == 0

"""Sensitivity designs in sweeps: the design, its points, and the indices on known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

import streamsim
from streamsim.core.config import Scenario, ScenarioError
from streamsim.studies import sensitivity, sweep


def spec(method="morris", n=4, **bounds):
    return sensitivity.SampleSpec.model_validate(
        {"method": method, "n": n, "seed": 3, "bounds": bounds or {"a": [0.0, 1.0], "b": [0.0, 1.0]}})


def test_bad_designs_are_refused_with_the_key():
    with pytest.raises(ValidationError, match="power of 2"):
        spec("sobol", n=6)
    with pytest.raises(ValidationError, match="x: low must be below high"):
        spec(x=[2.0, 1.0])
    with pytest.raises(ValidationError, match="y: a log range must be positive"):
        spec(y={"low": 0.0, "high": 1.0, "log": True})
    with pytest.raises(ValidationError, match="replaces"):
        sweep.SweepFile.model_validate({"grid": {"run.seed": [1, 2]},
                                        "sample": {"method": "morris", "n": 2, "bounds": {"a": [0, 1]}}})


def test_points_round_integers_exponentiate_logs_and_complete_the_mix():
    s = spec(**{"channels.search_pool": [50, 200],
                "recommender.regularization": {"low": 0.1, "high": 10.0, "log": True},
                "channels.mix.personalised": [0.05, 0.3]})
    pts = sensitivity.points(s, Scenario())
    assert len(pts) == 4 * (3 + 1)                       # Morris: n trajectories of k + 1 points
    for p in pts:
        assert isinstance(p["channels.search_pool"], int) and 50 <= p["channels.search_pool"] <= 200
        assert 0.1 - 1e-9 <= p["recommender.regularization"] <= 10.0 + 1e-9
        mix = sum(v for k, v in p.items() if k.startswith("channels.mix."))
        assert mix == pytest.approx(1.0)
        Scenario().replace(**p)                          # every point is a valid scenario
    regs = {round(np.log10(p["recommender.regularization"]), 6) for p in pts}
    assert regs <= {-1.0, round(-1 + 2 / 3, 6), round(-1 + 4 / 3, 6), 1.0}   # 4 levels on the log scale


@pytest.mark.parametrize("method,n", [("morris", 20), ("sobol", 64)])
def test_indices_find_the_parameter_that_matters(method, n):
    s = spec(method, n=n)
    X = sensitivity.design(s)
    y = 10.0 * X[:, 0] + 0.1 * X[:, 1]                  # a matters, b barely
    summary = pd.DataFrame({"config": np.arange(len(y)), "metric": "m", "mean": y})
    out = sensitivity.analyse(s, summary, len(y), ["m"]).set_index("param")
    if method == "morris":
        assert out.loc["a", "mu_star"] == pytest.approx(10.0) and out.loc["b", "mu_star"] == pytest.approx(0.1)
        assert out.loc["a", "mu"] == pytest.approx(10.0)            # signed: the direction of the effect
    else:
        assert out.loc["a", "ST"] > 0.95 and out.loc["b", "ST"] < 0.01


def test_a_sensitivity_sweep_runs_and_writes_its_indices(tmp_path):
    base = streamsim.load(None, listeners__count=200, artists__count=30, run__epochs=1, run__burn_in_epochs=0)
    tables = streamsim.sweep(base, sample={"method": "morris", "n": 2, "seed": 1,
                                           "outputs": ["streams_per_listener"],
                                           "bounds": {"channels.search_popularity_exponent": [1.0, 3.0],
                                                      "listeners.budget_median_min": [200.0, 600.0]}},
                             out=tmp_path, executor="inline")
    assert tables.completed == 6 and len(tables.runs) == 6
    idx = tables.sensitivity.set_index("param")
    assert set(idx.index) == {"channels.search_popularity_exponent", "listeners.budget_median_min"}
    # the budget drives streams per listener far more than the search exponent
    assert idx.loc["listeners.budget_median_min", "mu_star"] > 5 * idx.loc["channels.search_popularity_exponent", "mu_star"]
    with pytest.raises(ScenarioError, match="channels.search_pool"):
        streamsim.sweep(base, sample={"method": "morris", "n": 2, "bounds": {"channels.search_pool": [0, 10]}},
                        out=tmp_path / "bad", executor="inline")

"""Regret against the oracle: never negative, and zero for the oracle recommender itself.

The oracle's slate and the served slate must face the same filters (recent-play exclusions,
region availability, explicit filter) at the same moment (slate time, before the epoch's plays
and taste drift); any mismatch shows as a negative regret for some listener or a non-zero
regret for the oracle arm. Regions and the explicit filter are switched on so that the masks
matter.
"""

from __future__ import annotations

import numpy as np
import pytest

from streamsim.core.config import load
from streamsim.measures.registry import collect
from streamsim.measures.view import EpochView
from streamsim.sim.model import StreamingModel

SMALL = {"listeners.count": 400, "artists.count": 60, "run.seed": 4, "world.n_regions": 2,
         "catalog.region_availability": 0.6, "listeners.explicit_filter_share": 0.5,
         "listeners.taste_drift": 0.2, "metrics.eval_listeners": 200}
TOL = 1e-6     # float32 ranking against float64 scoring


def records(epochs: int = 3, **keys):
    scenario = load(None, {**SMALL, **keys})
    model = StreamingModel(scenario)
    return scenario, [model.step() for _ in range(epochs)]


@pytest.mark.parametrize("keys", [{"recommender.kind": "oracle"},
                                  {"recommender.kind": "oracle", "listeners.choice": "slate_argmax"}],
                         ids=["budget", "slate_argmax"])
def test_the_oracle_has_no_regret_against_itself(keys):
    scenario, recs = records(**keys)
    assert sum(len(r.oracle_users) for r in recs) > 300       # listeners were evaluated
    for r in recs:
        np.testing.assert_allclose(r.oracle_utility, r.served_utility, atol=TOL)
        assert abs(collect(EpochView(r, scenario))["rec_regret_vs_oracle"]) < TOL


@pytest.mark.parametrize("keys", [{"recommender.kind": "als"},
                                  {"recommender.kind": "popularity", "recommender.exploration.share": 0.2}],
                         ids=["als", "popularity+explore"])
def test_regret_is_never_negative(keys):
    scenario, recs = records(**keys)
    evaluated = [r for r in recs if len(r.oracle_users)]
    assert evaluated
    for r in evaluated:
        assert (r.oracle_utility - r.served_utility >= -TOL).all()
        assert collect(EpochView(r, scenario))["rec_regret_vs_oracle"] > 0.1

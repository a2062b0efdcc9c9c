"""Recommenders retrained every epoch: ALS, BPR, baselines, serving and exploration.

`make(scenario, seed)` builds the one named by ``scenario.recommender.kind``; all share the
interface of `recommender.base.Recommender`.
"""

from __future__ import annotations

import numpy as np

from streamsim.core.config import Scenario


def make(scenario: Scenario, seed: int | np.random.SeedSequence):
    """The scenario's recommender, or None for kind "none".

    When ``recommender.exploration.share`` > 0 the model is wrapped so that that share of each
    slate goes to long-tail / new tracks chosen by the exploration bandit.
    """
    from streamsim.recommender.als import ALS
    from streamsim.recommender.baselines import Content, Oracle, Popularity, Random
    from streamsim.recommender.bpr import BPR
    from streamsim.recommender.exploration import Exploring

    cfg = scenario.recommender
    kinds = {"als": ALS, "bpr": BPR, "popularity": Popularity, "random": Random,
             "content": Content, "oracle": Oracle}
    if cfg.kind == "none":
        return None
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    model_seed, explore_seed = seq.spawn(2)
    model = kinds[cfg.kind](cfg, model_seed)
    if cfg.exploration.share > 0:
        model = Exploring(model, cfg.exploration, explore_seed)
    return model


__all__ = ["make"]

"""Recommenders retrained every epoch: ALS, BPR, baselines, serving and exploration.

`make(scenario, seed)` builds the kind named by ``scenario.recommender.kind`` from the registry
``streamsim.core.registry.RECOMMENDERS``; every kind meets the contract of
`streamsim.recommender.base.Recommender` (fit, recommend, similar_items, observe).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import numpy as np

from streamsim.core.registry import RECOMMENDERS

if TYPE_CHECKING:
    from streamsim.core.config import Scenario


def factory(kind: str) -> Any:
    """The registered factory of a kind (a "module:attribute" entry is imported here), or None."""
    entry = RECOMMENDERS[kind]
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module), attr)
    return entry


def make(scenario: Scenario, seed: int | np.random.SeedSequence):
    """The scenario's recommender, or None for kind "none".

    When ``recommender.exploration.share`` > 0 the model is wrapped so that that share of each
    slate goes to long-tail / new tracks chosen by the exploration bandit; with
    ``interleave_new`` > 0 the newest tracks go to random slate positions, and with
    ``startup_epochs`` > 0 only they are served in the first epochs (both as in Chaney et al.
    2018 and T-RECS's replication of it).
    """
    cfg = scenario.recommender
    build = factory(cfg.kind)
    if build is None:
        return None
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    model_seed, explore_seed, interleave_seed = seq.spawn(3)
    model = build(cfg, model_seed)
    if cfg.exploration.share > 0:
        from streamsim.recommender.exploration import Exploring

        model = Exploring(model, cfg.exploration, explore_seed)
    if cfg.startup_epochs > 0:
        from streamsim.recommender.startup import Startup

        model = Startup(model, cfg.startup_epochs)
    if cfg.interleave_new > 0:
        from streamsim.recommender.interleave import Interleave

        model = Interleave(model, cfg.interleave_new, interleave_seed)
    return model


__all__ = ["factory", "make"]

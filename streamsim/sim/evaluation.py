"""The oracle's side of regret: what the ideal recommender would have served sampled listeners."""

from __future__ import annotations

import numpy as np

from streamsim.agents.channels import STAGE_CF, Slates, allowed_mask, serving_groups
from streamsim.core.utility import slate_utility
from streamsim.recommender.base import FitContext
from streamsim.recommender.baselines import Oracle


def oracle_evaluation(model, slates: Slates, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Listeners sampled among those the recommender served, and the true utility of the
    oracle's slate and of the served slate for each, both at slate time.

    Called right after the slates are built, before anyone listens: the oracle (true utility,
    noise-free) serves each sampled listener its top ``metrics.k`` under the served slates'
    exclusions (``slates.exclude``) and region/explicit masks, and :func:`slate_utility` scores
    the oracle's slate and the first ``metrics.k`` of the served one with the tastes the
    listeners had when served. Listeners on the cold-start path (popular or audio slates) are
    not sampled: their slates are not the recommender's. Regret is then never negative (up to
    float32 ties in the ranking) and 0 for the oracle recommender itself.

    Returns:
        (users int32[n] ascending, oracle utility float64[n], served utility float64[n]),
        n <= ``metrics.eval_listeners``.
    """
    sc = model.config
    mc, b = sc.metrics, sc.listeners.behaviour
    rows = np.flatnonzero(slates.personalised_stage == STAGE_CF)
    if len(rows) == 0:
        return np.zeros(0, np.int32), np.zeros(0), np.zeros(0)
    rows = np.sort(np.random.default_rng(seed).choice(rows, min(mc.eval_listeners, len(rows)), replace=False))
    users = slates.personalised_users[rows]
    lis, cat = model.listeners, model.catalog
    oracle = Oracle(sc.recommender, 0)
    oracle.fit(model.ledger.interactions(lis.n, len(cat)),
               FitContext(model.epoch, cat, lis.taste, b.w_taste, b.w_quality))
    items = np.full((len(users), mc.k), -1, np.int32)
    for region, explicit_ok, group in serving_groups(lis, users):
        at = np.searchsorted(users, group)
        items[at], _ = oracle.recommend(group, mc.k, slates.exclude, allowed_mask(cat, region, explicit_ok))
    oracle_u, served_u = (slate_utility(users, slate, lis.taste, cat.style, cat.quality, b.w_taste, b.w_quality, mc.k)
                          for slate in (items, slates.personalised_items[rows]))
    return users, oracle_u, served_u

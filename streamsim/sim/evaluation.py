"""The oracle's side of regret: what the ideal recommender would have served sampled listeners."""

from __future__ import annotations

import numpy as np

from streamsim.core.utility import slate_utility
from streamsim.recommender.base import FitContext
from streamsim.recommender.baselines import Oracle
from streamsim.sim.record import Served


def oracle_evaluation(model, served: Served, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Listeners sampled among those served a slate, and the oracle's slate utility for each.

    Up to ``metrics.eval_listeners`` listeners are drawn with ``seed``; the oracle (true
    utility, noise-free) serves each its top ``metrics.k`` under the ledger's recent-play
    exclusions, and :func:`slate_utility` scores that slate.
    """
    sc = model.config
    mc, b = sc.metrics, sc.listeners.behaviour
    if len(served.users) == 0:
        return np.zeros(0, np.int32), np.zeros(0)
    pick = np.random.default_rng(seed).choice(len(served.users), min(mc.eval_listeners, len(served.users)),
                                              replace=False)
    users = served.users[np.sort(pick)]
    oracle = Oracle(sc.recommender, 0)
    n_l, n_t = model.listeners.n, len(model.catalog)
    oracle.fit(model.ledger.interactions(n_l, n_t),
               FitContext(model.epoch, model.catalog, model.listeners.taste, b.w_taste, b.w_quality))
    items, _ = oracle.recommend(users, mc.k, exclude=model.ledger.recent_heard(n_l, n_t))
    utility = slate_utility(users, items, model.listeners.taste, model.catalog.style, model.catalog.quality,
                            b.w_taste, b.w_quality, mc.k)
    return users, utility

"""The ideal arm of Chaney et al. (2018)'s measures: a shadow run beside the measured one.

With ``metrics.chaney`` the model builds a second model of the same scenario and seed whose
recommender is the oracle, and steps it once after each of its own epochs. Both draw the same
world, listeners, releases, start-up slates and interleaving positions (common random numbers),
so they differ only through their recommenders; ``streamsim.measures.chaney`` compares them.
"""

from __future__ import annotations

import numpy as np

from streamsim.core.config import Scenario
from streamsim.measures.chaney import measures, nearest_users

TIE_BREAK_KEY = 0xC4A7E1
"""Spawn key of the tie-breaking generator, so it never collides with the run's own streams."""


def ideal_scenario(scenario: Scenario) -> Scenario:
    """The shadow ideal arm: the same scenario with the oracle recommender and no own measures."""
    return scenario.replace(**{"recommender.kind": "oracle", "metrics.chaney": False,
                               "outputs.artists_table": False})


def mean_utility(model) -> float:
    """Mean true utility of the last epoch's human plays of a model (0.0 if none)."""
    ev = model.ledger.events
    human = ~model.listeners.is_bot[ev.listener]
    return float(np.mean(ev.utility[human], dtype=np.float64)) if human.any() else 0.0


class IdealArm:
    """The shadow ideal run beside a measured run, and Chaney et al.'s measures against it.

    Args:
        model_type: the model class (``StreamingModel``); the shadow is one of it.
        scenario: the measured run's scenario.
        n_threads: numba threads for the shadow (results do not depend on it).
    """

    def __init__(self, model_type, scenario: Scenario, n_threads: int | None = None):
        self.shadow = model_type(ideal_scenario(scenario), n_threads=n_threads)
        self.rng = np.random.default_rng(np.random.SeedSequence(scenario.run.seed, spawn_key=(TIE_BREAK_KEY,)))

    def measure(self, model) -> dict[str, float]:
        """Step the shadow through the epoch the measured model just ran; return the measures."""
        self.shadow.step()
        lis = model.listeners
        user_vectors = getattr(model.recommender, "user_vectors", None)   # optional in the contract
        vectors = user_vectors() if user_vectors is not None else None
        partner = nearest_users(vectors, lis.n, self.rng)
        T = len(model.catalog)
        return measures(partner, lis.consumed_csr(T), self.shadow.listeners.consumed_csr(T),
                        mean_utility(model), mean_utility(self.shadow))

"""The ideal arm of Chaney et al. (2018)'s measures: a shadow run beside the measured one.

With ``metrics.chaney`` the model builds a second model of the same scenario and seed whose
recommender is the oracle, and steps it once after each of its own epochs. Both draw the same
world, listeners, releases, start-up slates and interleaving positions (common random numbers),
so they differ only through their recommenders. Each epoch's record carries what the measures
compare (``IdealComparison``); ``streamsim.measures.chaney`` computes them.
"""

from __future__ import annotations

import numpy as np

from streamsim.core.config import Scenario
from streamsim.sim.record import IdealComparison


def ideal_scenario(scenario: Scenario) -> Scenario:
    """The shadow ideal arm: the same scenario with the oracle recommender and no own measures."""
    return scenario.replace(**{"recommender.kind": "oracle", "metrics.chaney": False,
                               "outputs.artists_table": False})


class IdealArm:
    """The shadow ideal run beside a measured run.

    Args:
        model_type: the model class (``StreamingModel``); the shadow is one of it.
        scenario: the measured run's scenario.
        n_threads: numba threads for the shadow (results do not depend on it).
    """

    def __init__(self, model_type, scenario: Scenario, n_threads: int | None = None):
        self.shadow = model_type(ideal_scenario(scenario), n_threads=n_threads)

    def step(self, model) -> IdealComparison:
        """Step the shadow through the epoch the measured model just ran; return both sides."""
        self.shadow.step()
        user_vectors = getattr(model.recommender, "user_vectors", None)   # optional in the contract
        vectors = user_vectors() if user_vectors is not None else None
        T = len(model.catalog)
        return IdealComparison(model.listeners.consumed_csr(T).copy(), self.shadow.listeners.consumed_csr(T).copy(),
                               None if vectors is None else np.array(vectors, copy=True),
                               model.tally.human_mean_utility, self.shadow.tally.human_mean_utility)

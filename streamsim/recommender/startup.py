"""A start-up period before the scenario's model serves: slates hold only the newest tracks.

Chaney et al. (2018) start every simulation with steps of random recommendations, so that a
model first trains on interactions it did not confound; in "repeated training" the model is
then retrained every step. T-RECS's replication encodes the start-up as slates made only of
the newest items, in random order: with ``recommender.interleave_new = k`` each user is shown
the k newest tracks it has not consumed. The wrapper below serves empty slates for the
``recommender.startup_epochs`` first epochs (the interleaving wrapper around it fills them)
and fits the wrapped model for the first time after them, on everything observed so far.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from streamsim.recommender import serving
from streamsim.recommender.base import FitContext, FitInfo, Recommender, Wrapper


class Startup(Wrapper):
    """Serves nothing of its own for epochs below ``epochs``, then is ``inner``."""

    def __init__(self, inner: Recommender, epochs: int):
        super().__init__(inner)
        self.epochs = epochs
        self.started = False

    def fit(self, interactions: sp.csr_matrix, ctx: FitContext) -> FitInfo:
        self.started = ctx.epoch >= self.epochs
        if self.started:
            return super().fit(interactions, ctx)
        self._remember(interactions, ctx)
        return FitInfo(0.0, float("nan"))

    def observe(self, tracks: np.ndarray, completed: np.ndarray) -> None:
        if self.started:
            super().observe(tracks, completed)

    def user_vectors(self) -> np.ndarray | None:
        return super().user_vectors() if self.started else None

    def recommend(self, users, k, exclude=None, allowed=None):
        if self.started:
            return super().recommend(users, k, exclude, allowed)
        return serving.empty_slates(len(np.asarray(users).ravel()), k)

    def similar_items(self, items, k, allowed=None):
        if self.started:
            return super().similar_items(items, k, allowed)
        return serving.empty_slates(len(np.asarray(items).ravel()), k)

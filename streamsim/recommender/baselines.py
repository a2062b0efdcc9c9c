"""Baseline recommenders: popularity, random, content (audio) and the oracle.

They bracket the learned models: popularity and random are what a platform does without
personalisation, content-based ranking sees only audio embeddings, and the oracle ranks by the
hidden true utility (the ideal recommender of Chaney et al. 2018), an upper bound.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from streamsim.core.utility import expected_utility
from streamsim.recommender import serving
from streamsim.recommender.base import FitContext, FitInfo, Recommender, positive


def _self_exclusion(items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exclusion lists holding each query item itself."""
    return np.arange(len(items) + 1, dtype=np.int64), items.astype(np.int32)


def _sampled_neighbours(model: Recommender, items, k: int, allowed, weights: np.ndarray,
                        temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Radio for models without item vectors: other tracks sampled by weight, never the item itself."""
    items = np.asarray(items, np.int32).ravel()
    if len(items) == 0 or k <= 0 or model.n_items == 0:
        return serving.empty_slates(len(items), k)
    ptr, idx = _self_exclusion(items)
    return serving.topk_sampled(weights, temperature, items, model.key ^ 1, np.arange(len(items)), k,
                                ptr, idx, serving.allowed_mask(allowed, model.n_items))


class Popularity(Recommender):
    """Most-played tracks of the decayed matrix; with ``popularity_temperature`` > 0 each
    user's slate is sampled ∝ popularity^(1/T) without replacement ("popular with variance")."""

    name = "popularity"

    def fit(self, interactions: sp.csr_matrix, ctx: FitContext) -> FitInfo:
        t0 = time.perf_counter()
        self._remember(interactions, ctx)
        return FitInfo(time.perf_counter() - t0, float("nan"))

    def _known(self, users: np.ndarray) -> np.ndarray:
        return np.zeros(len(users), np.bool_)   # everyone is served by popularity

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity, (len(users), self.n_items))

    def similar_items(self, items, k, allowed=None):
        """Radio from a popularity model: the most popular other tracks."""
        return _sampled_neighbours(self, items, k, allowed, self.popularity, self.temperature)


class Random(Recommender):
    """Uniformly random slates, redrawn each epoch (a hash of seed, epoch, user and item)."""

    name = "random"

    def __init__(self, cfg=None, seed=0):
        super().__init__(cfg, seed)
        self.temperature = np.inf      # weight^(1/inf) = 1: uniform

    def fit(self, interactions: sp.csr_matrix, ctx: FitContext) -> FitInfo:
        t0 = time.perf_counter()
        self._remember(interactions, ctx)
        return FitInfo(time.perf_counter() - t0, float("nan"))

    def _known(self, users: np.ndarray) -> np.ndarray:
        return np.zeros(len(users), np.bool_)   # the "cold" path samples uniformly

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return np.zeros((len(users), self.n_items), np.float32)

    def similar_items(self, items, k, allowed=None):
        """Radio from a random model: random other tracks."""
        return _sampled_neighbours(self, items, k, allowed, np.ones(self.n_items), np.inf)


class Content(Recommender):
    """Content-based: a user's profile is the mean unit audio embedding of the tracks they
    played; tracks are ranked by cosine with it. Users with no plays get popularity."""

    name = "content"

    def fit(self, interactions: sp.csr_matrix, ctx: FitContext) -> FitInfo:
        t0 = time.perf_counter()
        m = sp.csr_matrix(positive(interactions), dtype=np.float32)
        m.eliminate_zeros()
        self._remember(m, ctx)
        self.audio = serving.normalize_rows(ctx.catalog.audio[: m.shape[1]])
        binary = sp.csr_matrix((np.ones(m.nnz, np.float32), m.indices, m.indptr), shape=m.shape)
        counts = np.maximum(self.user_nnz, 1).astype(np.float32)
        self.profiles = np.asarray(binary @ self.audio, np.float32) / counts[:, None]
        return FitInfo(time.perf_counter() - t0, float("nan"))

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self.profiles[users] @ self.audio.T

    def user_vectors(self) -> np.ndarray | None:
        return self.profiles

    def _item_vectors(self) -> np.ndarray:
        return self.audio


class Oracle(Recommender):
    """Ranks by the noise-free true utility ``expected_utility(taste, style, quality)``.

    It reads the hidden taste, style and quality and no interactions, except to know the
    catalog size; listeners without a taste row at fit time get popularity.
    """

    name = "oracle"

    def fit(self, interactions: sp.csr_matrix, ctx: FitContext) -> FitInfo:
        t0 = time.perf_counter()
        self._remember(interactions, ctx)
        T = interactions.shape[1]
        self.taste = np.array(ctx.taste, dtype=np.float32)
        self.style = np.ascontiguousarray(ctx.catalog.style[:T], np.float32)
        self.quality = np.ascontiguousarray(ctx.catalog.quality[:T], np.float32)
        self.w = (float(ctx.w_taste), float(ctx.w_quality))
        return FitInfo(time.perf_counter() - t0, float("nan"))

    def _known(self, users: np.ndarray) -> np.ndarray:
        return (users >= 0) & (users < len(self.taste))

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return expected_utility(self.taste[users], self.style, self.quality, *self.w)

    def user_vectors(self) -> np.ndarray | None:
        return self.taste

    def _item_vectors(self) -> np.ndarray:
        return self.style

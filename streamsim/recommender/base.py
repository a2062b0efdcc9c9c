"""The recommender interface every model implements, and the shared serving logic.

A recommender is refitted every epoch on the decayed interaction matrix (listeners x tracks)
and then asked for slates (`recommend`) and radio neighbours (`similar_items`). Matrices grow
between fits; ids beyond the last fit are *cold* and are served by a fallback (popularity for
users, the audio embedding for items).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from streamsim.core.threads import in_threads
from streamsim.recommender import serving


class Tracks(Protocol):
    """What a recommender may read of the catalog (``streamsim.agents.catalog.Catalog`` is one).

    ``audio`` is observable; ``style`` and ``quality`` are hidden and only the oracle reads them;
    ``release_epoch`` tells exploration which tracks are new. Rows are track ids.
    """

    audio: np.ndarray
    style: np.ndarray
    quality: np.ndarray
    release_epoch: np.ndarray

    def __len__(self) -> int: ...


@dataclass
class FitContext:
    """What a recommender may know at fit time besides the interactions.

    Attributes:
        epoch: the epoch being fitted for.
        catalog: the track catalog; ``catalog.audio`` is observable, ``style``/``quality`` are
            hidden and only the oracle reads them.
        taste: (L, d) float32 hidden listener taste; only the oracle reads it.
        w_taste, w_quality: weights of the true utility (``streamsim.core.utility.expected_utility``).
        n_threads: numba threads for the fit (None = numba's default).
        changed_users, changed_items: ids of the rows and columns whose interactions changed
            since the last fit (the ledger's ``touched_listeners`` and ``touched_tracks``);
            None = unknown, every row may have changed. A warm ALS fit with
            ``warm_refresh_epochs`` > 0 re-solves only these (plus a rotating refresh).
    """

    epoch: int
    catalog: Tracks
    taste: np.ndarray
    w_taste: float
    w_quality: float
    n_threads: int | None = None
    changed_users: np.ndarray | None = None
    changed_items: np.ndarray | None = None


@dataclass
class FitInfo:
    """What one fit cost and reached."""

    seconds: float
    loss: float


def positive(m: sp.spmatrix) -> sp.csr_matrix:
    """The entries > 0 of a matrix (the plays), as a CSR of the same shape."""
    m = sp.csr_matrix(m)
    if m.nnz == 0 or m.data.min() > 0:
        return m
    m = m.copy()
    m.data[m.data < 0] = 0
    m.eliminate_zeros()
    return m


class Recommender(ABC):
    """A model that is fitted on interactions and serves top-K slates.

    Subclasses implement `fit` and `_scores` (dense scores of a block of known users); the
    base class turns scores into filtered top-K slates, serves cold users by popularity and
    finds similar items by cosine similarity of `_item_vectors`.
    """

    name: str = "base"

    def __init__(self, cfg=None, seed: int | np.random.SeedSequence = 0) -> None:
        self.cfg = cfg
        self.seed = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.temperature = cfg.popularity_temperature if cfg is not None else 0.0
        self.key = 0                     # hash key of this epoch's sampled slates
        self.n_users = 0                 # rows of the last fit's matrix
        self.n_items = 0                 # columns of the last fit's matrix
        self.popularity = np.zeros(0, np.float32)   # column sums of the last fit's matrix
        self.user_nnz = np.zeros(0, np.int64)       # interactions per user in the last fit
        self.catalog: Tracks | None = None
        self.epoch = 0

    # -- to implement -------------------------------------------------------------------
    @abstractmethod
    def fit(self, interactions: sp.csr_matrix, ctx: FitContext) -> FitInfo:
        """Fit on an (L x T) float32 CSR of play signal: entries > 0 are plays; entries < 0 are
        net early skips (only when ``listeners.behaviour.skip_signal`` < 0). A model that has no
        use for dislikes reads ``positive(interactions)``."""

    @abstractmethod
    def _scores(self, users: np.ndarray) -> np.ndarray:
        """Dense (len(users), n_items) float32 scores for known users (ids < n_users)."""

    def _item_vectors(self) -> np.ndarray:
        """(n_items, f) float32 vectors whose cosine defines item similarity (default: audio)."""
        return np.ascontiguousarray(self.catalog.audio[: self.n_items], dtype=np.float32)

    def observe(self, tracks: np.ndarray, completed: np.ndarray) -> None:
        """Per-exposure feedback of the epoch; models that do not learn online ignore it."""

    def user_vectors(self) -> np.ndarray | None:
        """The model's representation of each user of the last fit (rows), or None if it has none.

        Chaney et al. (2018) pair users by the cosine of these vectors to measure homogenisation.
        """
        return None

    # -- shared ---------------------------------------------------------------------------
    def _remember(self, interactions: sp.csr_matrix, ctx: FitContext) -> None:
        """Record the shapes, popularity and catalog of the fit (every `fit` calls this); popularity
        and the interactions per user count plays only (positive entries)."""
        self.n_users, self.n_items = interactions.shape
        plays = positive(interactions)
        self.popularity = np.asarray(plays.sum(axis=0), dtype=np.float32).ravel()
        self.user_nnz = np.diff(plays.indptr)
        self.catalog = ctx.catalog
        self.epoch = ctx.epoch
        self.key = int(np.random.SeedSequence(self.seed.entropy, spawn_key=(*self.seed.spawn_key, 7, ctx.epoch))
                       .generate_state(1, np.uint64)[0])

    def recommend(self, users: np.ndarray, k: int, exclude: sp.csr_matrix | None = None,
                  allowed: np.ndarray | None = None, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Top-k items per user, best first.

        Args:
            users: int32 user ids; ids without a row in the last fit are served by popularity.
            k: slate length.
            exclude: (L' x T') sparse matrix whose nonzeros in row u are never recommended to u.
            allowed: bool mask of servable items (shorter masks disallow the missing items).
            exact: score every item even if the model serves from candidates
                (`uses_candidates`): the model's own ranking, for evaluation.
        Returns:
            items int32 (n, k) and scores float32 (n, k), padded with -1 / -inf.
        """
        users = np.asarray(users, dtype=np.int32).ravel()
        n = len(users)
        items, scores = serving.empty_slates(n, k)
        if n == 0 or k <= 0 or self.n_items == 0:
            return items, scores
        ex_ptr, ex_idx = serving.exclusion_rows(exclude, users)
        mask = serving.allowed_mask(allowed, self.n_items)
        known = self._known(users)
        serve = Recommender._serve if exact else type(self)._serve
        serve(self, users, known, k, ex_ptr, ex_idx, mask, items, scores)
        return items, scores

    @property
    def uses_candidates(self) -> bool:
        """`recommend` ranks a candidate set (cluster candidates), not every item."""
        return False

    def _known(self, users: np.ndarray) -> np.ndarray:
        """Users served by the model rather than the cold-start fallback: rows of the last fit
        with at least one interaction."""
        ok = (users >= 0) & (users < self.n_users)
        ok[ok] = self.user_nnz[users[ok]] > 0
        return ok

    def _serve(self, users, known, k, ex_ptr, ex_idx, mask, items, scores) -> None:
        """Fill slates: known users from `_scores` in blocks spread over threads, cold users by
        popularity."""
        pos = np.flatnonzero(known)

        def block(start: int) -> None:
            sel = pos[start: start + serving.BLOCK]
            items[sel], scores[sel] = serving.topk_rows(self._scores(users[sel]), sel, k, ex_ptr, ex_idx,
                                                        mask, parallel=False)

        in_threads(block, range(0, len(pos), serving.BLOCK))
        self._serve_cold(users, known, k, ex_ptr, ex_idx, mask, items, scores)

    def _serve_cold(self, users, known, k, ex_ptr, ex_idx, mask, items, scores) -> None:
        """Cold users get popular tracks, sampled with `temperature` ("popular with variance")."""
        cold = np.flatnonzero(~known)
        if len(cold):
            it, sc = serving.topk_sampled(self.popularity, self.temperature, users[cold], self.key,
                                          cold, k, ex_ptr, ex_idx, mask)
            items[cold], scores[cold] = it, sc

    def similar_items(self, items: np.ndarray, k: int,
                      allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The k items most similar to each given item (cosine), never the item itself.

        Items newer than the last fit are compared by audio embedding with every item.
        """
        items = np.asarray(items, dtype=np.int32).ravel()
        n = len(items)
        out_i, out_s = serving.empty_slates(n, k)
        if n == 0 or k <= 0 or self.n_items == 0:
            return out_i, out_s
        mask = serving.allowed_mask(allowed, self.n_items)
        vecs = serving.normalize_rows(self._item_vectors())
        known = (items >= 0) & (items < self.n_items)
        kn = np.flatnonzero(known)
        if len(kn):
            index = self._similarity_index(vecs)
            if index is None:
                out_i[kn], out_s[kn] = serving.similar(vecs, vecs[items[kn]], items[kn], k, mask)
            else:
                out_i[kn], out_s[kn] = index.topk(vecs[items[kn]], k, self.cfg.n_probe,
                                                  np.zeros(len(kn) + 1, np.int64), np.zeros(0, np.int32),
                                                  mask, self_items=items[kn])
        cold = np.flatnonzero(~known & (items >= 0))
        if len(cold) and self.catalog is not None:
            audio = serving.normalize_rows(self.catalog.audio)
            ok = items[cold] < len(audio)
            cold = cold[ok]
            if len(cold):
                out_i[cold], out_s[cold] = serving.similar(
                    audio[: self.n_items], audio[items[cold]], items[cold], k, mask)
        return out_i, out_s


    def _similarity_index(self, vecs: np.ndarray):
        """A candidate index over the normalised item vectors for radio, or None (exact search)."""
        return None


class Wrapper(Recommender):
    """A recommender that changes how another one serves; everything else is the inner model's."""

    def __init__(self, inner: Recommender, seed: int | np.random.SeedSequence = 0):
        super().__init__(None, seed)
        self.inner = inner
        self.name = inner.name

    def fit(self, interactions: sp.csr_matrix, ctx: FitContext) -> FitInfo:
        info = self.inner.fit(interactions, ctx)
        self._remember(interactions, ctx)
        return info

    def observe(self, tracks: np.ndarray, completed: np.ndarray) -> None:
        self.inner.observe(tracks, completed)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self.inner._scores(users)

    @property
    def uses_candidates(self) -> bool:
        return self.inner.uses_candidates

    def user_vectors(self) -> np.ndarray | None:
        return self.inner.user_vectors()

    def recommend(self, users, k, exclude=None, allowed=None):
        return self.inner.recommend(users, k, exclude, allowed)

    def similar_items(self, items, k, allowed=None):
        return self.inner.similar_items(items, k, allowed)


def ridge_map(audio: np.ndarray, factors: np.ndarray, mu: float) -> np.ndarray:
    """Ridge regression ``[audio, 1] @ W ~ factors``; returns W ((a + 1) x f) in float64.

    The intercept is not penalised. Used to give tracks without interactions a factor vector
    from what an audio model sees of them.
    """
    A = np.hstack([audio.astype(np.float64), np.ones((len(audio), 1))])
    G = A.T @ A
    pen = np.full(A.shape[1], mu)
    pen[-1] = 0.0
    G[np.diag_indices_from(G)] += pen + 1e-9
    return np.linalg.solve(G, A.T @ factors.astype(np.float64))


def apply_map(audio: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Factors predicted from audio embeddings by a `ridge_map` W, float32."""
    return (audio.astype(np.float64) @ W[:-1] + W[-1]).astype(np.float32)


class FactorModel(Recommender):
    """A latent-factor model: scores ``x_u . y_i``, similarity by cosine of item factors.

    Handles what ALS and BPR share: growing the factor matrices between fits (new users start
    at zero for a fold-in solve, new tracks from their audio embedding through a ridge map
    fitted on tracks with interactions), giving tracks without interactions their audio-mapped
    factors after a fit, and cluster candidate generation when configured.
    """

    def __init__(self, cfg, seed: int | np.random.SeedSequence):
        super().__init__(cfg, seed)
        init_seed, self.cluster_seed = self.seed.spawn(2)
        self.rng = np.random.default_rng(init_seed)
        self.user_factors: np.ndarray | None = None
        self.item_factors: np.ndarray | None = None
        self.index: serving.ClusterIndex | None = None
        self._sim_index: serving.ClusterIndex | None = None
        self.audio_W: np.ndarray | None = None
        self.fitted_nnz = 0

    @property
    def cold(self) -> bool:
        """No fit has seen an interaction yet: the next fit starts from random factors.

        Zero factors (what a fit on an empty matrix leaves) are a fixed point of ALS, so warm
        starting from them would never learn anything.
        """
        return self.user_factors is None or self.fitted_nnz == 0

    def _dim(self) -> int:
        return self.cfg.factors

    def _init(self, n: int) -> np.ndarray:
        return self.rng.random((n, self._dim()), dtype=np.float32) * np.float32(0.01)

    def _grown_factors(self, m: sp.csr_matrix, ctx: FitContext):
        """Factor matrices sized for m; returns (X, Y, ids of users new since the last fit)."""
        L, T = m.shape
        if self.cold:
            return self._init(L), self._init(T), np.arange(L, dtype=np.int64)
        X_old, Y_old = self.user_factors, self.item_factors
        X = np.zeros((L, X_old.shape[1]), np.float32)
        n_old = min(L, len(X_old))
        X[:n_old] = X_old[:n_old]
        Y = np.zeros((T, Y_old.shape[1]), np.float32)
        t_old = min(T, len(Y_old))
        Y[:t_old] = Y_old[:t_old]
        if T > t_old:
            Y[t_old:] = self._from_audio(ctx.catalog.audio[t_old:T], Y.shape[1])
        return X, Y, np.arange(n_old, L, dtype=np.int64)

    def _from_audio(self, audio: np.ndarray, dim: int) -> np.ndarray:
        if self.audio_W is None or self.audio_W.shape[0] != audio.shape[1] + 1:
            return self._init(len(audio))
        return apply_map(audio, self.audio_W)

    def _set_factors(self, X: np.ndarray, Y: np.ndarray, m: sp.csr_matrix,
                     interactions: sp.csr_matrix, ctx: FitContext) -> None:
        """Store a fit's factors; tracks without interactions get audio-mapped factors."""
        col_nnz = np.bincount(m.indices, minlength=m.shape[1])
        has = col_nnz > 0
        audio = ctx.catalog.audio[: m.shape[1]] if ctx.catalog is not None else None
        if audio is not None and len(audio) == m.shape[1] and has.sum() > audio.shape[1]:
            self.audio_W = ridge_map(audio[has], Y[has], self.cfg.audio_ridge)
            Y[~has] = apply_map(audio[~has], self.audio_W)
        self.user_factors, self.item_factors = X, Y
        self.fitted_nnz = m.nnz
        self._item_factors_t = np.ascontiguousarray(Y.T)  # BLAS is several times faster on it
        self._remember(interactions, ctx)
        self.index = None
        self._sim_index = None
        if self._use_clusters(m.shape[1]):
            self.index = serving.ClusterIndex(Y, self.cfg.n_clusters, self.cluster_seed)

    @property
    def uses_candidates(self) -> bool:
        return self.index is not None

    def _use_clusters(self, n_items: int) -> bool:
        """Cluster candidates for a catalog of n_items (candidates = "clusters", or "auto" above
        `clusters_above` tracks)."""
        mode = self.cfg.candidates
        return n_items > 0 and (mode == "clusters" or (mode == "auto" and n_items >= self.cfg.clusters_above))

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors[users] @ self._item_factors_t

    def user_vectors(self) -> np.ndarray | None:
        return self.user_factors

    def _similarity_index(self, vecs: np.ndarray):
        """With cluster candidates, radio neighbours also come from clusters (built once per fit)."""
        if not self._use_clusters(len(vecs)):
            return None
        if self._sim_index is None:
            self._sim_index = serving.ClusterIndex(vecs, self.cfg.n_clusters, self.cluster_seed)
        return self._sim_index

    def _item_vectors(self) -> np.ndarray:
        return self.item_factors

    def _serve(self, users, known, k, ex_ptr, ex_idx, mask, items, scores) -> None:
        if self.index is None:
            return super()._serve(users, known, k, ex_ptr, ex_idx, mask, items, scores)
        pos = np.flatnonzero(known)
        if len(pos):
            it, sc = self.index.topk(self.user_factors[users[pos]], k, self.cfg.n_probe,
                                     ex_ptr, ex_idx, mask, rows=pos)
            items[pos], scores[pos] = it, sc
        self._serve_cold(users, known, k, ex_ptr, ex_idx, mask, items, scores)

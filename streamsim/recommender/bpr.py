"""Bayesian personalised ranking (Rendle et al. 2009) trained by SGD in numba.

For a sampled observed pair (u, i) and a sampled track j the user has not played, one SGD step
on ``ln sigmoid(x_u . (y_i - y_j)) - reg (|x_u|^2 + |y_i|^2 + |y_j|^2)``. Items carry a bias
as the last factor, against a user coordinate pinned to 1.

Determinism: the samples are a hash of (seed, pass, step), and the updates are applied in that
fixed order on one thread (Hogwild-style parallel updates would race), so a seed gives the same
factors on any machine thread count.
"""

from __future__ import annotations

import time

import numba as nb
import numpy as np
import scipy.sparse as sp

from streamsim.recommender.als import _arrays, _prepare
from streamsim.recommender.base import FactorModel, FitContext, FitInfo, positive
from streamsim.recommender.serving import FASTMATH, hash_uniform, in_sorted



@nb.njit(cache=True)
def _row_of(indptr):
    rows = np.empty(indptr[-1], np.int32)
    for u in range(len(indptr) - 1):
        rows[indptr[u]:indptr[u + 1]] = u
    return rows


@nb.njit(cache=True, fastmath=set(FASTMATH))
def _bpr_passes(indptr, indices, rows, X, Y, passes, first_pass, lr, reg, key):
    nnz = len(indices)
    T, f = Y.shape
    loss = 0.0
    count = 0
    for e in range(first_pass, first_pass + passes):
        for s in range(nnz):
            k = min(int(hash_uniform(key, e, 4 * s) * nnz), nnz - 1)
            u = rows[k]
            i = indices[k]
            j = -1
            for attempt in range(1, 4):       # a few draws for a track the user has not played
                cand = min(int(hash_uniform(key, e, 4 * s + attempt) * T), T - 1)
                if not in_sorted(indices, indptr[u], indptr[u + 1], cand):
                    j = cand
                    break
            if j < 0:
                continue
            x = np.float32(0.0)
            for a in range(f):
                x += X[u, a] * (Y[i, a] - Y[j, a])
            z = np.float32(1.0) / (np.float32(1.0) + np.exp(x))    # sigmoid(-x)
            loss += np.log1p(np.exp(-x)) if x > -30 else -x
            count += 1
            for a in range(f):
                xu = X[u, a]
                yi = Y[i, a]
                yj = Y[j, a]
                if a < f - 1:
                    X[u, a] = xu + lr * (z * (yi - yj) - reg * xu)
                Y[i, a] = yi + lr * (z * xu - reg * yi)
                Y[j, a] = yj + lr * (-z * xu - reg * yj)
    return loss / max(count, 1)


def fit_bpr(user_items: sp.spmatrix, X: np.ndarray, Y: np.ndarray, passes: int, learning_rate: float,
            regularization: float, key: int, first_pass: int = 0) -> float:
    """Run SGD passes in place over factor matrices whose last user column is pinned to 1.

    Args:
        user_items: (L x T) CSR; every stored entry is a positive, whatever its value.
        X, Y: (L, f+1) and (T, f+1) float32 factors, updated in place.
        passes: each pass draws as many (u, i, j) samples as there are positives.
        first_pass: index of the first pass, so successive fits draw fresh samples.
        key: 64-bit hash key of the sample stream.
    Returns:
        mean BPR log-loss ``-ln sigmoid(x_uij)`` over the last fit's samples.
    """
    m = _prepare(user_items)
    if m.nnz == 0 or passes == 0:
        return float("nan")
    indptr, indices, _ = _arrays(m)
    return float(_bpr_passes(indptr, indices, _row_of(indptr), X, Y, passes, first_pass,
                             np.float32(learning_rate), np.float32(regularization), np.uint64(key)))


class BPR(FactorModel):
    """BPR matrix factorisation, warm-started each epoch (``bpr_warm_epochs`` passes)."""

    name = "bpr"

    def __init__(self, cfg, seed):
        super().__init__(cfg, seed)
        self.passes_done = 0
        self.sample_key = int(self.seed.spawn(1)[0].generate_state(1, np.uint64)[0])

    def _dim(self) -> int:
        return self.cfg.factors + 1

    def _init(self, n: int) -> np.ndarray:
        f = self._dim()
        x = (self.rng.random((n, f), dtype=np.float32) - np.float32(0.5)) / np.float32(f)
        x[:, -1] = 1.0
        return x

    def fit(self, interactions: sp.csr_matrix, ctx: FitContext) -> FitInfo:
        t0 = time.perf_counter()
        cfg = self.cfg
        m = _prepare(positive(interactions))
        cold = self.cold
        X, Y, new_users = self._grown_factors(m, ctx)
        if not cold and len(new_users):
            X[new_users] = self._init(len(new_users))
        X[:, -1] = 1.0
        passes = cfg.bpr_epochs if cold else cfg.bpr_warm_epochs
        loss = fit_bpr(m, X, Y, passes, cfg.learning_rate, cfg.bpr_regularization, self.sample_key,
                       self.passes_done)
        self.passes_done += passes
        self._set_factors(X, Y, m, interactions, ctx)
        return FitInfo(time.perf_counter() - t0, loss)

    def _item_vectors(self) -> np.ndarray:
        return np.ascontiguousarray(self.item_factors[:, :-1])

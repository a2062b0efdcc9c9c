"""Exploration slots: a share of each slate given to long-tail and new tracks by a bandit.

The pool is the least-played ``longtail_share`` of the catalog plus tracks released within
``new_epochs``. Each track has a Beta(1 + completions, 1 + non-completions) posterior of its
completion rate, learned from `observe`. Per user, ``candidates`` pool tracks are drawn
uniformly (keeping the cost O(candidates) per user however large the pool) and the bandit picks
among them:
- Thompson sampling: the tracks with the highest draws from their posteriors;
- epsilon-greedy: per slot, a random candidate with probability epsilon, else the candidate
  with the highest posterior mean.
The picks take evenly spaced positions in the slate, the model's own ranking fills the rest.
All random draws are hashes of (seed, epoch, user, counter): independent of threads and of the
order in which users are served.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import scipy.sparse as sp

from streamsim.recommender import serving
from streamsim.recommender.base import FitContext, FitInfo, Recommender, Wrapper
from streamsim.recommender.serving import hash_uniform, in_sorted


@nb.njit(inline="always")
def _normal(key, u, ctr):
    u1 = hash_uniform(key, u, ctr)
    u2 = hash_uniform(key, u, ctr + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@nb.njit(inline="always")
def _gamma(shape, key, u, ctr):
    """Marsaglia-Tsang gamma(shape >= 1) draw; returns (value, next counter)."""
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    for _ in range(64):
        z = _normal(key, u, ctr)
        v = (1.0 + c * z) ** 3
        w = hash_uniform(key, u, ctr + 2)
        ctr += 3
        if v > 0 and np.log(w) < 0.5 * z * z + d - d * v + d * np.log(v):
            return d * v, ctr
    return d, ctr


@nb.njit(parallel=True, cache=True)
def _pick(users, rows, pool, succ, fail, n_pick, n_cand, thompson, epsilon, key,
          ex_ptr, ex_idx, mask, slate, out):
    for r in nb.prange(len(users)):
        u = users[r]
        e = rows[r]
        cand = np.full(n_cand, -1, np.int64)
        val = np.full(n_cand, -np.inf)
        ctr = np.uint64(0)
        nc = 0
        for t in range(n_cand):
            j = pool[min(int(hash_uniform(key, u, ctr) * len(pool)), len(pool) - 1)]
            ctr += np.uint64(1)
            if j >= len(mask) or not mask[j]:
                continue
            if in_sorted(ex_idx, ex_ptr[e], ex_ptr[e + 1], j):
                continue
            dup = False
            for q in range(slate.shape[1]):
                if slate[r, q] == j:
                    dup = True
            for q in range(nc):
                if cand[q] == j:
                    dup = True
            if dup:
                continue
            a = 1.0 + succ[j]
            b = 1.0 + fail[j]
            if thompson:
                ga, ctr = _gamma(a, key, u, ctr)
                gb, ctr = _gamma(b, key, u, ctr)
                val[nc] = ga / (ga + gb)
            else:
                val[nc] = a / (a + b)
            cand[nc] = j
            nc += 1
        for s in range(n_pick):
            best = -1
            if not thompson and hash_uniform(key, u, ctr) < epsilon:
                ctr += np.uint64(1)
                left = 0
                for q in range(nc):
                    if cand[q] >= 0:
                        left += 1
                if left > 0:
                    target = min(int(hash_uniform(key, u, ctr) * left), left - 1)
                    for q in range(nc):
                        if cand[q] >= 0:
                            if target == 0:
                                best = q
                                break
                            target -= 1
            else:
                ctr += np.uint64(1)
                for q in range(nc):
                    if cand[q] >= 0 and (best < 0 or val[q] > val[best]
                                         or (val[q] == val[best] and cand[q] < cand[best])):
                        best = q
            ctr += np.uint64(1)
            if best < 0:
                break
            out[r, s] = cand[best]
            cand[best] = -1


def slots(k: int, n_pick: int) -> np.ndarray:
    """Evenly spaced slate positions for n_pick exploration items out of k."""
    return np.floor((np.arange(n_pick) + 0.5) * k / max(n_pick, 1)).astype(np.int64)


class Exploring(Wrapper):
    """Wraps a recommender so that a ``share`` of slate slots go to the exploration bandit."""

    def __init__(self, inner: Recommender, cfg, seed: int | np.random.SeedSequence):
        super().__init__(inner, seed)
        self.xcfg = cfg
        self.name = f"{inner.name}+explore"
        self.succ = np.zeros(0, np.float64)
        self.fail = np.zeros(0, np.float64)
        self.pool = np.zeros(0, np.int64)

    def fit(self, interactions: sp.csr_matrix, ctx: FitContext) -> FitInfo:
        info = super().fit(interactions, ctx)
        self._grow(self.n_items)
        T = self.n_items
        order = np.argsort(self.popularity, kind="stable")
        tail = np.zeros(T, np.bool_)
        tail[order[: int(np.floor(self.xcfg.longtail_share * T))]] = True
        released = ctx.catalog.release_epoch[:T] if len(ctx.catalog) >= T else np.full(T, -10**9)
        new = released >= ctx.epoch - self.xcfg.new_epochs
        self.pool = np.flatnonzero(tail | new).astype(np.int64)
        return info

    def _grow(self, n: int) -> None:
        if n > len(self.succ):
            self.succ = np.concatenate([self.succ, np.zeros(n - len(self.succ))])
            self.fail = np.concatenate([self.fail, np.zeros(n - len(self.fail))])

    def observe(self, tracks: np.ndarray, completed: np.ndarray) -> None:
        """Update each exposed track's Beta posterior with its completions."""
        tracks = np.asarray(tracks, np.int64).ravel()
        completed = np.asarray(completed, np.bool_).ravel()
        if len(tracks):
            self._grow(int(tracks.max()) + 1)
            self.succ += np.bincount(tracks[completed], minlength=len(self.succ))
            self.fail += np.bincount(tracks[~completed], minlength=len(self.fail))
        super().observe(tracks, completed)

    def recommend(self, users, k, exclude=None, allowed=None):
        users = np.asarray(users, np.int32).ravel()
        items, scores = self.inner.recommend(users, k, exclude, allowed)
        n_pick = int(round(self.xcfg.share * k))
        if n_pick == 0 or len(users) == 0 or len(self.pool) == 0:
            return items, scores
        ex_ptr, ex_idx = serving.exclusion_rows(exclude, users)
        mask = serving.allowed_mask(allowed, self.n_items)
        picks = np.full((len(users), n_pick), -1, np.int32)
        _pick(users.astype(np.int64), np.arange(len(users), dtype=np.int64), self.pool, self.succ,
              self.fail, n_pick, max(self.xcfg.candidates, n_pick),
              self.xcfg.policy == "thompson", float(self.xcfg.epsilon), np.uint64(self.key),
              ex_ptr, ex_idx, mask, items, picks)
        return _merge(items, scores, picks)


def _merge(items: np.ndarray, scores: np.ndarray, picks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Put each row's picks at evenly spaced slots, the model's ranking in the others.

    An exploration item takes the score of the slot above it (the top score at slot 0), so a
    slate's scores stay non-increasing; rows with fewer picks give the unused slots back.
    """
    n, k = items.shape
    out_i = np.full_like(items, -1)
    out_s = np.full_like(scores, -np.inf)
    n_got = (picks >= 0).sum(axis=1)
    for got in np.unique(n_got):
        rows = np.flatnonzero(n_got == got)
        pos = slots(k, got)
        is_pick = np.zeros(k, np.bool_)
        is_pick[pos] = True
        rest = np.flatnonzero(~is_pick)
        out_i[np.ix_(rows, pos)] = picks[rows, :got]
        out_i[np.ix_(rows, rest)] = items[rows, : k - got]
        out_s[np.ix_(rows, rest)] = scores[rows, : k - got]
        for p in pos:
            out_s[rows, p] = out_s[rows, p - 1] if p > 0 else scores[rows, 0]
        # a model slate shorter than k leaves -1 holes; compact them to the end
    valid = out_i >= 0
    if not valid.all():
        order = np.argsort(~valid, axis=1, kind="stable")
        out_i = np.take_along_axis(out_i, order, axis=1)
        out_s = np.take_along_axis(out_s, order, axis=1)
        out_s[out_i < 0] = -np.inf
    return out_i, out_s

"""New items at random slate positions, as Chaney et al. (2018) and T-RECS serve them.

A model trained on past interactions knows nothing of this epoch's releases. Chaney et al.'s
simulation therefore interleaves the newest items at random positions of every ranked list;
T-RECS's replication does the same with the k newest items a user has not consumed. The
wrapper below does it for any recommender: it asks the model for its slate and puts the
listener's k newest servable tracks at k uniformly random positions within the slate's length;
the model's own ranking keeps its order in the other positions, and a track that is both ranked
and interleaved keeps the better of its two positions (T-RECS shows it twice).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import scipy.sparse as sp

from streamsim.recommender import serving
from streamsim.recommender.base import Recommender, Wrapper


@nb.njit(cache=True)
def _slot_uniforms(key, users, k, out):
    for r in range(len(users)):
        for j in range(k):
            out[r, j] = serving.hash_uniform(key, users[r], j)


def slot_uniforms(key: int, users: np.ndarray, k: int) -> np.ndarray:
    """(len(users), k) uniforms, each a pure function of (key, user, slot)."""
    out = np.empty((len(users), k), np.float64)
    _slot_uniforms(np.uint64(key), np.asarray(users, np.int64), k, out)
    return out


def newest_servable(users: np.ndarray, k: int, exclude: sp.spmatrix | None,
                    mask: np.ndarray) -> np.ndarray:
    """The k newest (highest-id) tracks each user may be served, newest first, -1 padded.

    Args:
        users: user ids (rows of ``exclude``; users without a row exclude nothing).
        k: tracks per user.
        exclude: (L x T) sparse matrix of the pairs never served, or None.
        mask: bool[T] tracks anyone may be served.
    """
    n = len(users)
    allowed = np.flatnonzero(mask)
    if n == 0 or k == 0 or len(allowed) == 0:
        return np.full((n, k), -1, np.int32)
    ptr, idx = serving.exclusion_rows(exclude, users)
    # a user excludes at most max_nnz tracks, so the newest k + max_nnz allowed hold its k newest
    max_nnz = int(np.diff(ptr).max(initial=0))
    window = allowed[::-1][: k + max_nnz]                          # newest first
    slot = np.full(len(mask), -1, np.int64)
    slot[window] = np.arange(len(window))
    hit = np.full(len(idx), -1, np.int64)
    inside = idx < len(mask)
    hit[inside] = slot[idx[inside]]
    row = np.repeat(np.arange(n), np.diff(ptr))
    blocked = np.zeros((n, len(window)), bool)
    blocked[row[hit >= 0], hit[hit >= 0]] = True
    order = np.argsort(blocked, axis=1, kind="stable")[:, :k]     # servable first, newest first
    picked = np.where(np.take_along_axis(blocked, order, axis=1), -1, window[order]).astype(np.int32)
    out = np.full((n, k), -1, np.int32)
    out[:, : picked.shape[1]] = picked
    return out


def first_occurrences(items: np.ndarray) -> np.ndarray:
    """Rows of ``items`` with every repeat of an item after its first slot set to -1, compacted."""
    order = np.argsort(items, axis=1, kind="stable")            # equal items: earlier slot first
    srt = np.take_along_axis(items, order, axis=1)
    repeat = np.zeros(items.shape, bool)
    repeat[:, 1:] = (srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] >= 0)
    drop = np.zeros(items.shape, bool)
    np.put_along_axis(drop, order, repeat, axis=1)
    out = np.where(drop, -1, items)
    return np.take_along_axis(out, np.argsort(out < 0, axis=1, kind="stable"), axis=1)


def interleave(items: np.ndarray, new: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Put each row's ``new`` items at random positions of its slate, the ranking elsewhere.

    The new items take the slots with the smallest ``uniforms`` among the first
    ``min(K, ranked + new)`` slots (so no gap opens), in random order; the model's ranked items
    fill the other slots in their order, and those that no longer fit fall off the end. An
    item that is both ranked and interleaved keeps the better of its two positions, as in
    T-RECS, which shows it twice.

    Args:
        items: (n, K) the model's slates, best first, -1 padded at the end.
        new: (n, k) items to interleave, -1 padded at the end.
        uniforms: (n, K) uniforms that choose the positions and their order.
    Returns:
        (n, K) int32 slates, -1 padded at the end.
    """
    n, K = items.shape
    new = new[:, :K]
    k = new.shape[1]
    if n == 0 or k == 0:
        return items
    n_new = (new >= 0).sum(axis=1)
    length = np.minimum(K, (items >= 0).sum(axis=1) + n_new)
    key = np.where(np.arange(K)[None, :] < length[:, None], uniforms, 2.0)
    pos = np.argsort(key, axis=1, kind="stable")[:, :k]        # distinct random slots, random order
    row = np.repeat(np.arange(n), k).reshape(n, k)
    used = np.arange(k)[None, :] < n_new[:, None]
    is_new = np.zeros((n, K), bool)
    is_new[row[used], pos[used]] = True
    out = np.full((n, K), -1, np.int32)
    out[row[used], pos[used]] = new[used]
    fill = ~is_new
    rank = np.cumsum(fill, axis=1) - 1                          # the j-th other slot gets ranked item j
    rows = np.broadcast_to(np.arange(n)[:, None], (n, K))
    out[fill] = items[rows[fill], rank[fill]]
    return first_occurrences(out)


class Interleave(Wrapper):
    """Wraps a recommender so that each slate carries the listener's k newest servable tracks
    at random positions (``recommender.interleave_new``)."""

    def __init__(self, inner: Recommender, k: int, seed: int | np.random.SeedSequence):
        super().__init__(inner, seed)
        self.k = k

    def recommend(self, users, k, exclude=None, allowed=None):
        """The inner model's slates with the newest tracks interleaved; every score is NaN
        (the model's scores no longer describe the order) and padding -inf."""
        users = np.asarray(users, np.int32).ravel()
        items, scores = self.inner.recommend(users, k, exclude, allowed)
        if len(users) == 0 or k <= 0 or self.n_items == 0:
            return items, scores
        new = newest_servable(users, min(self.k, k), exclude, serving.allowed_mask(allowed, self.n_items))
        out = interleave(items, new, slot_uniforms(self.key, users, k))
        return out, np.where(out >= 0, np.nan, -np.inf).astype(np.float32)

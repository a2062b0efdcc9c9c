"""Serving: filtered top-K selection, item similarity and cluster candidate generation.

Scores are computed in blocks of users (a BLAS product per block) and reduced to the top K by
numba kernels that apply the exclusions and the allowed mask while selecting: a bounded heap
per row, one pass over the row, no full sort. Ties are broken by the lower item id, so a slate
is a pure function of the scores whatever the thread count.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import scipy.sparse as sp

FASTMATH = frozenset({"reassoc", "contract"})
"""The fast-math flags of every float kernel. "reassoc" lets LLVM vectorise sums and "contract" fuse
multiply-adds; both act on the IR, so a kernel compiles to the same arithmetic every time.
"nsz" and "arcp" are left out: with them, LLVM's back end reassociates further, and numba's
in-process JIT and the object code it caches on disk are built with different back-end settings,
so a freshly compiled kernel and its cached copy summed in different orders (measured: different
factors between the first and later processes, at 1 thread). NaN and inf are not assumed away."""

BLOCK = 256  # users scored per BLAS block: 256 x 20,000 float32 is 20 MB


# -- inputs ------------------------------------------------------------------------------------
def exclusion_rows(exclude: sp.spmatrix | None, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The excluded items of each requested user as (indptr int64, sorted indices int32).

    Users without a row in `exclude` exclude nothing.
    """
    n = len(users)
    if exclude is None or exclude.nnz == 0:
        return np.zeros(n + 1, np.int64), np.zeros(0, np.int32)
    ex = sp.csr_matrix(exclude)
    ex.sum_duplicates()
    inside = (users >= 0) & (users < ex.shape[0])
    rows = ex[np.where(inside, users, 0)]
    counts = np.where(inside, np.diff(rows.indptr), 0)
    keep = np.repeat(inside, np.diff(rows.indptr))
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    idx = rows.indices[keep].astype(np.int32)
    _sort_segments(ptr, idx)
    return ptr, idx


@nb.njit(cache=True)
def _sort_segments(ptr, idx):
    for r in range(len(ptr) - 1):
        idx[ptr[r]:ptr[r + 1]].sort()


def empty_slates(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """n slates of k padding entries: items -1, scores -inf."""
    return np.full((n, k), -1, np.int32), np.full((n, k), -np.inf, np.float32)


def allowed_mask(allowed: np.ndarray | None, n_items: int) -> np.ndarray:
    """A bool[n_items] mask; items beyond a shorter mask are not allowed."""
    mask = np.ones(n_items, np.bool_) if allowed is None else np.zeros(n_items, np.bool_)
    if allowed is not None:
        a = np.asarray(allowed, dtype=np.bool_).ravel()[:n_items]
        mask[: len(a)] = a
    return mask


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32 C-contiguous."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


@nb.njit(inline="always")
def in_sorted(values, lo, hi, x):
    """Whether x is in the sorted slice values[lo:hi] (binary search)."""
    a, b = lo, hi
    while a < b:
        mid = (a + b) // 2
        if values[mid] < x:
            a = mid + 1
        else:
            b = mid
    return a < hi and values[a] == x


# -- the bounded heap ----------------------------------------------------------------------------
@nb.njit(inline="always")
def _worse(s1, i1, s2, i2):
    return s1 < s2 or (s1 == s2 and i1 > i2)


@nb.njit(inline="always")
def _sift_down(hs, hi, pos, size):
    while True:
        c = 2 * pos + 1
        if c >= size:
            return
        if c + 1 < size and _worse(hs[c + 1], hi[c + 1], hs[c], hi[c]):
            c += 1
        if _worse(hs[c], hi[c], hs[pos], hi[pos]):
            hs[c], hs[pos] = hs[pos], hs[c]
            hi[c], hi[pos] = hi[pos], hi[c]
            pos = c
        else:
            return


@nb.njit(inline="always")
def _push(hs, hi, size, k, s, j):
    """Offer (s, j) to a min-heap of the k best; return the new size."""
    if size < k:
        pos = size
        hs[pos] = s
        hi[pos] = j
        while pos > 0:
            parent = (pos - 1) // 2
            if _worse(hs[pos], hi[pos], hs[parent], hi[parent]):
                hs[pos], hs[parent] = hs[parent], hs[pos]
                hi[pos], hi[parent] = hi[parent], hi[pos]
                pos = parent
            else:
                break
        return size + 1
    if _worse(hs[0], hi[0], s, j):
        hs[0] = s
        hi[0] = j
        _sift_down(hs, hi, 0, size)
    return size


@nb.njit(inline="always")
def _finish(hs, hi, size):
    """Heap-sort in place so the best comes first; pad the tail with -1 / -inf."""
    for end in range(size - 1, 0, -1):
        hs[0], hs[end] = hs[end], hs[0]
        hi[0], hi[end] = hi[end], hi[0]
        _sift_down(hs, hi, 0, end)
    for t in range(size, len(hs)):
        hs[t] = -np.inf
        hi[t] = -1


@nb.njit(inline="always")
def _select_row(scores, k, ex_idx, lo, hi_, mask, self_item, out_s, out_i):
    """One row: the k best allowed, non-excluded items of a dense score row."""
    size = 0
    p = lo
    n = min(len(scores), len(mask))
    for j in range(n):
        if not mask[j] or j == self_item:
            continue
        while p < hi_ and ex_idx[p] < j:
            p += 1
        if p < hi_ and ex_idx[p] == j:
            continue
        s = scores[j]
        if s != s:
            continue
        if size == k and not _worse(out_s[0], out_i[0], s, j):
            continue
        size = _push(out_s, out_i, size, k, s, j)
    _finish(out_s, out_i, size)


@nb.njit(parallel=True, cache=True)
def _topk_rows(block, rows, k, ex_ptr, ex_idx, banned, self_items, out_i, out_s):
    n = block.shape[1]
    for r in nb.prange(block.shape[0]):
        sc = block[r]
        e = rows[r]
        # filters first, as -inf in the row itself: the scan below is then one compare per item
        for p in range(ex_ptr[e], ex_ptr[e + 1]):
            if ex_idx[p] < n:
                sc[ex_idx[p]] = -np.inf
        for j in banned:
            sc[j] = -np.inf
        if 0 <= self_items[r] < n:
            sc[self_items[r]] = -np.inf
        hs = out_s[r]
        hi = out_i[r]
        size = 0
        j = 0
        while j < n and size < k:
            if sc[j] > -np.inf:
                size = _push(hs, hi, size, k, sc[j], j)
            j += 1
        if size == k:
            # items come in increasing id, so a tie never displaces the heap's lower id
            thr = hs[0]
            for q in range(j, n):
                if sc[q] > thr:
                    hs[0] = sc[q]
                    hi[0] = q
                    _sift_down(hs, hi, 0, k)
                    thr = hs[0]
        _finish(hs, hi, size)


@nb.njit(parallel=True, cache=True)
def _topk_shared(scores, rows, k, ex_ptr, ex_idx, mask, out_i, out_s):
    for r in nb.prange(len(rows)):
        e = rows[r]
        _select_row(scores, k, ex_idx, ex_ptr[e], ex_ptr[e + 1], mask, -1, out_s[r], out_i[r])


def topk_rows(block: np.ndarray, rows: np.ndarray, k: int, ex_ptr: np.ndarray, ex_idx: np.ndarray,
              mask: np.ndarray, self_items: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of each row of a dense score block; the block is used as scratch (overwritten).

    Args:
        block: (m, T) float32 scores; -inf and NaN scores are never returned.
        rows: (m,) index of each row's exclusion list in (ex_ptr, ex_idx).
        k: slate length.
        ex_ptr, ex_idx: excluded items per exclusion row, sorted (see `exclusion_rows`).
        mask: bool[T] allowed items.
        self_items: (m,) an item never returned for the row (-1 for none).
    """
    m = block.shape[0]
    out_i = np.empty((m, k), np.int32)
    out_s = np.empty((m, k), np.float32)
    if self_items is None:
        self_items = np.full(m, -1, np.int32)
    block = np.require(block, np.float32, ["C", "W"])
    _topk_rows(block, np.asarray(rows, np.int64), k, ex_ptr, ex_idx, banned(mask),
               np.asarray(self_items, np.int32), out_i, out_s)
    return out_i, out_s


def banned(mask: np.ndarray) -> np.ndarray:
    """Ids of the items a mask disallows."""
    return np.flatnonzero(~mask).astype(np.int64)


def topk_shared(scores: np.ndarray, rows: np.ndarray, k: int, ex_ptr: np.ndarray,
                ex_idx: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of one score vector shared by many users, each with its own exclusions."""
    out_i = np.empty((len(rows), k), np.int32)
    out_s = np.empty((len(rows), k), np.float32)
    _topk_shared(np.ascontiguousarray(scores, np.float32), np.asarray(rows, np.int64), k,
                 ex_ptr, ex_idx, mask, out_i, out_s)
    return out_i, out_s


def topk_dot(queries: np.ndarray, vecs: np.ndarray, k: int, ex_ptr: np.ndarray,
             ex_idx: np.ndarray, mask: np.ndarray, self_items: np.ndarray | None = None,
             rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of ``queries @ vecs.T`` per query, scored in blocks of `BLOCK` queries."""
    n = len(queries)
    out_i = np.empty((n, k), np.int32)
    out_s = np.empty((n, k), np.float32)
    rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    self_items = np.full(n, -1, np.int32) if self_items is None else np.asarray(self_items, np.int32)
    vt = np.ascontiguousarray(vecs, np.float32).T
    ban = banned(mask)
    for start in range(0, n, BLOCK):
        sl = slice(start, start + BLOCK)
        block = np.ascontiguousarray(queries[sl], np.float32) @ vt
        _topk_rows(block, rows[sl], k, ex_ptr, ex_idx, ban, self_items[sl], out_i[sl], out_s[sl])
    return out_i, out_s


def similar(vecs: np.ndarray, queries: np.ndarray, query_items: np.ndarray, k: int,
            mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-k by dot product of unit vectors (cosine), excluding each query's own item."""
    n = len(queries)
    ptr = np.zeros(n + 1, np.int64)
    idx = np.zeros(0, np.int32)
    return topk_dot(queries, vecs, k, ptr, idx, mask, self_items=query_items)


# -- candidate generation by clusters of item factors ---------------------------------------------
class ClusterIndex:
    """k-means clusters of item vectors for candidate generation at large catalogs.

    A query scores the centroids, keeps the `n_probe` best clusters, and scores the items of
    those clusters exactly. Recall against exact scoring is measured in the tests and in
    benchmarks/als_vs_implicit.py.
    """

    def __init__(self, vecs: np.ndarray, n_clusters: int, seed: int | np.random.SeedSequence,
                 iterations: int = 10):
        self.vecs = np.ascontiguousarray(vecs, np.float32)
        self.centroids, labels = kmeans(self.vecs, n_clusters, seed, iterations)
        order = np.argsort(labels, kind="stable").astype(np.int32)
        counts = np.bincount(labels, minlength=len(self.centroids))
        self.ptr = np.zeros(len(self.centroids) + 1, np.int64)
        np.cumsum(counts, out=self.ptr[1:])
        self.members = order

    def topk(self, queries: np.ndarray, k: int, n_probe: int, ex_ptr: np.ndarray,
             ex_idx: np.ndarray, mask: np.ndarray, rows: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k of ``queries @ vecs.T`` from the items of the best clusters."""
        n = len(queries)
        n_probe = max(1, min(n_probe, len(self.centroids)))
        rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        out_i = np.empty((n, k), np.int32)
        out_s = np.empty((n, k), np.float32)
        none = np.zeros(n_probe + 1, np.int64)
        for start in range(0, n, BLOCK):
            sl = slice(start, start + BLOCK)
            q = np.ascontiguousarray(queries[sl], np.float32)
            cs = q @ self.centroids.T
            m = len(q)
            probe_i = np.empty((m, n_probe), np.int32)
            probe_s = np.empty((m, n_probe), np.float32)
            _topk_rows(cs, np.zeros(m, np.int64), n_probe, none, np.zeros(0, np.int32),
                       np.zeros(0, np.int64), np.full(m, -1, np.int32), probe_i, probe_s)
            _score_candidates(q, self.vecs, probe_i, self.ptr, self.members, rows[sl], k,
                              ex_ptr, ex_idx, mask, out_i[sl], out_s[sl])
        return out_i, out_s


@nb.njit(parallel=True, cache=True, fastmath=set(FASTMATH))
def _score_candidates(q, vecs, probe, ptr, members, rows, k, ex_ptr, ex_idx, mask, out_i, out_s):
    f = q.shape[1]
    for r in nb.prange(q.shape[0]):
        hs = out_s[r]
        hi = out_i[r]
        size = 0
        lo_e = ex_ptr[rows[r]]
        hi_e = ex_ptr[rows[r] + 1]
        for c in probe[r]:
            if c < 0:
                continue
            for t in range(ptr[c], ptr[c + 1]):
                j = members[t]
                if j >= len(mask) or not mask[j]:
                    continue
                if in_sorted(ex_idx, lo_e, hi_e, j):
                    continue
                s = np.float32(0.0)
                for a in range(f):
                    s += q[r, a] * vecs[j, a]
                if size == k and not _worse(hs[0], hi[0], s, j):
                    continue
                size = _push(hs, hi, size, k, s, j)
        _finish(hs, hi, size)


def kmeans(x: np.ndarray, n_clusters: int, seed: int | np.random.SeedSequence,
           iterations: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means on rows of x from a seeded random sample of rows; empty clusters keep
    their centroid. Returns (centroids float32 (C, f), labels int64 (n,))."""
    n = len(x)
    c = max(1, min(n_clusters, n))
    rng = np.random.default_rng(seed)
    centroids = x[np.sort(rng.choice(n, c, replace=False))].copy() if n else np.zeros((1, x.shape[1]), np.float32)
    labels = np.zeros(n, np.int64)
    sq = (x * x).sum(axis=1)
    for _ in range(iterations):
        d = sq[:, None] - 2.0 * (x @ centroids.T) + (centroids * centroids).sum(axis=1)[None, :]
        labels = np.argmin(d, axis=1)
        counts = np.bincount(labels, minlength=c)
        assign = sp.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(c, n))
        sums = assign @ x.astype(np.float64)
        nonempty = counts > 0
        centroids[nonempty] = (sums[nonempty] / counts[nonempty, None]).astype(np.float32)
    return np.ascontiguousarray(centroids, np.float32), labels


# -- sampled slates: Gumbel-top-k from a counter-based hash, so draws do not depend on threads ---
@nb.njit(inline="always")
def mix64(z):
    """The splitmix64 finaliser: a bijective hash of a uint64."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@nb.njit(inline="always")
def hash_uniform(key, a, b):
    """A uniform in (0, 1) that is a pure function of (key, a, b)."""
    z = mix64(key ^ mix64(np.uint64(a) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(b)))
    return ((z >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740994.0)


@nb.njit(parallel=True, cache=True)
def _topk_gumbel(logw, inv_t, users, key, rows, k, ex_ptr, ex_idx, mask, out_i, out_s):
    n = min(len(logw), len(mask))
    for r in nb.prange(len(users)):
        hs = out_s[r]
        hi = out_i[r]
        size = 0
        e = rows[r]
        p = ex_ptr[e]
        end = ex_ptr[e + 1]
        u = users[r]
        for j in range(n):
            if not mask[j]:
                continue
            while p < end and ex_idx[p] < j:
                p += 1
            if p < end and ex_idx[p] == j:
                continue
            g = -np.log(-np.log(hash_uniform(key, u, j)))
            s = np.float32(logw[j] * inv_t + g)
            if size == k and not _worse(hs[0], hi[0], s, j):
                continue
            size = _push(hs, hi, size, k, s, j)
        _finish(hs, hi, size)


def topk_sampled(weights: np.ndarray, temperature: float, users: np.ndarray, key: int,
                 rows: np.ndarray, k: int, ex_ptr: np.ndarray, ex_idx: np.ndarray,
                 mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """k items per user sampled without replacement with probability ∝ weight^(1/temperature).

    Gumbel-top-k: the top k of ``log(w)/T + Gumbel noise``; the noise of (user, item) is a
    hash of (key, user, item), so a slate depends on the key and user only. Returned scores
    are the perturbed log-weights. Items of zero weight come last (log 0 = -inf is replaced by
    a floor 30 nats below the smallest positive weight).
    """
    if temperature <= 0:
        return topk_shared(weights, rows, k, ex_ptr, ex_idx, mask)
    w = np.asarray(weights, np.float64)
    pos = w > 0
    floor = (np.log(w[pos].min()) - 30.0) if pos.any() else 0.0
    logw = np.where(pos, np.log(np.where(pos, w, 1.0)), floor)
    inv_t = 1.0 / temperature
    n = len(users)
    out_i = np.empty((n, k), np.int32)
    out_s = np.empty((n, k), np.float32)
    _topk_gumbel(logw, inv_t, np.asarray(users, np.int64), np.uint64(key),
                 np.asarray(rows, np.int64), k, ex_ptr, ex_idx, mask, out_i, out_s)
    return out_i, out_s

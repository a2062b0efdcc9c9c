"""Serving: filtered top-K selection, item similarity and cluster candidate generation.

Scores are computed in blocks of users (a BLAS product per block) and reduced to the top K by
numba kernels that apply the exclusions and the allowed mask while selecting: a bounded heap
per row, one pass over the row, no full sort. Ties are broken by the lower item id, so a slate
is a pure function of the scores whatever the thread count.
"""

from __future__ import annotations

import threading

import numba as nb
import numpy as np
import scipy.sparse as sp

from streamsim.core.threads import in_threads

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
def _topk_row(sc, e, k, ex_ptr, ex_idx, banned, self_item, hs, hi):
    """One row's top k into (hs, hi); the row's scores are scratch."""
    n = len(sc)
    # filters first, as -inf in the row itself: the scan below is then one compare per item
    for p in range(ex_ptr[e], ex_ptr[e + 1]):
        if ex_idx[p] < n:
            sc[ex_idx[p]] = -np.inf
    for j in banned:
        sc[j] = -np.inf
    if 0 <= self_item < n:
        sc[self_item] = -np.inf
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
def _topk_rows(block, rows, k, ex_ptr, ex_idx, banned, self_items, out_i, out_s):
    for r in nb.prange(block.shape[0]):
        _topk_row(block[r], rows[r], k, ex_ptr, ex_idx, banned, self_items[r], out_s[r], out_i[r])


@nb.njit(cache=True, nogil=True)
def _topk_rows_serial(block, rows, k, ex_ptr, ex_idx, banned, self_items, out_i, out_s):
    """`_topk_rows` on the calling thread, without the GIL (for `in_threads` tasks)."""
    for r in range(block.shape[0]):
        _topk_row(block[r], rows[r], k, ex_ptr, ex_idx, banned, self_items[r], out_s[r], out_i[r])


@nb.njit(parallel=True, cache=True)
def _topk_ordered(order, scores, rows, k, ex_ptr, ex_idx, mask, out_i, out_s):
    """Each row walks the items in the shared ranking and keeps the first k it may have."""
    for r in nb.prange(len(rows)):
        e = rows[r]
        lo, hi = ex_ptr[e], ex_ptr[e + 1]
        got = 0
        for j in order:
            if got == k:
                break
            if not mask[j] or in_sorted(ex_idx, lo, hi, j):
                continue
            out_i[r, got] = j
            out_s[r, got] = scores[j]
            got += 1
        for t in range(got, k):
            out_i[r, t] = -1
            out_s[r, t] = -np.inf


def topk_rows(block: np.ndarray, rows: np.ndarray, k: int, ex_ptr: np.ndarray, ex_idx: np.ndarray,
              mask: np.ndarray, self_items: np.ndarray | None = None,
              parallel: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of each row of a dense score block; the block is used as scratch (overwritten).

    Args:
        block: (m, T) float32 scores; -inf and NaN scores are never returned.
        rows: (m,) index of each row's exclusion list in (ex_ptr, ex_idx).
        k: slate length.
        ex_ptr, ex_idx: excluded items per exclusion row, sorted (see `exclusion_rows`).
        mask: bool[T] allowed items.
        self_items: (m,) an item never returned for the row (-1 for none).
        parallel: rows over numba's threads; False selects on the calling thread (inside an
            `in_threads` task).
    """
    m = block.shape[0]
    out_i = np.empty((m, k), np.int32)
    out_s = np.empty((m, k), np.float32)
    if self_items is None:
        self_items = np.full(m, -1, np.int32)
    block = np.require(block, np.float32, ["C", "W"])
    kernel = _topk_rows if parallel else _topk_rows_serial
    kernel(block, np.asarray(rows, np.int64), k, ex_ptr, ex_idx, banned(mask),
           np.asarray(self_items, np.int32), out_i, out_s)
    return out_i, out_s


def banned(mask: np.ndarray) -> np.ndarray:
    """Ids of the items a mask disallows."""
    return np.flatnonzero(~mask).astype(np.int64)


def topk_shared(scores: np.ndarray, rows: np.ndarray, k: int, ex_ptr: np.ndarray,
                ex_idx: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of one score vector shared by many users, each with its own exclusions.

    The items are ranked once (score descending, lower id first on ties, NaN never), then each
    user takes the first k it may have: O(k + exclusions) per user instead of O(T).
    """
    sc = np.ascontiguousarray(scores, np.float32)[: len(mask)]
    ok = np.flatnonzero(~np.isnan(sc) & (sc > -np.inf) & mask[: len(sc)])
    order = ok[np.lexsort((ok, -sc[ok]))].astype(np.int64)
    out_i = np.empty((len(rows), k), np.int32)
    out_s = np.empty((len(rows), k), np.float32)
    _topk_ordered(order, sc, np.asarray(rows, np.int64), k, ex_ptr, ex_idx, mask, out_i, out_s)
    return out_i, out_s


def topk_dot(queries: np.ndarray, vecs: np.ndarray, k: int, ex_ptr: np.ndarray,
             ex_idx: np.ndarray, mask: np.ndarray, self_items: np.ndarray | None = None,
             rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of ``queries @ vecs.T`` per query, scored in blocks of `BLOCK` queries.

    The blocks are spread over threads (`in_threads`): each scores its block into a buffer of
    its own and selects from it while the buffer is still in cache.
    """
    n = len(queries)
    out_i = np.empty((n, k), np.int32)
    out_s = np.empty((n, k), np.float32)
    rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    self_items = np.full(n, -1, np.int32) if self_items is None else np.asarray(self_items, np.int32)
    vt = np.ascontiguousarray(vecs, np.float32).T
    ban = banned(mask)
    local = threading.local()

    def block(start: int) -> None:
        sl = slice(start, start + BLOCK)
        q = np.ascontiguousarray(queries[sl], np.float32)
        if getattr(local, "buf", None) is None:
            local.buf = np.empty((BLOCK, vt.shape[1]), np.float32)
        scores = np.matmul(q, vt, out=local.buf[: len(q)])
        _topk_rows_serial(scores, rows[sl], k, ex_ptr, ex_idx, ban, self_items[sl], out_i[sl], out_s[sl])

    in_threads(block, range(0, n, BLOCK))
    return out_i, out_s


def similar(vecs: np.ndarray, queries: np.ndarray, query_items: np.ndarray, k: int,
            mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-k by dot product of unit vectors (cosine), excluding each query's own item."""
    n = len(queries)
    ptr = np.zeros(n + 1, np.int64)
    idx = np.zeros(0, np.int32)
    return topk_dot(queries, vecs, k, ptr, idx, mask, self_items=query_items)


# -- candidate generation by clusters of item factors ---------------------------------------------
QUERY_BLOCK = 8_192       # at most this many queries scored together in ClusterIndex.topk
SCORE_BUFFER = 64_000_000  # float32 scores held at once by ClusterIndex.topk (256 MB)
KMEANS_SAMPLE = 64        # k-means is fitted on at most this many items per cluster (then all are assigned)
KMEANS_BLOCK = 16_384     # rows assigned to their nearest centroid per product


class ClusterIndex:
    """k-means clusters of item vectors for candidate generation at large catalogs (IVF).

    A query scores the centroids, keeps the `n_probe` best clusters, and scores the items of
    those clusters exactly. Scoring runs cluster by cluster: the queries that probe a cluster are
    scored against its items in one BLAS product, and a numba kernel offers the scores to each
    query's bounded heap. Recall against exact scoring is measured in the tests and in
    benchmarks/candidates.py (docs/MODEL.md section 4).
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
        self.member_vecs_t = [np.ascontiguousarray(self.vecs[order[self.ptr[c]:self.ptr[c + 1]]].T)
                              for c in range(len(self.centroids))]

    def probe(self, queries: np.ndarray, n_probe: int) -> np.ndarray:
        """The n_probe best clusters of each query by inner product with the centroids."""
        m = len(queries)
        probe_i = np.empty((m, n_probe), np.int32)
        probe_s = np.empty((m, n_probe), np.float32)
        none = np.zeros(2, np.int64)
        for start in range(0, m, BLOCK * 4):
            sl = slice(start, start + BLOCK * 4)
            cs = np.ascontiguousarray(queries[sl], np.float32) @ self.centroids.T
            r = len(cs)
            _topk_rows(cs, np.zeros(r, np.int64), n_probe, none, np.zeros(0, np.int32),
                       np.zeros(0, np.int64), np.full(r, -1, np.int32), probe_i[sl], probe_s[sl])
        return probe_i

    def topk(self, queries: np.ndarray, k: int, n_probe: int, ex_ptr: np.ndarray,
             ex_idx: np.ndarray, mask: np.ndarray, rows: np.ndarray | None = None,
             self_items: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k of ``queries @ vecs.T`` from the items of the best clusters.

        Args:
            queries: (n, f) query vectors.
            k: items per query.
            n_probe: clusters scored per query.
            ex_ptr, ex_idx: excluded items per exclusion row (see `exclusion_rows`).
            mask: bool[T] allowed items.
            rows: (n,) exclusion row of each query (default: its position).
            self_items: (n,) an item never returned for the query (-1 for none).
        """
        n = len(queries)
        n_probe = max(1, min(n_probe, len(self.centroids)))
        rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        self_items = (np.full(n, -1, np.int64) if self_items is None
                      else np.asarray(self_items, np.int64))
        out_i = np.empty((n, k), np.int32)
        out_s = np.empty((n, k), np.float32)
        if n == 0 or k <= 0:
            return out_i, out_s
        allowed = allowed_mask(mask, len(self.vecs))
        sizes_c = np.diff(self.ptr)
        probes = self.probe(queries, n_probe)
        for start, stop in score_blocks(sizes_c[probes].sum(axis=1), SCORE_BUFFER, QUERY_BLOCK):
            sl = slice(start, stop)
            q = np.ascontiguousarray(queries[sl], np.float32)
            probe = probes[sl]
            # the queries of each cluster in query order (a stable sort of the probe table), and
            # where the row of each (query, probe) lies in the score buffer
            flat = probe.ravel().astype(np.int64)
            order = np.argsort(flat, kind="stable")
            counts = np.bincount(flat, minlength=len(self.centroids))
            c_ptr = np.zeros(len(counts) + 1, np.int64)
            np.cumsum(counts, out=c_ptr[1:])
            off = np.zeros(len(counts) + 1, np.int64)
            np.cumsum(counts * sizes_c, out=off[1:])
            rank = np.empty(len(flat), np.int64)
            rank[order] = np.arange(len(flat)) - np.repeat(c_ptr[:-1], counts)
            start_of = off[flat] + rank * sizes_c[flat]
            buf = np.empty(int(off[-1]), np.float32)

            def score(c: int) -> None:
                qs = order[c_ptr[c]:c_ptr[c + 1]] // n_probe
                np.matmul(q[qs], self.member_vecs_t[c],
                          out=buf[off[c]:off[c + 1]].reshape(len(qs), sizes_c[c]))

            in_threads(score, np.flatnonzero(counts * sizes_c))
            _offer(buf, start_of.reshape(probe.shape), probe, self.ptr, self.members, rows[sl],
                   self_items[sl], k, ex_ptr, ex_idx, allowed, out_s[sl], out_i[sl])
        return out_i, out_s


def score_blocks(cost: np.ndarray, budget: int, max_rows: int) -> list[tuple[int, int]]:
    """Consecutive (start, stop) blocks of rows whose summed cost stays within budget (a row
    costing more than the budget gets a block of its own), at most max_rows rows each."""
    csum = np.concatenate([[0], np.cumsum(cost, dtype=np.int64)])
    blocks, start, n = [], 0, len(cost)
    while start < n:
        stop = int(np.searchsorted(csum, csum[start] + budget, side="right")) - 1
        stop = min(max(stop, start + 1), start + max_rows, n)
        blocks.append((start, stop))
        start = stop
    return blocks


@nb.njit(parallel=True, cache=True)
def _offer(buf, start_of, probe, ptr, members, rows, self_items, k, ex_ptr, ex_idx, mask, out_s, out_i):
    """Each query's top k among the scores of its probed clusters' items, held in ``buf``."""
    for r in nb.prange(probe.shape[0]):
        h_s = out_s[r]
        h_i = out_i[r]
        size = 0
        lo_e = ex_ptr[rows[r]]
        hi_e = ex_ptr[rows[r] + 1]
        own = self_items[r]
        for p in range(probe.shape[1]):
            c = probe[r, p]
            if c < 0:
                continue
            base = start_of[r, p]
            for t in range(ptr[c + 1] - ptr[c]):
                s = buf[base + t]
                j = members[ptr[c] + t]
                if size == k and not _worse(h_s[0], h_i[0], s, j):
                    continue
                if not mask[j] or j == own or s != s or in_sorted(ex_idx, lo_e, hi_e, j):
                    continue
                size = _push(h_s, h_i, size, k, s, j)
        _finish(h_s, h_i, size)


def kmeans(x: np.ndarray, n_clusters: int, seed: int | np.random.SeedSequence,
           iterations: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means on rows of x; returns (centroids float32 (C, f), labels int64 (n,)).

    Centroids start from a seeded random sample of rows and are fitted on a seeded sample of at
    most `KMEANS_SAMPLE` rows per cluster (as FAISS does); every row is then assigned to its
    nearest centroid. Empty clusters keep their centroid.
    """
    n = len(x)
    c = max(1, min(n_clusters, n))
    rng = np.random.default_rng(seed)
    if n == 0:
        return np.zeros((1, x.shape[1]), np.float32), np.zeros(0, np.int64)
    train = x if n <= KMEANS_SAMPLE * c else x[np.sort(rng.choice(n, KMEANS_SAMPLE * c, replace=False))]
    centroids = train[np.sort(rng.choice(len(train), c, replace=False))].copy()
    for _ in range(iterations):
        labels = _nearest(train, centroids)
        counts = np.bincount(labels, minlength=c)
        assign = sp.csr_matrix((np.ones(len(train)), (labels, np.arange(len(train)))), shape=(c, len(train)))
        sums = assign @ train.astype(np.float64)
        nonempty = counts > 0
        centroids[nonempty] = (sums[nonempty] / counts[nonempty, None]).astype(np.float32)
    centroids = np.ascontiguousarray(centroids, np.float32)
    return centroids, _nearest(x, centroids)


def _nearest(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid (Euclidean) of each row, in blocks of rows over threads."""
    cc = (centroids * centroids).sum(axis=1)
    out = np.empty(len(x), np.int64)

    def block(s: int) -> None:
        d = cc[None, :] - 2.0 * (x[s:s + KMEANS_BLOCK] @ centroids.T)
        out[s:s + KMEANS_BLOCK] = np.argmin(d, axis=1)

    in_threads(block, range(0, len(x), KMEANS_BLOCK))
    return out


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


@nb.njit(inline="always")
def _count_at_most(values, n, x):
    """How many of the sorted values[:n] are <= x (a binary search)."""
    a, b = 0, n
    while a < b:
        mid = (a + b) // 2
        if values[mid] <= x:
            a = mid + 1
        else:
            b = mid
    return a


@nb.njit(inline="always")
def _rebuild_mass(ids, n, C, mass):
    """mass[t] = total weight of the removed items ids[:t]."""
    mass[0] = 0.0
    for t in range(n):
        j = ids[t]
        mass[t + 1] = mass[t] + (C[j + 1] - C[j])


@nb.njit(inline="always")
def _draw(C, ids, mass, n, u):
    """An item drawn with probability proportional to its weight among the items not removed.

    ``C`` is the cumulative weight (C[j+1] - C[j] = weight of j); removed items lie in the sorted
    ``ids[:n]`` with prefix masses ``mass``. The target ``u * (remaining mass)`` on the line of
    the remaining items is mapped back to the full line by adding the removed mass before it, a
    monotone fixed point reached in at most n + 1 searches. Returns -1 if rounding lands on a
    removed or weightless item (the caller then draws by a linear scan).
    """
    T = len(C) - 1
    t = u * (C[T] - mass[n])
    s = t
    j = _count_at_most(C, T + 1, s) - 1           # item j covers [C[j], C[j+1])
    for _ in range(n + 2):
        s_new = t + mass[_count_at_most(ids, n, j)]   # plus the removed mass up to item j
        if s_new == s:
            break
        s = s_new
        j = _count_at_most(C, T + 1, s) - 1
    if j < 0 or j >= T or C[j + 1] <= C[j] or (n > 0 and in_sorted(ids, 0, n, j)):
        return -1
    return j


@nb.njit(inline="always")
def _draw_scan(C, ids, n, u):
    """The same draw as `_draw` by a linear scan over every item (exact, slow): the fallback."""
    T = len(C) - 1
    total = 0.0
    for j in range(T):
        if not in_sorted(ids, 0, n, j):
            total += C[j + 1] - C[j]
    target = u * total
    acc = 0.0
    last = -1
    for j in range(T):
        w = C[j + 1] - C[j]
        if w <= 0.0 or in_sorted(ids, 0, n, j):
            continue
        last = j
        acc += w
        if acc > target:
            return j
    return last


@nb.njit(parallel=True, cache=True)
def _sample_rows(C1, C2, n1, n2, users, key, rows, k, ex_ptr, ex_idx, out_i, out_s):
    """Per user, k items without replacement: by weight from tier 1 (C1) while it has items
    left, then uniformly from tier 2 (C2, the allowed weightless items)."""
    T = len(C1) - 1
    for r in nb.prange(len(users)):
        e = rows[r]
        lo, hi = ex_ptr[e], ex_ptr[e + 1]
        cap = hi - lo + k
        ids1 = np.empty(cap, np.int64)
        ids2 = np.empty(cap, np.int64)
        mass1 = np.zeros(cap + 1, np.float64)
        mass2 = np.zeros(cap + 1, np.float64)
        m1 = 0
        m2 = 0
        for p in range(lo, hi):           # exclusions, sorted and unique: removed from their tier
            j = ex_idx[p]
            if j < 0 or j >= T:
                continue
            if C1[j + 1] > C1[j]:
                ids1[m1] = j
                m1 += 1
            elif C2[j + 1] > C2[j]:
                ids2[m2] = j
                m2 += 1
        _rebuild_mass(ids1, m1, C1, mass1)
        _rebuild_mass(ids2, m2, C2, mass2)
        u_id = users[r]
        got = 0
        for d in range(k):
            u = hash_uniform(key, u_id, d)
            if m1 < n1:
                j = _take(C1, ids1, mass1, m1, u)
                m1 += 1
            elif m2 < n2:
                j = _take(C2, ids2, mass2, m2, u)
                m2 += 1
            else:
                break
            out_i[r, got] = j
            out_s[r, got] = np.float32(-got)
            got += 1
        for t in range(got, k):
            out_i[r, t] = -1
            out_s[r, t] = -np.inf


@nb.njit(inline="always")
def _take(C, ids, mass, n, u):
    """Draw an item among those not removed (`_draw`, or `_draw_scan` if rounding fails) and add
    it to the n removed ones; returns the item."""
    j = _draw(C, ids, mass, n, u)
    if j < 0:
        j = _draw_scan(C, ids, n, u)
    _insert(ids, n, j)
    _rebuild_mass(ids, n + 1, C, mass)
    return j


@nb.njit(inline="always")
def _insert(ids, n, j):
    """Insert j into the sorted ids[:n]; return n + 1."""
    pos = n
    while pos > 0 and ids[pos - 1] > j:
        ids[pos] = ids[pos - 1]
        pos -= 1
    ids[pos] = j
    return n + 1


def topk_sampled(weights: np.ndarray, temperature: float, users: np.ndarray, key: int,
                 rows: np.ndarray, k: int, ex_ptr: np.ndarray, ex_idx: np.ndarray,
                 mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """k items per user sampled without replacement with probability ∝ weight^(1/temperature).

    Successive draws, each by weight among the items not yet drawn or excluded (the
    Plackett-Luce law, the same as the Gumbel-top-k of ``log(w)/T + Gumbel noise``), each a
    binary search in the cumulative weights: O(k (k + log T)) per user instead of O(T). The
    uniform of draw d of user u is a hash of (key, u, d), so a slate depends on the key and user
    only, whatever the thread count. Allowed items of zero weight are drawn, uniformly, only
    once every weighted item is drawn or excluded. Scores are minus the draw rank (0, -1, ...).
    Temperature 0 is the plain top-k of the weights.
    """
    if temperature <= 0:
        return topk_shared(weights, rows, k, ex_ptr, ex_idx, mask)
    w = np.zeros(len(mask), np.float64)
    n = min(len(weights), len(mask))
    w[:n] = np.asarray(weights, np.float64)[:n]
    w[~mask] = 0.0
    if np.isinf(temperature):                  # weight^0: every allowed item alike
        w1 = mask.astype(np.float64)
    else:
        pos = w > 0
        logw = np.log(w, out=np.full(len(w), -np.inf), where=pos)
        w1 = np.exp((logw - logw[pos].max(initial=0.0)) / temperature)   # max weight 1: no overflow
    pos = w1 > 0
    C1 = np.concatenate([[0.0], np.cumsum(w1)])
    C2 = np.concatenate([[0.0], np.cumsum((mask & ~pos).astype(np.float64))])
    m = len(users)
    out_i = np.empty((m, k), np.int32)
    out_s = np.empty((m, k), np.float32)
    if m and k > 0:
        _sample_rows(C1, C2, int(pos.sum()), int((mask & ~pos).sum()), np.asarray(users, np.int64),
                     np.uint64(key), np.asarray(rows, np.int64), k, ex_ptr, ex_idx, out_i, out_s)
    return out_i, out_s

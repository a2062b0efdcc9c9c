"""The measures behind the metrics, as pure functions over arrays.

Distribution summaries (Gini, top shares, Lorenz, effective numbers), consumption sets and
their similarity (Jaccard, diversity), and recommender quality (precision, nDCG, regret).
The metric columns themselves are declared in :mod:`streamsim.measures.builtin`.

Costs stay linear in exposures: bincounts, one pass over the stream table, and sampled
listener pairs and listeners; no Python loop over listeners or events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from streamsim.core.utility import mean_ranks, popularity_percentile

from streamsim.economics.tables import StreamTable, sum_by
from streamsim.recommender.serving import exclusion_rows, in_sorted


# ---------------------------------------------------------------- distribution summaries

def _safe_div(num: float, den: float) -> float:
    """num / den, or 0.0 when the denominator is zero (an undefined share is written as 0)."""
    return float(num) / float(den) if den > 0 else 0.0


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values, zeros included; 0.0 if empty or all zero.

    ``G = 2·Σ i·x_(i) / (n·Σx) − (n+1)/n`` over the ascending order statistics (i = 1..n),
    so one holder of everything among n gives (n−1)/n.
    """
    x = np.sort(np.asarray(values, np.float64))
    n = len(x)
    total = x.sum()
    if n == 0 or total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(2.0 * np.dot(ranks, x) / (n * total) - (n + 1) / n)


def top_share(values: np.ndarray, q: float) -> float:
    """Share of the total held by the largest ``ceil(q·n)`` values (at least one); 0.0 if total is 0."""
    x = np.asarray(values, np.float64)
    total = x.sum()
    if len(x) == 0 or total <= 0:
        return 0.0
    k = min(len(x), max(1, math.ceil(q * len(x) - 1e-9)))
    top = np.partition(x, len(x) - k)[len(x) - k:]
    return float(top.sum() / total)


def lorenz(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve: (population share, cumulative value share), n+1 points from (0, 0) to (1, 1).

    With a zero total the curve is the line of equality (consistent with a Gini of 0).
    """
    x = np.sort(np.asarray(values, np.float64))
    n = len(x)
    pop = np.linspace(0.0, 1.0, n + 1)
    total = x.sum()
    if total <= 0:
        return pop, pop.copy()
    return pop, np.concatenate([[0.0], np.cumsum(x) / total])


def shannon_effective(counts: np.ndarray) -> float:
    """Effective number of kinds: exp of the Shannon entropy (nats) of the counts; 0.0 if none."""
    c = np.asarray(counts, np.float64)
    total = c.sum()
    if total <= 0:
        return 0.0
    p = c[c > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def mean_pairwise_cosine_distance(vectors: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean of ``1 − cos(a, b)`` over the unordered pairs of vectors within each group.

    Computed in O(n·d) from the group sums: for unit rows, ``Σ_{i≠j} s_i·s_j = |Σ s|² − Σ|s|²``.
    Rows are normalised first; groups with fewer than two rows get 0.0.

    Args:
        vectors: (n, d) rows.
        group: int[n] group of each row.
        n_groups: number of groups.
    Returns:
        float64[n_groups] mean pairwise cosine distance (0 = identical, 1 = orthogonal, 2 = opposite).
    """
    v = np.asarray(vectors, np.float64)
    norms = np.linalg.norm(v, axis=1, keepdims=True) if v.size else np.ones((len(v), 1))
    u = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    count = np.bincount(group, minlength=n_groups).astype(np.float64)
    self_dot = sum_by(group, np.einsum("ij,ij->i", u, u), n_groups)
    sums = np.stack([sum_by(group, u[:, j], n_groups) for j in range(u.shape[1])], axis=1) \
        if u.shape[1] else np.zeros((n_groups, 0))
    cross = np.einsum("ij,ij->i", sums, sums) - self_dot
    pairs = count * (count - 1.0)
    return np.where(pairs > 0, 1.0 - np.divide(cross, pairs, out=np.zeros(n_groups), where=pairs > 0), 0.0)


# ---------------------------------------------------------------- consumption sets

@dataclass
class Consumption:
    """Each listener's streamed tracks as CSR rows with sorted track ids (from a StreamTable).

    Attributes:
        indptr: int64[L+1] row starts.
        tracks: int32[nnz] sorted track ids within each row.
    """

    indptr: np.ndarray
    tracks: np.ndarray

    @classmethod
    def of(cls, table: StreamTable, n_listeners: int, n_tracks: int) -> Consumption:
        """Rows of a table with streams > 0, sorted by (listener, track) if not already."""
        keep = table.streams > 0
        lis, trk = table.listener[keep].astype(np.int64), table.track[keep].astype(np.int64)
        key = lis * max(n_tracks, 1) + trk
        if len(key) > 1 and np.any(key[1:] <= key[:-1]):
            key = np.unique(key)
            lis, trk = key // max(n_tracks, 1), key % max(n_tracks, 1)
        indptr = np.zeros(n_listeners + 1, np.int64)
        np.cumsum(np.bincount(lis, minlength=n_listeners)[:n_listeners], out=indptr[1:])
        return cls(indptr, trk.astype(np.int32))

    def sizes(self) -> np.ndarray:
        """Distinct tracks streamed by each listener."""
        return np.diff(self.indptr)


@numba.njit(cache=True)
def _jaccard_pairs(indptr, tracks, a, b):
    out = np.zeros(len(a))
    for p in range(len(a)):
        i, j = indptr[a[p]], indptr[b[p]]
        ie, je = indptr[a[p] + 1], indptr[b[p] + 1]
        size = (ie - i) + (je - j)
        inter = 0
        while i < ie and j < je:
            if tracks[i] == tracks[j]:
                inter += 1
                i += 1
                j += 1
            elif tracks[i] < tracks[j]:
                i += 1
            else:
                j += 1
        union = size - inter
        out[p] = inter / union if union > 0 else 0.0
    return out


def jaccard_mean(sets: Consumption, pairs: np.ndarray) -> float:
    """Mean Jaccard similarity ``|A∩B| / |A∪B|`` of the consumption sets of listener pairs.

    Args:
        sets: consumption rows.
        pairs: int (n, 2) listener ids. Two empty sets count as 0; no pairs gives 0.0.
    """
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    if len(pairs) == 0:
        return 0.0
    return float(_jaccard_pairs(sets.indptr, sets.tracks, pairs[:, 0], pairs[:, 1]).mean())


def random_pairs(candidates: np.ndarray, n_pairs: int, rng: np.random.Generator) -> np.ndarray:
    """``n_pairs`` pairs of distinct candidates drawn uniformly (with replacement across pairs)."""
    c = np.asarray(candidates)
    m = len(c)
    if m < 2 or n_pairs <= 0:
        return np.zeros((0, 2), np.int64)
    a = rng.integers(0, m, n_pairs)
    b = (a + rng.integers(1, m, n_pairs)) % m
    return np.stack([c[a], c[b]], axis=1).astype(np.int64)


def taste_pairs(candidates: np.ndarray, taste: np.ndarray, n_pairs: int, rng: np.random.Generator,
                pool_factor: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Similar and dissimilar listener pairs by true-taste cosine.

    Draws ``pool_factor·n_pairs`` random pairs and returns the ``n_pairs`` with the highest
    cosine of taste (similar) and the ``n_pairs`` with the lowest (dissimilar): the top and
    bottom tenth of random pairs with the default factor.
    """
    pool = random_pairs(candidates, pool_factor * n_pairs, rng)
    if len(pool) == 0:
        empty = np.zeros((0, 2), np.int64)
        return empty, empty
    t = np.asarray(taste, np.float64)
    ta, tb = t[pool[:, 0]], t[pool[:, 1]]
    norms = np.linalg.norm(ta, axis=1) * np.linalg.norm(tb, axis=1)
    cos = np.divide(np.einsum("ij,ij->i", ta, tb), norms, out=np.zeros(len(pool)), where=norms > 0)
    order = np.argsort(cos, kind="stable")
    n = min(n_pairs, len(pool))
    return pool[order[len(pool) - n:]], pool[order[:n]]


def individual_diversity(sets: Consumption, style: np.ndarray, listeners: np.ndarray) -> float:
    """Mean over listeners of the mean pairwise cosine distance of the styles they streamed.

    Distinct tracks count once. Listeners with fewer than two distinct tracks are skipped;
    0.0 if none is left.
    """
    listeners = np.asarray(listeners, np.int64)
    sizes = sets.sizes()[listeners]
    listeners = listeners[sizes >= 2]
    if len(listeners) == 0:
        return 0.0
    starts, ends = sets.indptr[listeners], sets.indptr[listeners + 1]
    lengths = ends - starts
    group = np.repeat(np.arange(len(listeners)), lengths)
    idx = np.repeat(starts - np.cumsum(np.concatenate([[0], lengths[:-1]])), lengths) + np.arange(lengths.sum())
    div = mean_pairwise_cosine_distance(np.asarray(style)[sets.tracks[idx]], group, len(listeners))
    return float(div.mean())


def activity_mainstream_rho(table: StreamTable, artist_streams: np.ndarray, human: np.ndarray) -> float:
    """Correlation, over the human listeners who streamed, between the rank of a listener's
    streams and the stream-weighted mean global popularity percentile of the artists streamed.

    The percentile π_a of an artist is its rank among all artists by ``artist_streams``
    (:func:`streamsim.core.utility.popularity_percentile`): a listener's mean π is a
    rank-based mainstreaminess in the sense of Bauer & Schedl (2019), by which Kowald et al. (2020)
    split users into low- and high-mainstream groups. The volume enters by its rank (streams are
    heavy-tailed), the mean by its value: a mean of n draws from the left-skewed distribution of
    π has the same expectation whatever n, but not the same median, so ranking it as well
    (Spearman's ρ) would make light listeners look more mainstream than heavy ones even when every
    listener draws from the same distribution (about −0.09 on the baseline's streams shuffled
    across listeners). Pearson's r of rank(streams) with the mean is zero in expectation then.
    0.0 when undefined (fewer than three listeners, or a constant side).

    Args:
        table: the epoch's streams per (listener, track), with each track's artist.
        artist_streams: streams of every artist this epoch (the global popularity).
        human: bool per listener id, False for stream-farm bots.
    """
    if len(table) == 0:
        return 0.0
    n = int(table.listener.max()) + 1
    pct = popularity_percentile(artist_streams)
    streams = sum_by(table.listener, table.streams, n)
    weighted = sum_by(table.listener, table.streams * pct[table.artist], n)
    keep = np.flatnonzero((streams > 0) & np.asarray(human, bool)[:n])
    if len(keep) < 3:
        return 0.0
    x, y = mean_ranks(streams[keep]), weighted[keep] / streams[keep]
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def style_dispersion(style: np.ndarray) -> float:
    """Mean pairwise cosine distance among a set of styles (e.g. this epoch's releases); 0.0 if < 2."""
    s = np.asarray(style)
    if len(s) < 2:
        return 0.0
    return float(mean_pairwise_cosine_distance(s, np.zeros(len(s), np.int64), 1)[0])


# ---------------------------------------------------------------- recommender quality

@numba.njit(cache=True)
def _slate_hits(indptr, tracks, users, items, k):
    n = items.shape[0]
    hits = np.zeros((n, k), np.bool_)
    width = min(k, items.shape[1])
    for r in range(n):
        u = users[r]
        if u < 0 or u + 1 >= len(indptr):
            continue
        lo, hi = indptr[u], indptr[u + 1]
        for c in range(width):
            item = items[r, c]
            if item < 0:
                continue
            repeat = False
            for c0 in range(c):
                if items[r, c0] == item:
                    repeat = True
            if repeat:
                continue
            hits[r, c] = in_sorted(tracks, lo, hi, item)
    return hits


def slate_hits(sets: Consumption, users: np.ndarray, items: np.ndarray, k: int) -> np.ndarray:
    """bool (n, k): the c-th slate item of row r was streamed by ``users[r]``.

    Pads (-1) and repeats of an item earlier in the same row are never hits.
    """
    items = _rows(items, len(users))
    return _slate_hits(sets.indptr, sets.tracks, np.asarray(users, np.int64), items, k)


@numba.njit(cache=True)
def _drop_seen(items, ptr, idx):
    """Each row of ``items`` without the items in its sorted exclusion segment, moved up, -1 padded."""
    out = np.full(items.shape, -1, np.int64)
    for r in range(items.shape[0]):
        w = 0
        for c in range(items.shape[1]):
            item = items[r, c]
            if item >= 0 and not in_sorted(idx, ptr[r], ptr[r + 1], item):
                out[r, w] = item
                w += 1
    return out


@numba.njit(cache=True)
def _count_unseen(indptr, tracks, users, ptr, idx):
    """For each user, the streamed tracks outside its sorted exclusion segment."""
    out = np.zeros(len(users), np.int64)
    for r in range(len(users)):
        u = users[r]
        if u < 0 or u + 1 >= len(indptr):
            continue
        for j in range(indptr[u], indptr[u + 1]):
            if not in_sorted(idx, ptr[r], ptr[r + 1], tracks[j]):
                out[r] += 1
    return out


def unseen(sets: Consumption, users: np.ndarray, items: np.ndarray,
           seen: sp.spmatrix | None) -> tuple[np.ndarray, np.ndarray]:
    """Slates and streams restricted to what the model had not seen for each listener.

    Args:
        sets: this epoch's streams.
        users: the listener of each slate row.
        items: slates in rank order (-1 padded).
        seen: the matrix the model was fitted on; its nonzeros in a listener's row are the items
            it has seen for that listener (None: nothing seen).
    Returns:
        (the slates with seen items removed and the rest moved up, the number of tracks each
        listener streamed that the model had not seen).
    """
    users = np.asarray(users, np.int64)
    ptr, idx = exclusion_rows(seen, users)
    return _drop_seen(_rows(items, len(users)), ptr, idx), _count_unseen(sets.indptr, sets.tracks, users, ptr, idx)


def precision_at_k(sets: Consumption, users: np.ndarray, items: np.ndarray, k: int,
                   seen: sp.spmatrix | None = None) -> float:
    """Mean over users who streamed anything unseen of (streamed items among the first k) / k; 0.0 if none.

    Items the model had seen for the user (nonzeros of ``seen``, the matrix it was fitted on) are
    removed from the slate, and streams of them do not count: the model is scored only on what
    it had to predict.
    """
    users = np.asarray(users, np.int64)
    items, relevant = unseen(sets, users, items, seen)
    rel = relevant > 0
    if not rel.any():
        return 0.0
    hits = slate_hits(sets, users[rel], items[rel], k)
    return float(hits.sum(axis=1).mean() / k)


def ndcg_at_k(sets: Consumption, users: np.ndarray, items: np.ndarray, k: int,
              seen: sp.spmatrix | None = None) -> float:
    """Mean binary nDCG@k over users who streamed anything unseen; 0.0 if none.

    ``DCG = Σ_c hit_c / log2(c + 2)``; the ideal DCG puts ``min(k, unseen streamed tracks)`` hits
    first. Seen items are removed as in :func:`precision_at_k`.
    """
    users = np.asarray(users, np.int64)
    items, relevant = unseen(sets, users, items, seen)
    rel = relevant > 0
    if not rel.any():
        return 0.0
    hits = slate_hits(sets, users[rel], items[rel], k)
    discount = 1.0 / np.log2(np.arange(k) + 2.0)
    dcg = hits @ discount
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(relevant[rel], k)]
    return float(np.mean(dcg / ideal))


def regret(oracle_utility: np.ndarray, served_utility: np.ndarray) -> float:
    """Mean of the oracle's slate utility minus the served slate's, per listener; 0.0 if none."""
    o = np.asarray(oracle_utility, np.float64)
    if len(o) == 0:
        return 0.0
    return float(np.mean(o - np.asarray(served_utility, np.float64)))



def _rows(items: np.ndarray, n: int) -> np.ndarray:
    """Slates as an int64 (n, K) matrix (K = 0 when there are no rows)."""
    a = np.asarray(items, np.int64)
    if a.ndim == 2:
        return a
    return a.reshape(n, -1) if n else np.zeros((0, 0), np.int64)


def t_quantile(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (nan if df < 1)."""
    if df < 1:
        return math.nan
    from scipy import stats

    return float(stats.t.ppf(0.975, df))


def mean_interval(x: np.ndarray) -> tuple[float, float]:
    """Mean and 95 % t half-width of a sample (e.g. one value per seed)."""
    x = np.asarray(x, float)
    return float(x.mean()), t_quantile(len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))

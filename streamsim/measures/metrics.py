"""Per-epoch metrics as pure functions over arrays, and the gatherer of one metrics row.

The model fills an :class:`EpochInputs` (flat arrays, no model objects) and calls
:func:`collect` for the row of ``metrics.parquet`` and :func:`artist_rows` for the epoch's
rows of ``artists.parquet``. Every value is finite: where a metric is undefined (a share of
zero streams, precision with no slate) a documented value, usually 0.0, is written instead.
Every column, its unit and formula are in docs/MODEL.md (section 5).

Costs stay linear in exposures: bincounts, one pass over the stream table, and sampled
listener pairs and listeners; no Python loop over listeners or events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np

from streamsim.recommender.serving import in_sorted
from streamsim.core.config import CHANNELS, RULES
from streamsim.economics.payouts import EPOCHS_PER_MONTH, StreamTable, as_table, distinct_counts, sum_by, unpaid

TIER_SUPERSTAR, TIER_ESTABLISHED, TIER_EMERGING = 0, 1, 2
EARLY_SKIP_S = 5.0
SKIP_S = 30.0


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


def precision_at_k(sets: Consumption, users: np.ndarray, items: np.ndarray, k: int) -> float:
    """Mean over users who streamed anything of (streamed items among the first k) / k; 0.0 if none."""
    users = np.asarray(users, np.int64)
    rel = _relevant_rows(sets, users)
    if not rel.any():
        return 0.0
    hits = slate_hits(sets, users[rel], np.asarray(items)[rel], k)
    return float(hits.sum(axis=1).mean() / k)


def ndcg_at_k(sets: Consumption, users: np.ndarray, items: np.ndarray, k: int) -> float:
    """Mean binary nDCG@k over users who streamed anything; 0.0 if none.

    ``DCG = Σ_c hit_c / log2(c + 2)``; the ideal DCG puts ``min(k, streamed tracks)`` hits first.
    """
    users = np.asarray(users, np.int64)
    rel = _relevant_rows(sets, users)
    if not rel.any():
        return 0.0
    users = users[rel]
    hits = slate_hits(sets, users, np.asarray(items)[rel], k)
    discount = 1.0 / np.log2(np.arange(k) + 2.0)
    dcg = hits @ discount
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(sets.sizes()[users], k)]
    return float(np.mean(dcg / ideal))


def _relevant_rows(sets: Consumption, users: np.ndarray) -> np.ndarray:
    n = len(sets.indptr) - 1
    ok = (users >= 0) & (users < n)
    out = np.zeros(len(users), bool)
    out[ok] = sets.sizes()[users[ok]] > 0
    return out


def slate_utility(users: np.ndarray, items: np.ndarray, taste: np.ndarray, style: np.ndarray,
                  quality: np.ndarray, w_taste: float, w_quality: float, k: int) -> np.ndarray:
    """Mean noise-free true utility of the first k items of each slate row; pads (-1) ignored.

    Utility is ``w_taste·cos(taste, style) + w_quality·quality`` (agents.world.expected_utility).
    Rows without any item get 0.0.
    """
    items = _rows(items, len(users))[:, :k]
    valid = items >= 0
    if not valid.any():
        return np.zeros(len(users))
    safe = np.where(valid, items, 0)
    t = np.asarray(taste, np.float64)[np.asarray(users, np.int64)]
    s = np.asarray(style, np.float64)[safe]
    tn = np.linalg.norm(t, axis=1)[:, None]
    sn = np.linalg.norm(s, axis=2)
    dot = np.einsum("nd,nkd->nk", t, s)
    cos = np.divide(dot, tn * sn, out=np.zeros_like(dot), where=(tn * sn) > 0)
    u = w_taste * cos + w_quality * np.asarray(quality, np.float64)[safe]
    n_valid = valid.sum(axis=1)
    return np.divide((u * valid).sum(axis=1), n_valid, out=np.zeros(len(users)), where=n_valid > 0)


def regret(oracle_utility: np.ndarray, served_utility: np.ndarray) -> float:
    """Mean of the oracle's slate utility minus the served slate's, per listener; 0.0 if none."""
    o = np.asarray(oracle_utility, np.float64)
    if len(o) == 0:
        return 0.0
    return float(np.mean(o - np.asarray(served_utility, np.float64)))


# ---------------------------------------------------------------- the epoch's inputs

def _rows(items: np.ndarray, n: int) -> np.ndarray:
    """Slates as an int64 (n, K) matrix (K = 0 when there are no rows)."""
    a = np.asarray(items, np.int64)
    if a.ndim == 2:
        return a
    return a.reshape(n, -1) if n else np.zeros((0, 0), np.int64)


def _i32(n: int = 0) -> np.ndarray:
    return np.zeros(n, np.int32)


@dataclass
class EpochInputs:
    """Everything one epoch's metrics need, as flat arrays (E exposures, T tracks, A artists,
    L listeners, d style dimensions). Filled by the model after listeners.update().

    Attributes:
        epoch: the epoch (week) number.
        ev_listener, ev_track: int32[E] ids of each exposure (one exposure = one impression = one play).
        ev_channel: int8[E] index into sim.config.CHANNELS.
        ev_seconds: float32[E] seconds played.
        ev_utility: float32[E] realised true utility.
        ev_stream: bool[E] royalty-bearing stream (seconds >= stream_threshold_s).
        ev_completed: bool[E] played to the end (seconds >= track length).
        table: the epoch's streams per (listener, track) (ledger.streams_table()), consistent
            with ``ev_stream``.
        track_artist: int32[T] artist of each track.
        track_release_epoch: int32[T] release epoch (negative for the back catalog).
        track_length_s, track_intro_s: float32[T] length and time to the hook (s).
        track_style: float32[T, d] hidden style (unit rows).
        track_quality: float32[T] intrinsic quality.
        track_fraud: bool[T] stream-farm track.
        track_streams_total: float[T] lifetime streams, this epoch included.
        artist_tier: int8[A] 0 superstar, 1 established, 2 emerging.
        artist_major: bool[A] signed to a major label.
        artist_entry_epoch: int32[A] epoch the artist entered (<= 0 for the initial population).
        listener_active: bool[L] active at the end of the epoch (after churn and arrivals).
        listener_taste: float32[L, d] hidden taste (unit rows).
        listener_satisfaction: float32[L] satisfaction state.
        new_listeners: listeners who joined in this epoch's update.
        churned_listeners: listeners who churned in this epoch's update.
        revenue: float64[L] gross revenue per listener this epoch (payouts.listener_revenue).
        pool: the rights-holder pool (payouts.pool_of).
        payouts: {rule: float64[T]} from payouts.settle_all, every rule of sim.config.RULES.
        living_usd_epoch: an artist payout per epoch counted as a living (living_usd_month / (52/12)).
        reach_streams: lifetime streams that count as "reaching 1,000 streams", in simulated
            units (payouts.threshold_bar with a full window).
        rec_fit_seconds, rec_train_loss: from the recommender's FitInfo (non-finite -> 0.0).
        slate_users: int32[n] listeners served a personalised slate this epoch.
        slate_items: int32[n, K] their slates in rank order, -1 padded.
        prev_slate_users, prev_slate_items: the previous epoch's slates (empty at epoch 0),
            scored against this epoch's streams for precision and nDCG.
        oracle_users: int32[m] listeners for regret (a sample of slate_users).
        oracle_utility: float64[m] mean noise-free true utility of the oracle's top-k slate for
            them, under the same serving filters (see slate_utility); empty = regret 0.0.
        w_taste, w_quality: utility weights (listeners.behaviour).
        seed: seed of the metric sampling (pairs, listeners); same seed, same row.
        jaccard_pairs, diversity_listeners, eval_listeners, k: sample sizes and cut-off
            (MetricsConfig).
        new_window_epochs: an artist is new, and a release recent, for this many epochs.
    """

    epoch: int = 0
    ev_listener: np.ndarray = field(default_factory=_i32)
    ev_track: np.ndarray = field(default_factory=_i32)
    ev_channel: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    ev_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    ev_utility: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    ev_stream: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    ev_completed: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    table: StreamTable = field(default_factory=StreamTable.empty)
    track_artist: np.ndarray = field(default_factory=_i32)
    track_release_epoch: np.ndarray = field(default_factory=_i32)
    track_length_s: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    track_intro_s: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    track_style: np.ndarray = field(default_factory=lambda: np.zeros((0, 8), np.float32))
    track_quality: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    track_fraud: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    track_streams_total: np.ndarray = field(default_factory=lambda: np.zeros(0))
    artist_tier: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    artist_major: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    artist_entry_epoch: np.ndarray = field(default_factory=_i32)
    listener_active: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    listener_taste: np.ndarray = field(default_factory=lambda: np.zeros((0, 8), np.float32))
    listener_satisfaction: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    new_listeners: int = 0
    churned_listeners: int = 0
    revenue: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pool: float = 0.0
    payouts: dict[str, np.ndarray] = field(default_factory=dict)
    living_usd_epoch: float = 1000.0 / EPOCHS_PER_MONTH
    reach_streams: float = 1000.0
    rec_fit_seconds: float = 0.0
    rec_train_loss: float = 0.0
    slate_users: np.ndarray = field(default_factory=_i32)
    slate_items: np.ndarray = field(default_factory=lambda: np.zeros((0, 10), np.int32))
    prev_slate_users: np.ndarray = field(default_factory=_i32)
    prev_slate_items: np.ndarray = field(default_factory=lambda: np.zeros((0, 10), np.int32))
    oracle_users: np.ndarray = field(default_factory=_i32)
    oracle_utility: np.ndarray = field(default_factory=lambda: np.zeros(0))
    w_taste: float = 2.0
    w_quality: float = 0.5
    seed: int = 0
    jaccard_pairs: int = 2000
    diversity_listeners: int = 1000
    eval_listeners: int = 2000
    k: int = 10
    new_window_epochs: int = 52


# ---------------------------------------------------------------- shared per-artist columns

def _new_artist(inp: EpochInputs) -> np.ndarray:
    """Artists who entered within the last new_window_epochs epochs, after the start (epoch > 0)."""
    return np.asarray(inp.artist_entry_epoch) > max(inp.epoch - inp.new_window_epochs, 0)


def _release_mask(inp: EpochInputs) -> np.ndarray:
    return np.asarray(inp.track_release_epoch) == inp.epoch


def _artist_columns(inp: EpochInputs, table: StreamTable) -> dict[str, np.ndarray]:
    """Per-artist streams, unique listeners, impressions and this epoch's releases."""
    n_a = len(inp.artist_tier)
    n_l = len(inp.listener_active)
    lis, art = table.listener, table.artist
    streamed = table.streams > 0
    if not streamed.all():
        lis, art = lis[streamed], art[streamed]
    listeners, per_listener = distinct_counts(lis, art, max(n_l, int(table.listener.max(initial=-1)) + 1), n_a)
    track_artist = np.asarray(inp.track_artist)
    released = _release_mask(inp)
    rel_artist = track_artist[released]
    n_rel = np.bincount(rel_artist, minlength=n_a)[:n_a]
    return {
        "streams": sum_by(table.artist, table.streams, n_a),
        "unique_listeners": listeners,
        "artists_of_listener": per_listener,
        "impressions": np.bincount(track_artist[inp.ev_track], minlength=n_a)[:n_a].astype(np.int64),
        "tracks_released": n_rel.astype(np.int64),
        "release_mean_length_s": np.divide(sum_by(rel_artist, np.asarray(inp.track_length_s)[released], n_a),
                                           n_rel, out=np.zeros(n_a), where=n_rel > 0),
        "release_mean_intro_s": np.divide(sum_by(rel_artist, np.asarray(inp.track_intro_s)[released], n_a),
                                          n_rel, out=np.zeros(n_a), where=n_rel > 0),
    }


def artist_rows(inp: EpochInputs) -> dict[str, np.ndarray]:
    """The epoch's rows of artists.parquet, one per artist, as a dict of equal-length columns.

    Columns: epoch, artist_id, tier, major_label, entry_epoch, streams, unique_listeners,
    impressions, tracks_released (this epoch), release_mean_length_s and release_mean_intro_s
    (of this epoch's releases; 0.0 without any), and payout_<rule> (USD) for every rule.
    """
    table = as_table(inp.table)
    n_a = len(inp.artist_tier)
    cols = _artist_columns(inp, table)
    out = {
        "epoch": np.full(n_a, inp.epoch, np.int32),
        "artist_id": np.arange(n_a, dtype=np.int32),
        "tier": np.asarray(inp.artist_tier, np.int8),
        "major_label": np.asarray(inp.artist_major, bool),
        "entry_epoch": np.asarray(inp.artist_entry_epoch, np.int32),
    }
    for name in ("streams", "unique_listeners", "impressions", "tracks_released",
                 "release_mean_length_s", "release_mean_intro_s"):
        out[name] = cols[name]
    for rule in RULES:
        paid = inp.payouts.get(rule, np.zeros(len(inp.track_artist)))
        out[f"payout_{rule}"] = sum_by(inp.track_artist, paid, n_a)
    return out


# ---------------------------------------------------------------- the row

def _payout_columns(inp: EpochInputs, rule: str, streams_per_track: np.ndarray) -> dict[str, float]:
    n_a = len(inp.artist_tier)
    paid = np.asarray(inp.payouts.get(rule, np.zeros(len(inp.track_artist))), np.float64)
    total = paid.sum()
    per_artist = sum_by(inp.track_artist, paid, n_a)
    paid_streams = streams_per_track[paid > 0].sum()
    return {
        f"payout_gini_{rule}": gini(per_artist),
        f"payout_top1_share_{rule}": top_share(per_artist, 0.01),
        f"payout_top10_share_{rule}": top_share(per_artist, 0.10),
        f"payout_emerging_share_{rule}": _safe_div(per_artist[np.asarray(inp.artist_tier) == TIER_EMERGING].sum(),
                                                   total),
        f"artists_above_living_{rule}": float(np.sum((per_artist > 0) & (per_artist >= inp.living_usd_epoch))),
        f"per_stream_value_{rule}": _safe_div(total, paid_streams),
        f"fraud_share_{rule}": _safe_div(paid[np.asarray(inp.track_fraud, bool)].sum(), total),
        f"unpaid_{rule}": unpaid(paid, inp.pool),
    }


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else 0.0


def collect(inp: EpochInputs) -> dict[str, float]:
    """One row of metrics.parquet: every column of docs/MODEL.md (section 5), all finite."""
    rng = np.random.default_rng(inp.seed)
    table = as_table(inp.table)
    n_t = len(inp.track_artist)
    n_l = len(inp.listener_active)
    tier = np.asarray(inp.artist_tier)
    emerging = tier == TIER_EMERGING

    plays = len(inp.ev_listener)
    stream = np.asarray(inp.ev_stream, bool)
    completed = np.asarray(inp.ev_completed, bool)
    seconds = np.asarray(inp.ev_seconds)
    streams = int(stream.sum())
    active = int(np.sum(inp.listener_active))
    at_start = max(active - inp.new_listeners + inp.churned_listeners, 0)

    row: dict[str, float] = {
        "epoch": float(inp.epoch),
        "active_listeners": float(active),
        "new_listeners": float(inp.new_listeners),
        "churned_listeners": float(inp.churned_listeners),
        "catalog_tracks": float(n_t),
        "new_tracks": float(np.sum(_release_mask(inp))),
        "plays": float(plays),
        "streams": float(streams),
        "skip_share_5s": _safe_div(np.sum(~completed & (seconds < EARLY_SKIP_S)), plays),
        "skip_share_30s": _safe_div(np.sum(~completed & (seconds < SKIP_S)), plays),
        "skip_share_before_end": _safe_div(np.sum(~completed), plays),
        "streams_per_listener": _safe_div(streams, at_start),
    }
    by_channel = np.bincount(np.asarray(inp.ev_channel, np.int64)[stream], minlength=len(CHANNELS))
    for c, name in enumerate(CHANNELS):
        row[f"channel_share_{name}"] = _safe_div(by_channel[c], streams)

    cols = _artist_columns(inp, table)
    row["artists_per_listener"] = _safe_div(cols["artists_of_listener"].sum(), at_start)

    revenue = float(np.sum(inp.revenue, dtype=np.float64))
    row["revenue"] = revenue
    row["pool"] = float(inp.pool)
    streams_per_track = sum_by(table.track, table.streams, n_t)
    for rule in RULES:
        row.update(_payout_columns(inp, rule, streams_per_track))

    artist_streams = cols["streams"]
    row["stream_gini_artists"] = gini(artist_streams)
    row["stream_top1_share_artists"] = top_share(artist_streams, 0.01)
    row["stream_top10_share_artists"] = top_share(artist_streams, 0.10)

    total_streams = artist_streams.sum()
    row["emerging_stream_share"] = _safe_div(artist_streams[emerging].sum(), total_streams)
    row["emerging_impression_share"] = _safe_div(cols["impressions"][emerging].sum(), plays)
    row["new_artist_stream_share"] = _safe_div(artist_streams[_new_artist(inp)].sum(), total_streams)
    row["emerging_mean_unique_listeners"] = (float(cols["unique_listeners"][emerging].mean())
                                             if emerging.any() else 0.0)
    total_after = np.asarray(inp.track_streams_total, np.float64)[:n_t]
    before = total_after - streams_per_track
    recent = np.asarray(inp.track_release_epoch) > inp.epoch - inp.new_window_epochs
    row["new_releases_reaching_threshold"] = float(np.sum(recent & (before < inp.reach_streams)
                                                          & (total_after >= inp.reach_streams)))

    sets = Consumption.of(table, max(n_l, int(table.listener.max(initial=-1)) + 1), n_t)
    streamers = np.flatnonzero(sets.sizes() > 0)
    row["jaccard_random_pairs"] = jaccard_mean(sets, random_pairs(streamers, inp.jaccard_pairs, rng))
    similar, dissimilar = taste_pairs(streamers, inp.listener_taste, inp.jaccard_pairs, rng)
    row["jaccard_similar_pairs"] = jaccard_mean(sets, similar)
    row["jaccard_dissimilar_pairs"] = jaccard_mean(sets, dissimilar)
    row["effective_artists"] = shannon_effective(artist_streams)
    row["effective_tracks"] = shannon_effective(streams_per_track)
    slate = np.asarray(inp.slate_items, np.int64).ravel()
    slate = slate[(slate >= 0) & (slate < n_t)]
    row["rec_coverage"] = _safe_div(np.count_nonzero(np.bincount(slate, minlength=n_t)), n_t)
    sample = _sample(streamers, inp.diversity_listeners, rng)
    row["individual_diversity"] = individual_diversity(sets, inp.track_style, sample)
    released = _release_mask(inp)
    row["release_style_dispersion"] = style_dispersion(np.asarray(inp.track_style)[released])
    row["release_mean_length_s"] = (float(np.mean(np.asarray(inp.track_length_s)[released]))
                                    if released.any() else 0.0)
    row["release_mean_intro_s"] = (float(np.mean(np.asarray(inp.track_intro_s)[released]))
                                   if released.any() else 0.0)

    row["mean_true_utility"] = float(np.mean(inp.ev_utility, dtype=np.float64)) if plays else 0.0
    act = np.asarray(inp.listener_active, bool)
    row["satisfaction_mean"] = (float(np.mean(np.asarray(inp.listener_satisfaction)[act], dtype=np.float64))
                                if act.any() else 0.0)
    row["churn_rate"] = _safe_div(inp.churned_listeners, at_start)

    row["rec_fit_seconds"] = _finite(inp.rec_fit_seconds)
    row["rec_train_loss"] = _finite(inp.rec_train_loss)
    prev_rows = _sample(np.arange(len(inp.prev_slate_users)), inp.eval_listeners, rng)
    prev_users = np.asarray(inp.prev_slate_users, np.int64)[prev_rows]
    prev_items = _rows(inp.prev_slate_items, len(inp.prev_slate_users))[prev_rows]
    row["rec_precision_at_k"] = precision_at_k(sets, prev_users, prev_items, inp.k)
    row["rec_ndcg_at_k"] = ndcg_at_k(sets, prev_users, prev_items, inp.k)
    row["rec_regret_vs_oracle"] = _regret(inp)
    return {name: _finite(row[name]) for name in METRIC_COLUMNS}


def _sample(candidates: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Up to n distinct candidates, sorted (all of them when there are at most n)."""
    c = np.asarray(candidates)
    if len(c) <= n:
        return c
    return np.sort(rng.choice(c, size=n, replace=False))


def _regret(inp: EpochInputs) -> float:
    users = np.asarray(inp.oracle_users, np.int64)
    if len(users) == 0 or len(inp.slate_users) == 0:
        return 0.0
    slate_users = np.asarray(inp.slate_users, np.int64)
    row = np.full(int(max(users.max(), slate_users.max())) + 1, -1, np.int64)
    row[slate_users] = np.arange(len(slate_users))
    rows = row[users]
    ok = rows >= 0
    if not ok.any():
        return 0.0
    items = _rows(inp.slate_items, len(slate_users))[rows[ok]]
    served = slate_utility(users[ok], items, inp.listener_taste, inp.track_style, inp.track_quality,
                           inp.w_taste, inp.w_quality, inp.k)
    return regret(np.asarray(inp.oracle_utility)[ok], served)


METRIC_COLUMNS: tuple[str, ...] = (
    "epoch", "active_listeners", "new_listeners", "churned_listeners", "catalog_tracks", "new_tracks",
    "plays", "streams", "skip_share_5s", "skip_share_30s", "skip_share_before_end",
    "streams_per_listener", "artists_per_listener",
    *(f"channel_share_{c}" for c in CHANNELS),
    "revenue", "pool",
    *(f"{m}_{r}" for r in RULES for m in (
        "payout_gini", "payout_top1_share", "payout_top10_share", "payout_emerging_share",
        "artists_above_living", "per_stream_value", "fraud_share", "unpaid")),
    "stream_gini_artists", "stream_top1_share_artists", "stream_top10_share_artists",
    "emerging_stream_share", "emerging_impression_share", "new_artist_stream_share",
    "emerging_mean_unique_listeners", "new_releases_reaching_threshold",
    "jaccard_random_pairs", "jaccard_similar_pairs", "jaccard_dissimilar_pairs",
    "effective_artists", "effective_tracks", "rec_coverage", "individual_diversity",
    "release_style_dispersion", "release_mean_length_s", "release_mean_intro_s",
    "mean_true_utility", "satisfaction_mean", "churn_rate",
    "rec_fit_seconds", "rec_train_loss", "rec_precision_at_k", "rec_ndcg_at_k", "rec_regret_vs_oracle",
)
"""Every column collect() returns, in order (the contract of metrics.parquet)."""


# ---------------------------------------------------------------- synthetic inputs

def synthetic_inputs(n_listeners: int, n_tracks: int, n_artists: int, n_exposures: int,
                     seed: int = 0, d: int = 8, slate_size: int = 50, epoch: int = 10) -> EpochInputs:
    """Plausible random inputs of one epoch, for tests and benchmarks (not a model of anything).

    Track popularity and artist size are heavy-tailed, exposures pick tracks by popularity,
    seconds played mix early skips, abandonments and completions, and every payout rule is
    settled on the result.
    """
    from streamsim.economics import payouts as P  # noqa: PLC0415 (only the synthetic data needs the rules)
    from streamsim.core.config import PayoutsConfig

    rng = np.random.default_rng(seed)
    artist_weight = rng.lognormal(0.0, 1.5, n_artists)
    track_artist = np.sort(rng.choice(n_artists, n_tracks, p=artist_weight / artist_weight.sum())).astype(np.int32)
    pop = rng.lognormal(0.0, 1.5, n_tracks) * artist_weight[track_artist]
    cdf = np.cumsum(pop / pop.sum())
    ev_track = np.minimum(np.searchsorted(cdf, rng.random(n_exposures)), n_tracks - 1).astype(np.int32)
    ev_listener = rng.integers(0, n_listeners, n_exposures, dtype=np.int32)
    length = rng.normal(215, 45, n_tracks).clip(40, 900).astype(np.float32)
    u = rng.random(n_exposures, dtype=np.float32)
    full = length[ev_track]
    seconds = np.where(u < 0.24, u / 0.24 * 5, np.where(u < 0.35, 5 + (u - 0.24) / 0.11 * 25,
                       np.where(u < 0.49, 30 + (u - 0.35) / 0.14 * (full - 30), full))).astype(np.float32)
    channel = rng.integers(0, len(CHANNELS), n_exposures).astype(np.int8)
    stream = seconds >= 30
    completed = seconds >= full
    sought = np.isin(channel, (CHANNELS.index("library"), CHANNELS.index("search")))
    table = P.StreamTable.from_events(ev_listener, ev_track, stream, sought, track_artist, n_tracks)

    def unit(n: int) -> np.ndarray:
        x = rng.standard_normal((n, d)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    cfg = PayoutsConfig()
    premium = rng.random(n_listeners) < 0.45
    active = rng.random(n_listeners) < 0.97
    revenue = P.listener_revenue(premium, active, cfg)
    track_streams = sum_by(table.track, table.streams, n_tracks)
    scale = P.auto_scale(track_streams, n_tracks)
    trailing = track_streams * 52 * rng.random(n_tracks)
    payouts = P.settle_all(table, revenue, n_tracks, n_artists, cfg, trailing, scale)
    release_epoch = rng.integers(-200, epoch + 1, n_tracks).astype(np.int32)
    users = np.arange(n_listeners, dtype=np.int32)
    fame_rank = np.argsort(np.argsort(-artist_weight))
    tier = np.where(fame_rank < 0.01 * n_artists, 0, np.where(fame_rank < 0.1 * n_artists, 1, 2)).astype(np.int8)
    oracle_users = np.sort(rng.choice(n_listeners, min(n_listeners, 2000), replace=False)).astype(np.int32)
    return EpochInputs(
        epoch=epoch, ev_listener=ev_listener, ev_track=ev_track, ev_channel=channel, ev_seconds=seconds,
        ev_utility=rng.normal(0.5, 1.0, n_exposures).astype(np.float32), ev_stream=stream,
        ev_completed=completed, table=table, track_artist=track_artist, track_release_epoch=release_epoch,
        track_length_s=length, track_intro_s=rng.gamma(3.0, 5.0, n_tracks).astype(np.float32),
        track_style=unit(n_tracks), track_quality=rng.normal(0, 1, n_tracks).astype(np.float32),
        track_fraud=rng.random(n_tracks) < 0.001, track_streams_total=track_streams * (1 + 30 * rng.random(n_tracks)),
        artist_tier=tier, artist_major=rng.random(n_artists) < 0.3,
        artist_entry_epoch=rng.integers(-5, epoch + 1, n_artists).astype(np.int32),
        listener_active=active, listener_taste=unit(n_listeners),
        listener_satisfaction=rng.normal(0.5, 0.2, n_listeners).astype(np.float32),
        new_listeners=int(0.01 * n_listeners), churned_listeners=int(0.005 * n_listeners),
        revenue=revenue, pool=P.pool_of(revenue, cfg), payouts=payouts,
        living_usd_epoch=cfg.living_usd_month / EPOCHS_PER_MONTH,
        reach_streams=P.threshold_bar(cfg, P.Scale.of(scale, n_tracks, n_artists)),
        rec_fit_seconds=1.5, rec_train_loss=0.25,
        slate_users=users, slate_items=rng.integers(-1, n_tracks, (n_listeners, slate_size)).astype(np.int32),
        prev_slate_users=users,
        prev_slate_items=rng.integers(-1, n_tracks, (n_listeners, slate_size)).astype(np.int32),
        oracle_users=oracle_users, oracle_utility=rng.normal(2.0, 0.3, len(oracle_users)),
        seed=seed,
    )

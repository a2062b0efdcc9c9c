"""The listening kernel: every exposure of an epoch, skip by skip, stream by stream.

Each listener spends a weekly listening-time budget in sessions. A session has one context (a
channel, drawn by the listener's mix) and a length in minutes; within it, after a stream, the next
track stays with the same artist (on repeat, or the artist's next release: an album played
through) with the context's continuity probability, and is otherwise a fresh draw from the
channel. Each exposure draws the true utility (taste, quality, mainstreamness, form, noise) and
decides an early skip (before the stream threshold, 30 s by default), a later abandonment or a
completed play (docs/MODEL.md section 3). A skipped track costs the seconds played, a completed
one its length, so the same hours hold more streams when songs are short, and with continuity
the same session holds more of one artist's: the pay-per-stream incentive the model studies.

Determinism: the random numbers of a listener are a pure function of (seed, epoch, listener id,
draw counter) (see :mod:`agents.rng`), so events do not depend on the thread count. Output sizes
are unknown in advance: each listener gets a slot sized from its budget, listeners that overflow
their slot are simulated again with the exact size, and the slots are compacted.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numba as nb
import numpy as np

from streamsim.agents.catalog import Catalog
from streamsim.agents.rng import normal_quantile, stream_key, uniform_pair
from streamsim.core.codes import Channel
from streamsim.core.config import Scenario
from streamsim.core.events import Events
from streamsim.core.utility import tilt_quantile

# channel codes as plain ints: numba reads module globals as compile-time constants
LIBRARY, PERSONALISED, RADIO, EDITORIAL, SEARCH, CONTEXT = (int(c) for c in Channel)
MAX_FAILED_DRAWS = 64        # consecutive draws that found no playable track end a listener's epoch
SLOT_SECONDS = 60.0          # slot size: one exposure per this many budget seconds (plus SLOT_EXTRA)
SLOT_EXTRA = 16
BLOCK = 65_536               # listeners per kernel call: bounds the slot memory and the events in flight
CHUNK = 256                  # listeners per scheduling chunk of the parallel loop

# indices into the params vector handed to the kernel; P_STAY is the first of six (one per channel)
(P_W_TASTE, P_W_QUALITY, P_NOISE, P_A0, P_A1, P_A2, P_B0, P_B1, P_B2, P_SAVE_U, P_SKIP_TAU, P_STREAM_S,
 P_SESSION_S, P_REPEAT, P_POP_W, P_SEARCH_TILT, P_RADIO_TILT, P_LEN_W, P_LEN_TOL, P_INTRO_W, P_INTRO_TOL,
 P_RADIO_DRIFT, P_STAY) = range(23)
N_PARAMS = P_STAY + len(Channel)


def kernel_params(scenario: Scenario) -> np.ndarray:
    """The behaviour, session, form and mainstreamness parameters as the float64 vector the kernel reads."""
    lc = scenario.listeners
    b, ss, f, m = lc.behaviour, lc.sessions, lc.form, lc.mainstream
    p = np.zeros(N_PARAMS, np.float64)
    p[:P_STAY] = (b.w_taste, b.w_quality, b.utility_noise, b.a0, b.a1, b.a2, b.b0, b.b1, b.b2,
                  b.save_utility, b.skip_time_scale_s, b.stream_threshold_s,
                  ss.minutes_mean * 60.0, ss.repeat_share, m.utility, m.search_tilt, m.radio_tilt,
                  f.length_weight, f.length_tolerance_s, f.intro_weight, f.intro_tolerance_s, ss.radio_drift)
    p[P_STAY:] = [getattr(ss.continuity, c.name.lower()) for c in Channel]
    return p


# the packed per-track row: style (d words), then these columns, padded to whole cache lines
(R_QUALITY, R_LENGTH, R_INTRO, R_POPULARITY, R_REGIONS, R_EXPLICIT, R_NEIGHBOURS, R_NEXT, R_WIDTH) = range(9)
CACHE_LINE_WORDS = 16        # 64-byte cache lines of 4-byte words


def pack_tracks(catalog: Catalog, popularity: np.ndarray, next_track: np.ndarray,
                neighbour_row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Everything the kernel reads of a track, as one cache-line-aligned row per track.

    An exposure then touches one or two cache lines of track data instead of one per column; a
    random read of each column was a large part of an exposure's cost. Returns three views of the
    same (T, W) buffer: float32 (style, quality, length, intro, popularity), uint32 (regions,
    explicit) and int32 (radio neighbour row, next release).
    """
    T, d = len(catalog), catalog.d_style
    width = -(-(d + R_WIDTH) // CACHE_LINE_WORDS) * CACHE_LINE_WORDS
    raw = np.empty(T * width + CACHE_LINE_WORDS, np.uint32)
    skip = (-raw.ctypes.data % (4 * CACHE_LINE_WORDS)) // 4
    rows = raw[skip:skip + T * width].reshape(T, width)
    f, i = rows.view(np.float32), rows.view(np.int32)
    f[:, :d] = catalog.style
    f[:, d + R_QUALITY] = catalog.quality
    f[:, d + R_LENGTH] = catalog.length_s
    f[:, d + R_INTRO] = catalog.intro_s
    f[:, d + R_POPULARITY] = popularity
    rows[:, d + R_REGIONS] = catalog.regions
    rows[:, d + R_EXPLICIT] = catalog.explicit
    i[:, d + R_NEIGHBOURS] = neighbour_row
    i[:, d + R_NEXT] = next_track
    rows[:, d + R_WIDTH:] = 0
    return f, rows, i


SIGMOID_RANGE = 16.0
SIGMOID_STEPS = 128                 # table points per unit of x
_SIGMOID_X = np.linspace(-SIGMOID_RANGE, SIGMOID_RANGE, int(2 * SIGMOID_RANGE * SIGMOID_STEPS) + 1)
SIGMOID_TABLE = 1.0 / (1.0 + np.exp(-_SIGMOID_X))


@nb.njit(inline="always", cache=True)
def _sigmoid(x: float) -> float:
    """The logistic function by linear interpolation in a table (absolute error < 2e-6; beyond
    +-16 it is 1e-7 from 0 or 1). A table lookup is much shorter than ``exp`` on the critical path
    of an exposure, which is what bounds the kernel's speed."""
    t = (min(max(x, -SIGMOID_RANGE), SIGMOID_RANGE) + SIGMOID_RANGE) * SIGMOID_STEPS
    i = min(int(t), SIGMOID_TABLE.shape[0] - 2)
    f = t - i
    return SIGMOID_TABLE[i] + f * (SIGMOID_TABLE[i + 1] - SIGMOID_TABLE[i])


@nb.njit(inline="always", cache=True)
def _first_above(a, lo, hi, x):
    """The first index k in [lo, hi) with a[k] > x (hi if none): a branch-free binary search,
    since the data-dependent branches of the textbook version are mispredicted half the time."""
    base = lo
    n = hi - lo
    if n <= 0:
        return hi
    while n > 1:
        half = n >> 1
        base = base + half if a[base + half - 1] <= x else base
        n -= half
    return base + 1 if a[base] <= x else base


@nb.njit(inline="always", cache=True)
def _weighted_pick(indptr, cum, row, u):
    """Index into the row's items, drawn with probability proportional to its weight."""
    s = indptr[row]
    e = indptr[row + 1]
    if e <= s:
        return -1
    base = cum[s - 1] if s > 0 else 0.0
    target = base + u * (cum[e - 1] - base)
    return min(_first_above(cum, s, e, target), e - 1)


_tilt = nb.njit(inline="always", cache=True)(tilt_quantile)


@nb.njit(inline="always", cache=True)
def _genre_pool_pick(g0, g1, indptr, items, cum, u1, u2):
    """A track from the pool of one of the listener's (one or two) genres; -1 if none has one."""
    valid0 = g0 >= 0 and indptr[g0 + 1] > indptr[g0]
    valid1 = g1 >= 0 and indptr[g1 + 1] > indptr[g1]
    if valid0 and valid1:
        g = g0 if u1 < 0.5 else g1
    elif valid0:
        g = g0
    elif valid1:
        g = g1
    else:
        return -1
    return items[_weighted_pick(indptr, cum, g, u2)]


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _simulate(lids, offsets, caps, seed, epoch, params,
              taste, budget, attention, region, explicit_ok, genres, mainstream, length_ideal, intro_ideal,
              mix, context_of,
              lib_indptr, lib_indices, lib_cum,
              pers_row, pers_items, radio_seed, nbr_items,
              ed_indptr, ed_items, ed_cum, se_indptr, se_items, se_cum,
              cx_indptr, cx_items, cx_cum, rows_f, rows_u, rows_i,
              out_track, out_channel, out_seconds, out_utility, out_saved, counts):
    """Simulate the epoch of each listener in ``lids``; write at most ``caps[i]`` events at
    ``offsets[i]`` and return the true number of exposures in ``counts[i]``."""
    w_taste = params[P_W_TASTE]
    w_quality = params[P_W_QUALITY]
    noise_sd = params[P_NOISE]
    a0, a1, a2 = params[P_A0], params[P_A1], params[P_A2]
    b0, b1, b2 = params[P_B0], params[P_B1], params[P_B2]
    save_u = params[P_SAVE_U]
    tau = params[P_SKIP_TAU]
    thr = params[P_STREAM_S]
    session_s = params[P_SESSION_S]
    repeat = params[P_REPEAT]
    drift = params[P_RADIO_DRIFT]
    pop_w = params[P_POP_W]
    len_w, inv_len_tol = params[P_LEN_W], 1.0 / params[P_LEN_TOL]
    intro_w, inv_intro_tol = params[P_INTRO_W], 1.0 / params[P_INTRO_TOL]
    trunc_thr = 1.0 - math.exp(-thr / tau)
    d = taste.shape[1]
    c_quality, c_length, c_intro, c_pop = d + R_QUALITY, d + R_LENGTH, d + R_INTRO, d + R_POPULARITY
    c_regions, c_explicit, c_nbr, c_next = d + R_REGIONS, d + R_EXPLICIT, d + R_NEIGHBOURS, d + R_NEXT
    n_slate = pers_items.shape[1]
    n_nbr = nbr_items.shape[1]
    for i in nb.prange(len(lids)):
        lid = lids[i]
        key = stream_key(seed, epoch, lid)
        ctr = 0
        w = np.empty(6, np.float64)
        stay = np.empty(6, np.float64)
        for c in range(6):
            w[c] = mix[lid, c]
            stay[c] = params[P_STAY + c]
        t_left = float(budget[lid])
        anchor = radio_seed[lid]
        station = anchor        # the radio session's seed
        cursor = 0
        fails = 0
        k = 0
        prow = pers_row[lid]
        base = offsets[i]
        cap = caps[i]
        inv_att = 1.0 / max(float(attention[lid]), 1e-3)
        reg_bit = np.uint32(1) << np.uint32(region[lid])
        g0 = np.int64(genres[lid, 0])
        g1 = np.int64(genres[lid, 1])
        m_l = float(mainstream[lid])
        pop_l = pop_w * m_l
        search_k = math.exp(params[P_SEARCH_TILT] * m_l)
        radio_k = math.exp(params[P_RADIO_TILT] * m_l)
        l_ideal = float(length_ideal[lid])
        i_ideal = float(intro_ideal[lid])
        ch = 0
        session_left = 0.0      # seconds left in the current session
        prev = -1               # the session's last track if it was a stream, else -1
        while t_left > 0.0 and fails < MAX_FAILED_DRAWS:
            if session_left <= 0.0 or w[ch] <= 0.0:
                # a new session: its context (channel) by the mix, its length exponential
                total = 0.0
                for c in range(6):
                    total += w[c]
                if total <= 0.0:
                    break
                us, ud = uniform_pair(key, ctr)
                ctr += 1
                us *= total
                ch = 5
                acc = 0.0
                for c in range(6):
                    acc += w[c]
                    if us < acc and w[c] > 0.0:
                        ch = c
                        break
                session_left = -session_s * math.log(ud)
                prev = -1
                station = anchor
            u, u1 = uniform_pair(key, ctr)
            u2, u_noise = uniform_pair(key, ctr + 1)
            v1, v2 = uniform_pair(key, ctr + 2)
            ctr += 3
            j = -1
            if prev >= 0 and u < stay[ch]:
                # continuity: on repeat, or the artist's next release; a filtered track is passed over
                j = prev if u < stay[ch] * repeat else rows_i[prev, c_next]
                if j >= 0 and ((rows_u[j, c_regions] & reg_bit) == 0
                               or (rows_u[j, c_explicit] != 0 and not explicit_ok[lid])):
                    j = -1
            if j < 0:
                if ch == LIBRARY:
                    kk = _weighted_pick(lib_indptr, lib_cum, lid, u1)
                    if kk < 0:
                        w[LIBRARY] = 0.0
                        continue
                    j = lib_indices[kk]
                elif ch == PERSONALISED:
                    if prow < 0 or cursor >= n_slate or pers_items[prow, cursor] < 0:
                        w[PERSONALISED] = 0.0
                        continue
                    j = pers_items[prow, cursor]
                    cursor += 1
                elif ch == RADIO:
                    r = rows_i[station, c_nbr] if station >= 0 else -1
                    if r < 0:
                        fails += 1
                        session_left = 0.0
                        continue
                    m = 0
                    while m < n_nbr and nbr_items[r, m] >= 0:
                        m += 1
                    if m == 0:
                        fails += 1
                        session_left = 0.0
                        continue
                    # neighbours are ordered most popular first: the tilt moves the quantile
                    j = nbr_items[r, min(int(_tilt(u1, radio_k) * m), m - 1)]
                elif ch == EDITORIAL:
                    j = _genre_pool_pick(g0, g1, ed_indptr, ed_items, ed_cum, u1, u2)
                    if j < 0:
                        w[EDITORIAL] = 0.0
                        continue
                elif ch == SEARCH:
                    # pools are ordered most talked-about first: the tilt moves the quantile
                    j = _genre_pool_pick(g0, g1, se_indptr, se_items, se_cum, u1, _tilt(u2, search_k))
                    if j < 0:
                        w[SEARCH] = 0.0
                        continue
                else:
                    cx = context_of[lid]
                    kk = _weighted_pick(cx_indptr, cx_cum, cx, u1) if cx >= 0 else -1
                    if kk < 0:
                        w[CONTEXT] = 0.0
                        continue
                    j = cx_items[kk]
                if (rows_u[j, c_regions] & reg_bit) == 0 or (rows_u[j, c_explicit] != 0 and not explicit_ok[lid]):
                    fails += 1
                    session_left = 0.0
                    continue
            fails = 0

            dot = 0.0
            for q in range(d):
                dot += float(taste[lid, q]) * float(rows_f[j, q])
            ln = float(rows_f[j, c_length])
            it = float(rows_f[j, c_intro])
            dl = (ln - l_ideal) * inv_len_tol
            di = (it - i_ideal) * inv_intro_tol
            util = (w_taste * dot + w_quality * rows_f[j, c_quality] + pop_l * rows_f[j, c_pop]
                    + len_w * (1.0 - dl * dl) + intro_w * (1.0 - di * di)
                    + noise_sd * normal_quantile(u_noise))
            p_early = _sigmoid(a0 - a1 * util + a2 * (it - 10.0) / 10.0 * inv_att)
            p_abandon = _sigmoid(b0 - b1 * util + b2 * (ln - 210.0) / 60.0)
            # Every outcome is computed and then selected, without branching on the utility: a
            # mispredicted branch at the end of this dependency chain costs more than the arithmetic.
            early = v1 < p_early
            # given v1 >= p_early, (v1 - p_early) / (1 - p_early) is a fresh uniform
            v3 = (v1 - p_early) / max(1.0 - p_early, 1e-12)
            abandon = (not early) & (ln > thr) & (v3 < p_abandon)
            # the early-skip moment: exponential truncated to (0, min(threshold, length)), so skips
            # cluster in the first seconds
            trunc = trunc_thr if ln >= thr else 1.0 - math.exp(-ln / tau)
            s_skip = -tau * math.log(1.0 - v2 * trunc)
            s_late = thr + (ln - thr) * v2
            fe = 1.0 if early else 0.0
            fa = 1.0 if abandon else 0.0
            secs = fe * s_skip + (1.0 - fe) * (fa * s_late + (1.0 - fa) * ln)
            # a save candidate; tracks already in the library are dropped in `_compact`
            saved = (not early) & (not abandon) & (util > save_u)
            moved = (not early) & (rows_i[j, c_nbr] >= 0)
            anchor = j if moved else anchor
            # a station keeps its seed unless it drifts (u2 is spent only by the pools, never by radio)
            station = j if moved & (ch == RADIO) & (u2 < drift) else station
            # a stream (secs >= threshold), decided without waiting for the skip moment's log
            prev = j if (not early) & (ln >= thr) else -1
            if k < cap:
                pos = base + k
                out_track[pos] = j
                out_channel[pos] = ch
                out_seconds[pos] = secs
                out_utility[pos] = util
                out_saved[pos] = saved
            k += 1
            t_left -= secs
            session_left -= secs
        counts[i] = k


@nb.njit(parallel=True, cache=True)
def _compact(lids, counts, offsets1, offsets2, over, starts, lib_ptr, lib_items,
             t1, c1, s1, u1, v1, t2, c2, s2, u2, v2,
             out_listener, out_track, out_channel, out_seconds, out_utility, out_saved):
    """Copy each listener's events from its slot (first pass, or the rerun if it overflowed),
    with its id, and clear the save flag of tracks already in its library (sorted rows)."""
    for i in nb.prange(len(counts)):
        dst = starts[i]
        if over[i]:
            src, t, c, s, u, v = offsets2[i], t2, c2, s2, u2, v2
        else:
            src, t, c, s, u, v = offsets1[i], t1, c1, s1, u1, v1
        lid = lids[i]
        lo = lib_ptr[lid]
        hi = lib_ptr[lid + 1]
        for k in range(counts[i]):
            track, saved = t[src + k], v[src + k]
            out_channel[dst + k] = c[src + k]
            out_seconds[dst + k] = s[src + k]
            out_utility[dst + k] = u[src + k]
            if saved:
                j = _first_above(lib_items, lo, hi, track - 1)
                saved = not (j < hi and lib_items[j] == track)
            out_listener[dst + k] = lid
            out_track[dst + k] = track
            out_saved[dst + k] = saved


def _buffers(total: int):
    return (np.empty(total, np.int32), np.empty(total, np.int8), np.empty(total, np.float32),
            np.empty(total, np.float32), np.empty(total, np.bool_))


_SLOTS: list[np.ndarray] = []


def _slot_buffers(total: int):
    """The first-pass slot buffers, kept between calls and grown only when too small.

    They are the kernel's largest allocation (about 1.5 times the epoch's events); fresh pages
    every epoch cost the kernel (zeroing by the OS) as much time as the simulation itself.
    """
    global _SLOTS
    if not _SLOTS or len(_SLOTS[0]) < total:
        _SLOTS = list(_buffers(int(total * 1.25) + 1024))
    return tuple(b[:total] for b in _SLOTS)


def _offsets(caps: np.ndarray) -> np.ndarray:
    off = np.zeros(len(caps), np.int64)
    np.cumsum(caps[:-1], out=off[1:])
    return off


def _run_block(lids, listeners, slates, rows, params, seed, epoch) -> Events:
    sl = slates
    caps = (listeners.budget_s[lids] / SLOT_SECONDS).astype(np.int64) + SLOT_EXTRA
    args = (seed, epoch, params,
            listeners.taste, listeners.budget_s, listeners.attention, listeners.region,
            listeners.explicit_ok, listeners.genres, listeners.mainstream, listeners.length_ideal,
            listeners.intro_ideal, sl.mix, sl.context_of,
            sl.library.indptr, sl.library.items, sl.library.cum,
            sl.personalised_row, sl.personalised_items, sl.radio_seed, sl.neighbour_items,
            sl.editorial.indptr, sl.editorial.items, sl.editorial.cum,
            sl.search.indptr, sl.search.items, sl.search.cum,
            sl.context.indptr, sl.context.items, sl.context.cum, *rows)
    off1 = _offsets(caps)
    buf1 = _slot_buffers(int(caps.sum()))
    counts = np.zeros(len(lids), np.int64)
    with nb.parallel_chunksize(CHUNK):   # dynamic scheduling: listeners differ a lot in work
        _simulate(lids, off1, caps, *args, *buf1, counts)
    over = counts > caps
    off2 = np.zeros(len(lids), np.int64)
    buf2 = _buffers(0)
    if over.any():
        # only the listeners that overflowed their slot run again, with the exact size
        again = np.flatnonzero(over)
        caps2 = counts[again]
        off2[again] = _offsets(caps2)
        buf2 = _buffers(int(caps2.sum()))
        _simulate(lids[again], off2[again], caps2, *args, *buf2, np.zeros(len(again), np.int64))
    starts = _offsets(counts)
    listener = np.empty(int(counts.sum()), np.int32)
    out = _buffers(len(listener))
    _compact(lids.astype(np.int32), counts, off1, off2, over, starts, sl.library.indptr, sl.library.items,
             *buf1, *buf2, listener, *out)
    return Events(listener, *out)


def listen_blocks(listeners, slates, catalog: Catalog, scenario: Scenario, epoch: int,
                  seed: int) -> Iterator[Events]:
    """The exposures of one epoch, a block of whole listeners at a time (``BLOCK`` listeners,
    in increasing id), so that no reader needs the whole epoch in memory.

    Args:
        listeners: the ListenerPopulation (taste, budget, attention, region, filters, genres).
        slates: what build_slates made for this epoch.
        catalog: the tracks.
        scenario: behaviour parameters and the choice mode.
        epoch: the epoch number (part of every listener's random-stream key).
        seed: the run's kernel seed (the other part).
    Yields:
        Events ordered by listener id, then by time within the epoch. A listener's exposures
        depend on the seed, the epoch and its id only, never on the blocks.
    """
    if scenario.listeners.choice == "slate_argmax":
        yield listen_argmax(listeners, slates, catalog, scenario)
        return
    lids = np.asarray(slates.listeners, np.int64)
    if len(lids) == 0 or len(catalog) == 0:
        return
    params = kernel_params(scenario)
    T = len(catalog)
    popularity = slates.popularity if slates.popularity is not None else np.zeros(T, np.float32)
    next_track = slates.next_track if slates.next_track is not None else np.full(T, -1, np.int32)
    rows = pack_tracks(catalog, popularity, next_track, slates.neighbour_row)
    for s in range(0, len(lids), BLOCK):
        yield _run_block(lids[s:s + BLOCK], listeners, slates, rows, params, int(seed), int(epoch))


def listen(listeners, slates, catalog: Catalog, scenario: Scenario, epoch: int, seed: int) -> Events:
    """All exposures of one epoch at once (:func:`listen_blocks`, concatenated)."""
    parts = list(listen_blocks(listeners, slates, catalog, scenario, epoch, seed))
    return parts[0] if len(parts) == 1 else Events.concat(parts)


def listen_argmax(listeners, slates, catalog: Catalog, scenario: Scenario) -> Events:
    """Replication mode (Chaney et al. 2018; T-RECS): one item per listener per epoch.

    Each served listener consumes the item of its personalised slate with the highest true
    (noise-free) utility weighted by rank: ``exp(U) * rank^-r`` (argmax_score "exp_utility",
    taken in logs as ``U - r log(rank)``, meaningful when U is negative) or Chaney et al.'s
    ``U * rank^-r`` ("utility", for U >= 0), with r = rank_attention. Slates arrive with
    already consumed items removed (build_slates), so there are no repeats. The item is played
    in full.
    """
    users = slates.personalised_users
    items = slates.personalised_items
    valid = items >= 0
    if len(users) == 0 or not valid.any():
        return Events.empty()
    b = scenario.listeners.behaviour
    safe = np.where(valid, items, 0)
    cos = np.einsum("nd,nkd->nk", listeners.taste[users], catalog.style[safe])
    util = (b.w_taste * cos + b.w_quality * catalog.quality[safe]).astype(np.float64)
    rank = np.arange(1, items.shape[1] + 1, dtype=np.float64)
    r = scenario.listeners.rank_attention
    if scenario.listeners.argmax_score == "utility":
        score = util * rank[None, :] ** -r
    else:
        score = util - r * np.log(rank)[None, :]
    score[~valid] = -np.inf
    has = valid.any(axis=1)
    best = np.argmax(score, axis=1)[has]
    rows = np.flatnonzero(has)
    track = items[rows, best]
    return Events(users[rows], track, np.full(len(rows), PERSONALISED, np.int8),
                  catalog.length_s[track], util[rows, best], np.zeros(len(rows), bool))

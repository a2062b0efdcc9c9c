"""Counting kernels (numba): per-(listener, track) aggregation (the stream table, the ledger) and
distinct counts.

Kept apart so that reading the payout rules (e.g. to validate a scenario) does not load numba.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def aggregate_pairs(listener, track, signal, streams, sought, seconds, n_listeners):
    """Sum signal (float32), streams and sought (int8 or int32) and seconds (float64) per
    (listener, track) pair.

    A counting sort by listener, then a stable sort of each listener's tracks, so float sums
    run in event order: linear in exposures. Listeners are aggregated in parallel, each into its
    own stretch, so the result does not depend on the threads. Returns (listener int32, track
    int32, signal float32, streams int32, sought int32, seconds float64), rows sorted by
    listener, then track.
    """
    n = len(listener)
    start = np.zeros(n_listeners + 1, np.int64)
    for i in range(n):
        start[listener[i] + 1] += 1
    for g in range(n_listeners):
        start[g + 1] += start[g]
    pos = start[:-1].copy()
    by = np.empty(n, np.int64)
    for i in range(n):
        by[pos[listener[i]]] = i
        pos[listener[i]] += 1
    present = np.nonzero(start[1:] > start[:-1])[0]        # listeners with events
    n_present = len(present)
    # each listener's pairs first go to the start of its own events' stretch
    tmp_t = np.empty(n, np.int32)
    tmp_v = np.zeros(n, np.float32)
    tmp_s = np.zeros(n, np.int32)
    tmp_q = np.zeros(n, np.int32)
    tmp_x = np.zeros(n, np.float64)
    kept = np.zeros(n_present, np.int64)
    for p in numba.prange(n_present):
        g = present[p]
        a, b = start[g], start[g + 1]
        seg = by[a:b]
        order = np.argsort(track[seg], kind="mergesort")
        m = a
        prev = -1
        for o in order:
            i = seg[o]
            t = track[i]
            if t != prev:
                tmp_t[m] = t
                m += 1
                prev = t
            tmp_v[m - 1] += signal[i]
            tmp_s[m - 1] += streams[i]
            tmp_q[m - 1] += sought[i]
            tmp_x[m - 1] += seconds[i]
        kept[p] = m - a
    off = np.zeros(n_present + 1, np.int64)
    for p in range(n_present):
        off[p + 1] = off[p] + kept[p]
    total = off[n_present]
    out_l = np.empty(total, np.int32)
    out_t = np.empty(total, np.int32)
    out_v = np.empty(total, np.float32)
    out_s = np.empty(total, np.int32)
    out_q = np.empty(total, np.int32)
    out_x = np.empty(total, np.float64)
    for p in numba.prange(n_present):
        a = start[present[p]]
        d = off[p]
        for j in range(kept[p]):
            out_l[d + j] = present[p]
            out_t[d + j] = tmp_t[a + j]
            out_v[d + j] = tmp_v[a + j]
            out_s[d + j] = tmp_s[a + j]
            out_q[d + j] = tmp_q[a + j]
            out_x[d + j] = tmp_x[a + j]
    return out_l, out_t, out_v, out_s, out_q, out_x


@numba.njit(cache=True)
def count_distinct(group: np.ndarray, item: np.ndarray, n_groups: int,
                     n_items: int) -> tuple[np.ndarray, np.ndarray]:
    per_item = np.zeros(n_items, np.int64)
    per_group = np.zeros(n_groups, np.int64)
    last = np.full(n_items, -1, np.int64)
    for r in range(len(group)):
        g, i = group[r], item[r]
        if last[i] != g:
            last[i] = g
            per_item[i] += 1
            per_group[g] += 1
    return per_item, per_group

"""Counting kernels (numba): per-(listener, track) aggregation (the stream table, the ledger) and
distinct counts.

Kept apart so that reading the payout rules (e.g. to validate a scenario) does not load numba.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def aggregate_pairs(listener, track, signal, streams, sought, seconds, n_listeners):
    """Sum signal (float32), streams and sought (int8 or int32) and seconds (float64) per
    (listener, track) pair.

    A counting sort by listener, then a stable sort of each listener's tracks, so float sums
    run in event order: linear in exposures. Returns (listener int32, track int32, signal
    float32, streams int32, sought int32, seconds float64), rows sorted by listener, then track.
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
    out_l = np.empty(n, np.int32)
    out_t = np.empty(n, np.int32)
    out_v = np.zeros(n, np.float32)
    out_s = np.zeros(n, np.int32)
    out_q = np.zeros(n, np.int32)
    out_x = np.zeros(n, np.float64)
    m = 0
    for g in range(n_listeners):
        a, b = start[g], start[g + 1]
        if a == b:
            continue
        seg = by[a:b]
        order = np.argsort(track[seg], kind="mergesort")
        prev = -1
        for o in order:
            i = seg[o]
            t = track[i]
            if t != prev:
                out_l[m] = g
                out_t[m] = t
                m += 1
                prev = t
            out_v[m - 1] += signal[i]
            out_s[m - 1] += streams[i]
            out_q[m - 1] += sought[i]
            out_x[m - 1] += seconds[i]
    return (out_l[:m].copy(), out_t[:m].copy(), out_v[:m].copy(), out_s[:m].copy(), out_q[:m].copy(),
            out_x[:m].copy())


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

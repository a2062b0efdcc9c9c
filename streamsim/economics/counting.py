"""Counting kernels (numba) behind StreamTable.from_events and distinct_counts.

Kept apart so that reading the payout rules (e.g. to validate a scenario) does not load numba.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def aggregate_streams(lis, trk, sought, seconds, n_listeners):
    # Counting sort by listener, then a small sort of each listener's tracks, summing runs.
    n = len(lis)
    start = np.zeros(n_listeners + 1, np.int64)
    for i in range(n):
        start[lis[i] + 1] += 1
    for g in range(n_listeners):
        start[g + 1] += start[g]
    pos = start[:-1].copy()
    t_by = np.empty(n, np.int32)
    s_by = np.empty(n, np.bool_)
    x_by = np.empty(n, np.float64)
    for i in range(n):
        p = pos[lis[i]]
        t_by[p] = trk[i]
        s_by[p] = sought[i]
        x_by[p] = seconds[i]
        pos[lis[i]] += 1
    out_l = np.empty(n, np.int32)
    out_t = np.empty(n, np.int32)
    out_s = np.zeros(n, np.float64)
    out_q = np.zeros(n, np.float64)
    out_x = np.zeros(n, np.float64)
    m = 0
    for g in range(n_listeners):
        a, b = start[g], start[g + 1]
        if a == b:
            continue
        order = np.argsort(t_by[a:b])
        prev = -1
        for o in order:
            t = t_by[a + o]
            if t != prev:
                out_l[m] = g
                out_t[m] = t
                m += 1
                prev = t
            out_s[m - 1] += 1.0
            out_x[m - 1] += x_by[a + o]
            if s_by[a + o]:
                out_q[m - 1] += 1.0
    return out_l[:m], out_t[:m], out_s[:m], out_q[:m], out_x[:m]


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

"""Per-(listener, track) aggregation and the per-listener tallies, which run in parallel over
listeners: the sums are those of the events in order, whatever the threads or stretches."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from streamsim.agents.listeners import PARTS, _add_played, _tally, parts_for
from streamsim.economics.counting import aggregate_pairs

events = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 12), st.floats(-2, 2, width=32),
                            st.integers(0, 1), st.floats(0, 400)), max_size=300)


@given(events, st.booleans())
@settings(max_examples=150, deadline=None)
def test_pairs_are_summed_in_event_order(rows, grouped):
    if grouped:
        rows = sorted(rows, key=lambda r: r[0])          # stable: events keep their order
    lis = np.array([r[0] for r in rows], np.int32)
    trk = np.array([r[1] for r in rows], np.int32)
    sig = np.array([r[2] for r in rows], np.float32)
    streams = np.array([r[3] for r in rows], np.int8)
    secs = np.array([r[4] for r in rows], np.float64)
    want: dict[tuple[int, int], list] = {}
    for i in range(len(rows)):
        acc = want.setdefault((int(lis[i]), int(trk[i])), [np.float32(0), 0, 0, 0.0])
        acc[0] = np.float32(acc[0] + sig[i])
        acc[1] += int(streams[i])
        acc[2] += int(streams[i])
        acc[3] += float(secs[i])
    got = aggregate_pairs(lis, trk, sig, streams, streams, secs, 31)
    keys = sorted(want)
    np.testing.assert_array_equal(got[0], [k[0] for k in keys])
    np.testing.assert_array_equal(got[1], [k[1] for k in keys])
    np.testing.assert_array_equal(got[2], np.array([want[k][0] for k in keys], np.float32))
    np.testing.assert_array_equal(got[3], [want[k][1] for k in keys])
    np.testing.assert_array_equal(got[4], [want[k][2] for k in keys])
    np.testing.assert_array_equal(got[5], [want[k][3] for k in keys])


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 9), st.integers(0, 5), st.floats(0, 300),
                          st.floats(-1, 1, width=32)), min_size=1, max_size=400))
@settings(max_examples=100, deadline=None)
def test_listener_tallies_split_over_stretches_equal_one_pass(rows):
    rows = sorted(rows, key=lambda r: r[0])
    lis = np.array([r[0] for r in rows], np.int32)
    trk = np.array([r[1] for r in rows], np.int32)
    chan = np.array([r[2] for r in rows], np.int8)
    secs = np.array([r[3] for r in rows], np.float32)
    util = np.array([r[4] for r in rows], np.float32)
    length = np.linspace(60, 300, 10).astype(np.float32)
    is_bot = np.zeros(41, bool)
    is_bot[7] = True
    assert parts_for(lis) == (PARTS if len(lis) > 1 else 1)
    assert parts_for(lis[::-1]) == 1 or len(set(lis)) == 1
    out = []
    for parts in (1, PARTS):
        plays, usum, early = np.zeros((41, 6), np.int64), np.zeros((41, 6)), np.zeros((41, 6), np.int64)
        last = np.full(41, -1, np.int32)
        _tally(lis, trk, chan, secs, util, length, is_bot, np.float32(30.0), plays, usum, early, last, parts)
        indptr = np.arange(0, 42 * 3, 3, dtype=np.int64)[:42]                 # every listener saved 3 tracks
        indices = np.tile(np.array([1, 4, 8], np.int32), 41)
        data = np.ones(len(indices), np.float32)
        _add_played(indptr, indices, data, lis, trk, secs, length, is_bot, parts)
        out.append((plays, usum, early, last, data))
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    plays, usum, early, last, data = out[0]
    want_sum = np.zeros((41, 6), np.float64)
    want_early = np.zeros((41, 6), np.int64)
    for i in range(len(lis)):
        if lis[i] != 7:                                                       # bots are not tallied
            want_sum[lis[i], chan[i]] += util[i]
            want_early[lis[i], chan[i]] += secs[i] < 30.0 and secs[i] < length[trk[i]]
    np.testing.assert_array_equal(usum, want_sum)
    np.testing.assert_array_equal(early, want_early)
    assert plays[7].sum() == 0 and plays.sum() == (lis != 7).sum()

"""Trailing windows: distinct (listener, artist) pairs over the artist-centric rule's window."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from streamsim.agents.trailing import DistinctPairs

epoch_pairs = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 12)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(epochs=st.lists(epoch_pairs, min_size=1, max_size=6), window=st.integers(1, 4),
       by_group=st.booleans())
def test_each_artist_counts_each_listener_once_within_the_window(epochs, window, by_group):
    pairs = DistinctPairs(window)
    for e, rows in enumerate(epochs):
        rows = sorted(rows, key=lambda r: r[0]) if by_group else rows   # a stream table is by listener
        group = np.array([r[0] for r in rows], np.int32)
        item = np.array([r[1] for r in rows], np.int32)
        pairs.add(group, item)
        held = epochs[max(0, e + 1 - window): e + 1]
        expected = np.zeros(13)
        for listener, artist in {p for rows_ in held for p in rows_}:
            expected[artist] += 1
        np.testing.assert_array_equal(pairs.groups_per_item(13), expected)
        assert pairs.epochs == min(e + 1, window)

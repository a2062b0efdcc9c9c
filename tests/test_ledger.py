"""The ledger: streams, tallies and the decayed interaction matrix."""

from __future__ import annotations

import numpy as np
import pytest

from streamsim.agents.catalog import Catalog
from streamsim.core import config
from streamsim.core.codes import CHANNELS
from streamsim.core.events import Events
from streamsim.sim.ledger import Ledger


def make_catalog(n: int = 4) -> Catalog:
    cat = Catalog(d_style=2, audio_dim=2, tags_per_track=1)
    cat.append(artist=np.arange(n) % 2, genre=np.zeros(n), style=np.ones((n, 2)), quality=np.zeros(n),
               length_s=np.full(n, 200.0), intro_s=np.zeros(n), release_epoch=np.zeros(n),
               audio=np.zeros((n, 2)), tags=np.zeros((n, 1)), explicit=np.zeros(n, bool),
               regions=np.ones(n, np.uint32), fraud=np.zeros(n, bool))
    return cat


def events(listener, track, seconds, channel=None) -> Events:
    n = len(listener)
    channel = channel if channel is not None else [CHANNELS.index("personalised")] * n
    return Events(listener=listener, track=track, channel=channel, seconds=seconds,
                  utility=np.zeros(n), saved=np.zeros(n, bool))


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(config.load(None, ["recommender.decay=0.5", "payouts.threshold.window_epochs=2"]))


def test_streams_follow_the_threshold_and_completion_the_length(ledger):
    cat = make_catalog()
    ledger.record(events([0, 0, 1], [0, 1, 2], [29.9, 30.0, 200.0]), cat, n_listeners=2, epoch=0)
    assert ledger.stream.tolist() == [False, True, True]
    assert ledger.completed.tolist() == [False, False, True]
    assert ledger.track_streams_last.tolist() == [0, 1, 1, 0]
    assert ledger.track_early_skips_last.tolist() == [1, 0, 0, 0]
    assert ledger.listener_plays_total.tolist() == [2, 1]


def test_interactions_decay_and_accumulate(ledger):
    cat = make_catalog()
    ledger.record(events([0], [2], [200.0]), cat, 2, 0)
    assert ledger.interactions()[0, 2] == pytest.approx(1.0)
    ledger.record(events([0, 0], [2, 3], [100.0, 200.0]), cat, 3, 1)
    R = ledger.interactions()
    assert R.shape == (3, 4)
    assert R[0, 2] == pytest.approx(0.5 * 1.0 + 0.5)
    assert R[0, 3] == pytest.approx(1.0)
    assert (R.data > 0).all()


def test_trailing_window_forgets_old_epochs(ledger):
    cat = make_catalog()
    for epoch in range(3):
        ledger.record(events([0], [epoch], [60.0]), cat, 1, epoch)
    assert ledger.track_streams_window().tolist() == [0, 1, 1, 0]
    assert ledger.track_streams_total.tolist() == [1, 1, 1, 0]


def test_recent_heard_and_stream_table(ledger):
    cat = make_catalog()
    lib, search = CHANNELS.index("library"), CHANNELS.index("search")
    ledger.record(events([1, 1, 0, 1], [3, 3, 1, 0], [60.0, 60.0, 5.0, 45.0], [lib, 1, 1, search]), cat, 2, 0)
    heard = ledger.recent_heard(2, 4)
    assert heard[1, 3] and heard[0, 1] and not heard[0, 3]
    table = ledger.streams_table()
    rows = sorted(zip(table.listener.tolist(), table.track.tolist(), table.streams.tolist(), table.sought.tolist(),
                      table.seconds.tolist()))
    assert rows == [(1, 0, 1.0, 1.0, 45.0), (1, 3, 2.0, 1.0, 120.0)]
    assert table.artist.tolist() == [cat.artist[t] for t in table.track]


def test_recent_heard_forgets_pairs_older_than_the_window():
    led = Ledger(config.load(None, ["recommender.exclude_heard_epochs=2"]))
    cat = make_catalog()
    for epoch, track in enumerate([0, 1, 2]):
        led.record(events([0], [track], [5.0]), cat, 1, epoch)
    assert led.recent_heard(1, 4).toarray().tolist() == [[False, True, True, False]]
    assert led.recent_heard(1, 4, epochs=1).toarray().tolist() == [[False, False, True, False]]
    assert led.recent_heard(3, 5).shape == (3, 5)


def test_artist_window_counts_each_listener_once_over_the_window():
    led = Ledger(config.load(None, ["payouts.artist_centric.window_epochs=3"]))
    cat = make_catalog()  # tracks 0 and 2 are artist 0's, 1 and 3 artist 1's
    weeks = [([0, 1], [0, 2]), ([0, 2], [0, 1]), ([0], [2]), ([3], [3])]
    seen = []
    for epoch, (listener, track) in enumerate(weeks):
        led.record(events(listener, track, [60.0] * len(listener)), cat, 4, epoch)
        w = led.artist_window(2)
        seen.append((w.listeners.tolist(), w.streams.tolist(), w.epochs))
    assert seen[0] == ([2.0, 0.0], [2.0, 0.0], 1)
    # listener 0 streamed artist 0 in every week: still one listener
    assert seen[1] == ([2.0, 1.0], [3.0, 1.0], 2)
    assert seen[2] == ([2.0, 1.0], [4.0, 1.0], 3)
    # week 0 has left the window: listener 1 no longer counts for artist 0
    assert seen[3] == ([1.0, 2.0], [2.0, 2.0], 3)

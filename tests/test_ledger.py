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


def test_a_negative_skip_signal_reduces_or_drops_entries_but_never_stores_them_negative():
    led = Ledger(config.load(None, ["recommender.decay=0.5", "listeners.behaviour.skip_signal=-0.5"]))
    cat = make_catalog()
    # epoch 0: track 0 streamed twice in full (2.0), track 2 once (1.0), track 3 half-way (0.5)
    led.record(events([0, 0, 0, 0], [0, 0, 2, 3], [200.0, 200.0, 200.0, 100.0]), cat, 1, 0)
    # epoch 1: each of them skipped at 5 s (-0.5 each), and track 1, never heard, too
    led.record(events([0, 0, 0, 0], [0, 2, 3, 1], [5.0, 5.0, 5.0, 5.0]), cat, 1, 1)
    R = led.interactions()
    assert (R.data > 0).all()
    assert R.toarray().tolist() == [[0.5, 0.0, 0.0, 0.0]]   # 2*0.5-0.5; 0.5-0.5; 0.25-0.5 -> 0; -0.5 -> 0
    assert R.nnz == 1                                        # zeros are dropped, not stored


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
    rows = sorted(zip(table.listener.tolist(), table.track.tolist(), table.streams.tolist(), table.sought.tolist()))
    assert rows == [(1, 0, 1.0, 1.0), (1, 3, 2.0, 1.0)]
    assert table.artist.tolist() == [cat.artist[t] for t in table.track]


def test_recent_heard_forgets_pairs_older_than_the_window():
    led = Ledger(config.load(None, ["recommender.exclude_heard_epochs=2"]))
    cat = make_catalog()
    for epoch, track in enumerate([0, 1, 2]):
        led.record(events([0], [track], [5.0]), cat, 1, epoch)
    assert led.recent_heard(1, 4).toarray().tolist() == [[False, True, True, False]]
    assert led.recent_heard(1, 4, epochs=1).toarray().tolist() == [[False, False, True, False]]
    assert led.recent_heard(3, 5).shape == (3, 5)

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


def test_a_negative_skip_signal_keeps_net_dislikes_negative_and_drops_exact_zeros():
    led = Ledger(config.load(None, ["recommender.decay=0.5", "listeners.behaviour.skip_signal=-0.5",
                                    "recommender.prune_below=0"]))
    cat = make_catalog()
    # epoch 0: track 0 streamed twice in full (2.0), track 2 once (1.0), track 3 half-way (0.5)
    led.record(events([0, 0, 0, 0], [0, 0, 2, 3], [200.0, 200.0, 200.0, 100.0]), cat, 1, 0)
    # epoch 1: each of them skipped at 5 s (-0.5 each), and track 1, never heard, too
    led.record(events([0, 0, 0, 0], [0, 2, 3, 1], [5.0, 5.0, 5.0, 5.0]), cat, 1, 1)
    R = led.interactions()
    # 2*0.5-0.5 = 0.5 (still liked); 1*0.5-0.5 = 0 (dropped); 0.5*0.5-0.5 = -0.25 and -0.5: dislikes
    assert R.toarray().tolist() == [[0.5, -0.5, 0.0, -0.25]]
    assert R.nnz == 3                                        # exact zeros are dropped, not stored


def test_a_completed_short_track_is_a_play_not_a_skip():
    led = Ledger(config.load(None, ["listeners.behaviour.skip_signal=-0.5", "recommender.prune_below=0"]))
    cat = make_catalog()
    cat.length_s[1] = 20.0                                   # shorter than the 30-s stream threshold
    led.record(events([0], [1], [20.0]), cat, 1, 0)          # played to its end: no stream, no skip
    assert led.interactions()[0, 1] == pytest.approx(1.0)
    assert led.track_early_skips_last[1] == 0 and led.track_streams_last[1] == 0


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


def random_epoch(rng, n_listeners, n_tracks, n):
    return Events(listener=rng.integers(0, n_listeners, n), track=rng.integers(0, n_tracks, n),
                  channel=rng.integers(0, len(CHANNELS), n), seconds=rng.uniform(0, 300, n).astype(np.float32),
                  utility=np.zeros(n), saved=np.zeros(n, bool))


def take(ev: Events, sel) -> Events:
    return Events(**{k: getattr(ev, k)[sel] for k in Events.DTYPES})


def state(led: Ledger, n_listeners: int, n_tracks: int):
    t = led.streams_table()
    return (led.interactions(n_listeners, n_tracks).toarray(), led.recent_heard(n_listeners, n_tracks).toarray(),
            t.listener.tolist(), t.track.tolist(), t.streams.tolist(), t.sought.tolist(),
            led.track_streams_last.tolist(), led.track_early_skips_last.tolist(), led.listener_plays_total.tolist())


def test_an_epoch_in_listener_blocks_equals_the_whole_epoch():
    """Chunks of whole listeners in increasing id (as the kernel makes them) give the same bits."""
    cat = make_catalog(50)
    scenario = config.load(None, ["recommender.decay=0.7", "listeners.behaviour.skip_signal=-0.2"])
    whole, chunked = Ledger(scenario), Ledger(scenario)
    rng = np.random.default_rng(3)
    for epoch in range(4):
        ev = random_epoch(rng, 30, 50, 400)
        ev = take(ev, np.argsort(ev.listener, kind="stable"))
        whole.record(ev, cat, 30, epoch)
        chunked.begin(cat, 30, epoch)
        cuts = np.searchsorted(ev.listener, [0, 7, 8, 8, 21, 30])    # whole listeners, one chunk empty
        for a, b in zip(cuts[:-1], cuts[1:]):
            chunked.add(take(ev, slice(a, b)))
        chunked.finish()
        for x, y in zip(state(whole, 30, 50), state(chunked, 30, 50)):
            np.testing.assert_array_equal(x, y)
    assert len(chunked.events) == 0 and len(whole.events) == 400


def test_chunks_in_any_order_give_the_same_pairs():
    cat = make_catalog(20)
    whole, chunked = Ledger(config.load(None)), Ledger(config.load(None))
    rng = np.random.default_rng(4)
    ev = random_epoch(rng, 10, 20, 300)
    whole.record(ev, cat, 10, 0)
    chunked.begin(cat, 10, 0, keep_events=True)
    for sel in (slice(200, 300), slice(0, 7), slice(7, 200)):
        chunked.add(take(ev, sel))
    chunked.finish()
    for x, y in zip(state(whole, 10, 20), state(chunked, 10, 20)):
        np.testing.assert_allclose(np.asarray(x, float), np.asarray(y, float), rtol=1e-6)
    assert len(chunked.events) == 300


def test_entries_below_the_prune_floor_are_dropped():
    """One complete play (1.0) decays by 0.5 an epoch; a floor of 0.2 forgets it after two decays."""
    led = Ledger(config.load(None, ["recommender.decay=0.5", "recommender.prune_below=0.2"]))
    cat = make_catalog()
    led.record(events([0, 1], [1, 2], [200.0, 200.0]), cat, 2, 0)
    for epoch, expect in ((1, 0.5), (2, 0.25)):
        led.record(events([1], [2], [200.0]), cat, 2, epoch)
        assert led.interactions()[0, 1] == pytest.approx(expect)
    led.record(events([1], [2], [200.0]), cat, 2, 3)
    R = led.interactions()
    assert R[0, 1] == 0 and R.nnz == 1                    # 0.125 < 0.2: pruned; listener 1 kept
    assert led.touched_listeners.tolist() == [1] and led.touched_tracks.tolist() == [2]


def test_an_epoch_must_be_opened_and_closed():
    led = Ledger(config.load(None))
    with pytest.raises(RuntimeError):
        led.add(events([0], [0], [60.0]))
    led.begin(make_catalog(), 1, 0)
    with pytest.raises(RuntimeError):
        led.begin(make_catalog(), 1, 1)
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

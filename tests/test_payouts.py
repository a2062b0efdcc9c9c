"""Payout rules: conservation, non-negativity, invariances and known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamsim.economics import revenue as money
from streamsim.economics import rules
from streamsim.economics import tables
from streamsim.core import units
from streamsim.economics.rules import rule_names
from streamsim.core.config import PayoutsConfig

RULES = rule_names()

CFG = PayoutsConfig()
FULL = money.Scale(1.0, 1.0)


@st.composite
def epochs(draw, max_listeners=6, max_tracks=8, max_artists=4):
    """A small random epoch: catalog, listeners, revenue and a stream table (maybe empty)."""
    n_l = draw(st.integers(1, max_listeners))
    n_t = draw(st.integers(1, max_tracks))
    n_a = draw(st.integers(1, max_artists))
    track_artist = np.array(draw(st.lists(st.integers(0, n_a - 1), min_size=n_t, max_size=n_t)))
    premium = np.array(draw(st.lists(st.booleans(), min_size=n_l, max_size=n_l)))
    active = np.array(draw(st.lists(st.booleans(), min_size=n_l, max_size=n_l)))
    pairs = draw(st.lists(st.tuples(st.integers(0, n_l - 1), st.integers(0, n_t - 1)),
                          unique=True, max_size=20))
    streams = np.array(draw(st.lists(st.integers(0, 400), min_size=len(pairs), max_size=len(pairs))),
                       dtype=float)
    frac = np.array(draw(st.lists(st.floats(0, 1), min_size=len(pairs), max_size=len(pairs))))
    sought = np.floor(streams * frac)
    per_stream = np.array(draw(st.lists(st.floats(30, 1800), min_size=len(pairs), max_size=len(pairs))))
    lis = np.array([p[0] for p in pairs], dtype=np.int32)
    trk = np.array([p[1] for p in pairs], dtype=np.int32)
    table = tables.StreamTable(lis, trk, track_artist[trk] if len(trk) else trk, streams, sought,
                               streams * per_stream)
    trailing = np.array(draw(st.lists(st.integers(0, 3000), min_size=n_t, max_size=n_t)), float)
    return dict(table=table, revenue=money.listener_revenue(premium, active, CFG), n_tracks=n_t,
                n_artists=n_a, trailing=trailing, track_artist=track_artist)


def _settle_all(e, cfg=CFG, scale=FULL):
    return rules.settle_all(e["table"], e["revenue"], e["n_tracks"], e["n_artists"], cfg,
                        e["trailing"], scale)


def test_listener_revenue_weekly_and_inactive_pay_nothing():
    rev = money.listener_revenue(np.array([True, False, True]), np.array([True, True, False]), CFG)
    assert rev == pytest.approx([10.99 * 12 / 52, 0.6 * 12 / 52, 0.0])
    assert money.pool_of(rev, CFG) == pytest.approx(0.66 * (10.99 + 0.6) * 12 / 52)


@settings(max_examples=150, deadline=None)
@given(epochs())
def test_every_rule_conserves_money_and_is_non_negative(e):
    pool = money.pool_of(e["revenue"], CFG)
    for rule, paid in _settle_all(e).items():
        assert paid.shape == (e["n_tracks"],) and paid.dtype == np.float64
        assert np.all(paid >= 0), rule
        assert np.all(np.isfinite(paid)), rule
        assert paid.sum() + rules.unpaid(paid, pool) == pytest.approx(pool, rel=1e-12, abs=1e-12), rule
        if e["table"].streams.sum() == 0:
            assert rules.unpaid(paid, pool) == pool
        elif rule != "threshold" and pool > 0:
            assert rules.unpaid(paid, pool) == 0.0, rule


@settings(max_examples=100, deadline=None)
@given(epochs(), st.randoms(use_true_random=False))
def test_relabelling_artists_changes_no_track_payout(e, rnd):
    perm = np.arange(e["n_artists"])
    rnd.shuffle(perm)
    t = e["table"]
    relabelled = dict(e, table=tables.StreamTable(t.listener, t.track, perm[t.artist], t.streams, t.sought,
                                                  t.seconds))
    scale = money.Scale(0.05, 0.02)
    a, b = _settle_all(e, scale=scale), _settle_all(relabelled, scale=scale)
    for rule in RULES:
        np.testing.assert_allclose(a[rule], b[rule], rtol=1e-12, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 30), st.data())
def test_user_centric_equals_pro_rata_when_everyone_streams_and_pays_alike(n_l, n_t, total, data):
    rows = []
    for listener in range(n_l):
        cuts = sorted(data.draw(st.lists(st.integers(0, total), min_size=n_t - 1, max_size=n_t - 1)))
        counts = np.diff([0, *cuts, total])
        rows += [(listener, t, c) for t, c in enumerate(counts) if c > 0]
    lis, trk, s = (np.array(c) for c in zip(*rows))
    table = tables.StreamTable(lis, trk, np.zeros_like(trk), s, np.zeros_like(s))
    revenue = money.listener_revenue(np.ones(n_l, bool), np.ones(n_l, bool), CFG)
    uc = rules.settle("user_centric", table, revenue, n_t, 1, CFG, np.zeros(n_t), FULL)
    pr = rules.settle("pro_rata", table, revenue, n_t, 1, CFG, np.zeros(n_t), FULL)
    np.testing.assert_allclose(uc, pr, rtol=1e-12, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(epochs())
def test_threshold_with_zero_bar_equals_pro_rata(e):
    cfg = PayoutsConfig(threshold={"min_streams": 0.0})
    out = _settle_all(e, cfg=cfg)
    np.testing.assert_allclose(out["threshold"], out["pro_rata"], rtol=1e-12, atol=1e-12)


def test_empty_epoch_pays_nothing_and_leaves_the_pool_unpaid():
    revenue = money.listener_revenue(np.ones(3, bool), np.ones(3, bool), CFG)
    pool = money.pool_of(revenue, CFG)
    out = rules.settle_all(tables.StreamTable.empty(), revenue, 4, 2, CFG, np.zeros(4), FULL)
    for paid in out.values():
        assert np.array_equal(paid, np.zeros(4))
        assert rules.unpaid(paid, pool) == pool


def test_single_listener_single_artist_gets_the_whole_pool():
    table = tables.StreamTable([0, 0], [0, 1], [0, 0], [3.0, 1.0], [1.0, 0.0], [600.0, 200.0])
    revenue = np.array([10.0])
    out = rules.settle_all(table, revenue, 2, 1, CFG, np.array([5000.0, 5000.0]), FULL)
    for rule in ("pro_rata", "user_centric", "threshold", "duration"):
        assert out[rule] == pytest.approx([0.66 * 10 * 0.75, 0.66 * 10 * 0.25]), rule
    # artist-centric: track 0 has one sought stream (weight 2) and two plain ones.
    assert out["artist_centric"] == pytest.approx([6.6 * 4 / 5, 6.6 * 1 / 5])


def test_user_centric_known_answer_and_idle_payers():
    # Listener 0 pays 10 and streams track 0 once; listener 1 pays 10 and streams track 1 nine
    # times; listener 2 pays 10 and streams nothing (split pro rata); listener 3 streams, pays 0.
    table = tables.StreamTable([0, 1, 3], [0, 1, 2], [0, 1, 2], [1.0, 9.0, 10.0], [0.0, 0.0, 0.0])
    revenue = np.array([10.0, 10.0, 10.0, 0.0])
    paid = rules.settle("user_centric", table, revenue, 3, 3, CFG, np.zeros(3), FULL)
    idle = 6.6 / 20
    assert paid == pytest.approx([6.6 + idle * 1, 6.6 + idle * 9, idle * 10])
    pro = rules.settle("pro_rata", table, revenue, 3, 3, CFG, np.zeros(3), FULL)
    assert pro == pytest.approx([19.8 / 20, 19.8 * 9 / 20, 19.8 * 10 / 20])


def _artist_centric(bars: tuple[float, float], scale: money.Scale) -> np.ndarray:
    """Artist 0: 2 listeners x 5 streams (5 of them sought) = 10 streams. Artist 1: listener 2
    streams its two tracks 10 and 40 times. Monthly bars (streams, listeners) as given; cap 20 a
    week. Returns the artist-centric payout per track of a pool of 1.98."""
    cfg = PayoutsConfig(artist_centric={"min_monthly_streams": 52 / 12 * bars[0],
                                        "min_monthly_listeners": 52 / 12 * bars[1],
                                        "listener_cap": 52 / 12 * 20})
    table = tables.StreamTable([0, 1, 2, 2], [0, 0, 1, 2], [0, 0, 1, 1], [5.0, 5.0, 10.0, 40.0],
                               [0.0, 5.0, 0.0, 0.0])
    return rules.settle("artist_centric", table, np.ones(3), 3, 2, cfg, np.zeros(3), scale)


def test_artist_centric_boost_and_cap():
    # track 0: (5 + 5*2) boosted x 2 = 30; listener 2's 50 streams count as 20: 4 and 16.
    assert _artist_centric((10, 2), FULL) == pytest.approx(np.array([30.0, 4.0, 16.0]) / 50 * 1.98)


def test_artist_centric_bars_scale_with_the_artist_scale_and_the_cap_does_not():
    """At Scale(track 1, artist 0.1) monthly bars of 80 streams and 15 listeners become 8 and 1.5
    a week over 52/12, which artist 0 reaches; the per-listener cap (20 a week) is a per-account
    bar and stays 20 whatever the scale."""
    small = _artist_centric((80, 15), money.Scale(1.0, 0.1))
    assert small == pytest.approx(np.array([30.0, 4.0, 16.0]) / 50 * 1.98)
    full = _artist_centric((80, 15), FULL)
    assert full == pytest.approx(np.array([15.0, 4.0, 16.0]) / 35 * 1.98)      # no boost at full scale


def test_artist_centric_cap_bounds_what_a_stream_farm_earns():
    """docs/MODEL.md: the per-listener cap is what stops stream farms. 40 listeners stream 10
    times each (under the cap); 5 bots stream a fraud track 1,000 times each. Pro rata pays the
    farm its share of streams; artist-centric counts each bot as the cap (50 a week)."""
    cap = 50.0
    cfg = PayoutsConfig(artist_centric={"min_monthly_streams": 1e12, "min_monthly_listeners": 1e12,
                                        "listener_cap": 52 / 12 * cap})
    humans, bots = np.arange(40), np.arange(40, 45)
    table = tables.StreamTable(np.r_[humans, bots], np.r_[humans % 4, np.full(5, 4)],
                               np.r_[humans % 4 // 2, np.full(5, 2)], np.r_[np.full(40, 10.0), np.full(5, 1000.0)],
                               np.zeros(45), np.r_[np.full(40, 2000.0), np.full(5, 31_000.0)])
    revenue = np.ones(45)
    out = rules.settle_all(table, revenue, 5, 3, cfg, np.zeros(5), FULL)
    pool = money.pool_of(revenue, cfg)
    assert out["pro_rata"][4] / pool == pytest.approx(5000 / 5400)
    assert out["artist_centric"][4] / pool == pytest.approx(5 * cap / (5 * cap + 400))
    uncapped = cfg.model_copy(update={"artist_centric": cfg.artist_centric.model_copy(update={"listener_cap": 1e12})})
    farm = rules.settle("artist_centric", table, revenue, 5, 3, uncapped, np.zeros(5), FULL)[4]
    assert farm / pool == pytest.approx(5000 / 5400)                           # the cap, not the boosts


def test_threshold_excludes_tracks_under_the_bar_and_prorates_short_history():
    table = tables.StreamTable([0, 0], [0, 1], [0, 1], [1.0, 3.0], [0.0, 0.0])
    cfg = PayoutsConfig(threshold={"min_streams": 100.0, "window_epochs": 10})
    trailing = np.array([60.0, 200.0])
    full = rules.settle("threshold", table, np.array([1.0]), 2, 2, cfg, trailing, FULL)
    assert full == pytest.approx([0.0, 0.66])
    half = rules.settle("threshold", table, np.array([1.0]), 2, 2, cfg, trailing, FULL, history_epochs=5)
    assert half == pytest.approx([0.66 / 4, 0.66 * 3 / 4])
    nobody = rules.settle("threshold", table, np.array([1.0]), 2, 2, cfg, np.zeros(2), FULL)
    assert rules.unpaid(nobody, 0.66) == 0.66 and not nobody.any()


def test_scale_auto_and_fixed():
    streams = np.full(1000, units.REAL_STREAMS_PER_TRACK_EPOCH)
    assert money.auto_scale(streams, 1000) == pytest.approx(1.0)
    assert money.auto_scale(np.zeros(0), 0) == 0.0
    auto = money.resolve_scale(CFG, streams, n_tracks=1000, n_artists=1000)
    # same streams per artist as per track: the artist scale is the per-artist mean ratio
    assert auto.artist == pytest.approx(units.REAL_STREAMS_PER_TRACK_EPOCH / units.REAL_STREAMS_PER_ARTIST_EPOCH)
    fixed = money.resolve_scale(PayoutsConfig(scale=0.01), streams, 100, 100)
    assert fixed.track == 0.01 and fixed.artist == pytest.approx(0.01 * units.REAL_ARTISTS / units.REAL_TRACKS)
    assert money.Scale.of(fixed, 1, 1) is fixed
    assert rules.threshold_bar(CFG, money.Scale(0.5, 1.0)) == 500.0


def test_float_scale_and_foreign_table_are_accepted():
    class LedgerTable:  # another table type: same columns, int64 counts
        listener = np.array([0, 0, 1], np.int32)
        track = np.array([0, 1, 1], np.int32)
        artist = np.array([0, 1, 1], np.int32)
        streams = np.array([2, 1, 1], np.int64)
        sought = np.array([1, 0, 0], np.int64)
        seconds = np.array([400, 200, 200], np.int64)

    out = rules.settle_all(LedgerTable(), np.ones(2), 2, 2, CFG, np.full(2, 1e6), 0.001)
    assert out["pro_rata"] == pytest.approx([1.32 / 2, 1.32 / 2])
    for paid in out.values():
        assert paid.sum() == pytest.approx(1.32)


def test_stream_table_from_events_aggregates_per_listener_and_track():
    listener = np.array([2, 0, 2, 2, 1])
    track = np.array([1, 0, 1, 0, 1])
    is_stream = np.array([True, True, True, True, False])
    sought = np.array([True, False, False, True, True])
    seconds = np.array([40.0, 100.0, 60.0, 35.0, 10.0])
    t = tables.StreamTable.from_events(listener, track, is_stream, sought, np.array([5, 7]), 2, seconds)
    assert t.listener.tolist() == [0, 2, 2] and t.track.tolist() == [0, 0, 1]
    assert t.artist.tolist() == [5, 5, 7]
    assert t.streams.tolist() == [1, 1, 2] and t.sought.tolist() == [0, 1, 1]
    assert t.seconds.tolist() == [100.0, 35.0, 100.0]
    assert tables.StreamTable.from_events(listener, track, is_stream, sought, np.array([5, 7]), 2).seconds is None


def test_distinct_counts_and_unsorted_tables_are_grouped():
    t = tables.StreamTable([1, 0, 1, 0], [0, 1, 2, 0], [0, 1, 0, 0], [1.0] * 4, [0.0] * 4, [30.0, 40, 50, 60])
    assert t.listener.tolist() == [0, 0, 1, 1]
    assert t.seconds.tolist() == [40.0, 60.0, 30.0, 50.0]
    per_artist, per_listener = tables.distinct_counts(t.listener, t.artist, 2, 2)
    assert per_artist.tolist() == [2, 1] and per_listener.tolist() == [2, 1]


def test_unknown_rule_is_an_error():
    with pytest.raises(KeyError, match="unknown payout rule"):
        rules.settle("nope", tables.StreamTable.empty(), np.ones(1), 1, 1, CFG, np.zeros(1), FULL)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 300), st.integers(1, 7), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_stream_table_from_events_matches_a_sort_based_reference(n, n_l, n_t, seed):
    rng = np.random.default_rng(seed)
    lis, trk = rng.integers(0, n_l, n), rng.integers(0, n_t, n)
    is_stream, sought = rng.random(n) < 0.7, rng.random(n) < 0.5
    seconds = rng.uniform(30, 300, n).round()
    t = tables.StreamTable.from_events(lis, trk, is_stream, sought, np.arange(n_t) % 3, n_t, seconds)
    key = lis[is_stream] * n_t + trk[is_stream]
    uniq, inv = np.unique(key, return_inverse=True)
    assert t.listener.tolist() == (uniq // n_t).tolist() and t.track.tolist() == (uniq % n_t).tolist()
    assert t.streams.tolist() == np.bincount(inv, minlength=len(uniq)).tolist()
    assert t.sought.tolist() == np.bincount(inv, weights=sought[is_stream], minlength=len(uniq)).tolist()
    assert t.seconds.tolist() == np.bincount(inv, weights=seconds[is_stream], minlength=len(uniq)).tolist()
    assert t.artist.tolist() == (t.track % 3).tolist()


# -- the duration rule ------------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(epochs(), st.floats(30, 400))
def test_duration_equals_pro_rata_when_every_stream_lasts_alike(e, seconds_per_stream):
    t = e["table"]
    same = dict(e, table=tables.StreamTable(t.listener, t.track, t.artist, t.streams, t.sought,
                                            t.streams * seconds_per_stream))
    out = _settle_all(same)
    np.testing.assert_allclose(out["duration"], out["pro_rata"], rtol=1e-12, atol=1e-12)


def test_duration_known_answer_with_the_cap_per_stream():
    # track 0: 2 streams of 100 s; track 1: 1 stream of 600 s, capped at 420; track 2: 3 streams of 50 s
    table = tables.StreamTable([0, 0, 1], [0, 1, 2], [0, 1, 1], [2.0, 1.0, 3.0], [0.0, 0.0, 0.0],
                               [200.0, 600.0, 150.0])
    paid = rules.settle("duration", table, np.array([1.0, 1.0]), 3, 2, CFG, np.zeros(3), FULL)
    assert paid == pytest.approx(np.array([200.0, 420.0, 150.0]) / 770.0 * 1.32)
    # pro-rata pays by streams alone: the long track gets a sixth, the duration rule more than half
    pro = rules.settle("pro_rata", table, np.array([1.0, 1.0]), 3, 2, CFG, np.zeros(3), FULL)
    assert pro == pytest.approx(np.array([2.0, 1.0, 3.0]) / 6.0 * 1.32)


def test_duration_refuses_a_table_without_seconds():
    table = tables.StreamTable([0], [0], [0], [1.0], [0.0])
    with pytest.raises(ValueError, match="no seconds"):
        rules.settle("duration", table, np.ones(1), 1, 1, CFG, np.zeros(1), FULL)


# -- the threshold rule's minimum length ----------------------------------------------------------

def test_threshold_minimum_length_excludes_short_tracks():
    table = tables.StreamTable([0, 0, 0], [0, 1, 2], [0, 1, 2], [1.0, 3.0, 4.0], [0.0, 0.0, 0.0])
    cfg = PayoutsConfig(threshold={"min_streams": 0.0, "min_length_s": 120.0})
    lengths = np.array([119.0, 120.0, 300.0])
    paid = rules.settle("threshold", table, np.array([1.0]), 3, 3, cfg, np.zeros(3), FULL, track_length_s=lengths)
    assert paid == pytest.approx([0.0, 0.66 * 3 / 7, 0.66 * 4 / 7])
    with pytest.raises(ValueError, match="lengths"):
        rules.settle("threshold", table, np.array([1.0]), 3, 3, cfg, np.zeros(3), FULL)


@settings(max_examples=50, deadline=None)
@given(epochs(), st.floats(0, 600))
def test_threshold_minimum_length_conserves_money(e, min_length):
    cfg = PayoutsConfig(threshold={"min_length_s": min_length})
    lengths = np.linspace(60, 400, e["n_tracks"])
    paid = rules.settle("threshold", e["table"], e["revenue"], e["n_tracks"], e["n_artists"], cfg, e["trailing"],
                        FULL, track_length_s=lengths)
    pool = money.pool_of(e["revenue"], cfg)
    assert np.all(paid >= 0) and not paid[lengths < min_length].any()
    assert paid.sum() + rules.unpaid(paid, pool) == pytest.approx(pool, rel=1e-12, abs=1e-12)


# -- artist-centric bars over a rolling window --------------------------------------------------------

def test_artist_centric_one_epoch_window_is_the_weekly_reading():
    table = tables.StreamTable([0, 1, 2, 2], [0, 0, 1, 2], [0, 0, 1, 1], [5.0, 5.0, 10.0, 40.0], [0.0, 5.0, 0.0, 0.0])
    cfg = PayoutsConfig(artist_centric={"min_monthly_streams": 52 / 12 * 10, "min_monthly_listeners": 52 / 12 * 2})
    window = tables.ArtistWindow.of(table, 2)
    assert window.listeners.tolist() == [2.0, 1.0] and window.streams.tolist() == [10.0, 50.0]
    a = rules.settle("artist_centric", table, np.ones(3), 3, 2, cfg, np.zeros(3), FULL)
    b = rules.settle("artist_centric", table, np.ones(3), 3, 2, cfg, np.zeros(3), FULL, artist_window=window)
    np.testing.assert_array_equal(a, b)


def test_artist_centric_boost_counts_listeners_over_the_window():
    # This week artist 0 has 1 listener; over the 4-week window it had 3 distinct ones, artist 1 only 1.
    table = tables.StreamTable([0, 1], [0, 1], [0, 1], [10.0, 10.0], [0.0, 0.0])
    cfg = PayoutsConfig(artist_centric={"min_monthly_streams": 0.0, "min_monthly_listeners": 3 * 52 / 12 / 4,
                                        "window_epochs": 4})
    window = tables.ArtistWindow(np.array([40.0, 40.0]), np.array([3.0, 1.0]), 4)
    paid = rules.settle("artist_centric", table, np.ones(2), 2, 2, cfg, np.zeros(2), FULL, artist_window=window)
    assert paid == pytest.approx(np.array([20.0, 10.0]) / 30 * 1.32)
    # with two weeks of history the bar is pro-rated to two weeks: 1.5 listeners; artist 1 still misses it
    early = tables.ArtistWindow(np.array([20.0, 20.0]), np.array([2.0, 1.0]), 2)
    paid = rules.settle("artist_centric", table, np.ones(2), 2, 2, cfg, np.zeros(2), FULL, artist_window=early)
    assert paid == pytest.approx(np.array([20.0, 10.0]) / 30 * 1.32)


# -- money as artists see it --------------------------------------------------------------------------

def test_net_shares_by_contract():
    from streamsim.core.codes import Contract
    from streamsim.economics.splits import net_income, net_shares

    cfg = CFG.splits
    shares = net_shares(np.array([Contract.MAJOR, Contract.INDEPENDENT, Contract.SELF_RELEASED]), cfg)
    assert shares == pytest.approx([0.85 * 0.233 + 0.15 * 0.5, 0.85 * 0.5 + 0.075, 0.85 * 0.9 + 0.075])
    assert net_income(np.array([100.0, 100.0]), np.array([0, 2]), cfg) == pytest.approx([27.305, 84.0])


def test_money_scale_is_pool_per_artist_over_the_real_one_under_auto():
    streams = np.full(100, 50.0)
    scale = money.resolve_scale(CFG, streams, n_tracks=100, n_artists=20)
    pool = 30.0
    expected = (pool / 20) / (units.REAL_STREAMS_PER_ARTIST_EPOCH * units.REAL_USD_PER_STREAM)
    assert money.money_scale(scale, pool, streams.sum()) == pytest.approx(expected)
    assert money.monthly_bar(1000.0, scale, pool, streams.sum()) == pytest.approx(1000 / (52 / 12) * expected)
    assert money.money_scale(scale, pool, 0.0) == 0.0

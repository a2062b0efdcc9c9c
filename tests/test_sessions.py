"""Sessions, continuity, form and mainstreamness in the listening kernel (docs/MODEL.md section 3).

Each test feeds the kernel toy listeners and a toy catalog and checks the direction of a mechanism,
never a tuned number.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamsim.agents.catalog import Catalog
from streamsim.agents.channels import Pool, by_popularity, next_releases
from streamsim.agents.listening import listen
from streamsim.core.codes import Channel
from streamsim.core.config import Scenario
from streamsim.core.utility import form_utility, mainstream_utility, tilt_quantile
from streamsim.testing import toy_listeners

D = 4
NO_SKIPS = {"listeners.behaviour.a0": -30.0, "listeners.behaviour.b0": -30.0}   # every play completes


def catalog(n_artists: int, per_artist: int, length=200.0, intro=10.0, quality=0.0) -> Catalog:
    """n_artists x per_artist tracks, the same style; track ids grouped by artist, in release order.
    ``length`` may be one value or one per artist."""
    n = n_artists * per_artist
    cat = Catalog(D, 3, 2)
    style = np.zeros((n, D), np.float32)
    style[:, 0] = 1.0
    artist = np.repeat(np.arange(n_artists), per_artist).astype(np.int32)
    lengths = np.broadcast_to(np.asarray(length, np.float64), (n_artists,))[artist]
    cat.append(artist=artist, genre=np.zeros(n, np.int16), style=style, quality=np.full(n, quality),
               length_s=lengths, intro_s=np.full(n, intro), release_epoch=np.zeros(n),
               audio=np.zeros((n, 3)), tags=np.zeros((n, 2)), explicit=np.zeros(n, bool),
               regions=np.full(n, 1, np.uint32), fraud=np.zeros(n, bool))
    return cat


def scenario(continuity: float = 0.0, channel: str = "library", **keys) -> Scenario:
    """Defaults without form in utility, with ``continuity`` on the given channel."""
    base = {"listeners.form.length_weight": 0.0, "listeners.form.intro_weight": 0.0,
            f"listeners.sessions.continuity.{channel}": continuity}
    return Scenario().replace(**{**base, **keys})


def same_artist_pairs(ev, cat) -> np.ndarray:
    """For each consecutive pair of one listener's plays: whether both are by one artist."""
    same_listener = ev.listener[1:] == ev.listener[:-1]
    art = cat.artist[ev.track]
    return (art[1:] == art[:-1])[same_listener]


def test_next_release_walks_each_artists_album_and_wraps():
    cat = Catalog(D, 3, 2)
    artist = np.array([2, 0, 2, 1, 2, 0, 2, 2], np.int32)        # artist 1 has a single track
    n = len(artist)
    cat.append(artist=artist, genre=np.zeros(n), style=np.ones((n, D)), quality=np.zeros(n),
               length_s=np.full(n, 200.0), intro_s=np.zeros(n), release_epoch=np.arange(n), audio=np.zeros((n, 3)),
               tags=np.zeros((n, 2)), explicit=np.zeros(n, bool), regions=np.ones(n, np.uint32),
               fraud=np.zeros(n, bool))
    np.testing.assert_array_equal(next_releases(cat, 10), [2, 5, 4, -1, 6, 1, 7, 0])
    # albums of two: artist 2's releases 0, 2 | 4, 6 | 7 (alone in its album)
    np.testing.assert_array_equal(next_releases(cat, 2), [2, 5, 0, -1, 6, 1, 4, -1])


def test_continuity_one_keeps_a_session_on_one_artist():
    cat = catalog(n_artists=20, per_artist=5)
    sc = scenario(1.0, **NO_SKIPS, **{"listeners.sessions.repeat_share": 0.0,
                                     "listeners.sessions.minutes_mean": 10_000.0})
    listeners, slates = toy_listeners(cat, 50, budget_s=3000.0)
    ev = listen(listeners, slates, cat, sc, 0, 3)
    assert same_artist_pairs(ev, cat).all()
    # ... playing its album through: every play after the first is the previous one's next release
    same = ev.listener[1:] == ev.listener[:-1]
    np.testing.assert_array_equal(ev.track[1:][same], slates.next_track[ev.track[:-1][same]])


def test_repeat_share_one_plays_the_same_track_on_repeat():
    cat = catalog(n_artists=20, per_artist=5)
    sc = scenario(1.0, **NO_SKIPS, **{"listeners.sessions.repeat_share": 1.0,
                                     "listeners.sessions.minutes_mean": 10_000.0})
    listeners, slates = toy_listeners(cat, 30, budget_s=3000.0)
    ev = listen(listeners, slates, cat, sc, 0, 3)
    same = ev.listener[1:] == ev.listener[:-1]
    assert (ev.track[1:][same] == ev.track[:-1][same]).all()


def test_continuity_zero_reproduces_independent_draws():
    """Without continuity, the chance that two consecutive plays share an artist is the chance that
    two independent draws from the channel do: sum over artists of their squared draw share."""
    cat = catalog(n_artists=10, per_artist=5)
    weights = np.repeat(np.arange(1, 11), 5).astype(np.float64)       # artists drawn unevenly
    share = np.bincount(cat.artist, weights=weights) / weights.sum()
    listeners, slates = toy_listeners(cat, 400, weights=weights, budget_s=6000.0)
    ev = listen(listeners, slates, cat, scenario(0.0, **NO_SKIPS), 0, 5)
    pairs = same_artist_pairs(ev, cat)
    expected = float((share ** 2).sum())
    assert abs(pairs.mean() - expected) < 4 * np.sqrt(expected * (1 - expected) / len(pairs))
    with_continuity = same_artist_pairs(listen(listeners, slates, cat, scenario(0.6, **NO_SKIPS), 0, 5), cat)
    assert with_continuity.mean() > expected + 0.3


def test_sessions_hold_one_channel_and_zero_minutes_draws_one_per_exposure():
    cat = catalog(n_artists=10, per_artist=5)
    listeners, slates = toy_listeners(cat, 300, budget_s=6000.0)
    slates.search = Pool.from_lists([np.arange(len(cat), dtype=np.int32)])
    slates.mix[:, Channel.LIBRARY] = 0.5
    slates.mix[:, Channel.SEARCH] = 0.5

    def switches(minutes):
        sc = scenario(0.0, **{"listeners.sessions.minutes_mean": minutes})
        ev = listen(listeners, slates, cat, sc, 0, 9)
        same = ev.listener[1:] == ev.listener[:-1]
        return (ev.channel[1:] != ev.channel[:-1])[same].mean()

    assert switches(10_000.0) < 0.002                 # about one session for the whole week
    assert abs(switches(0.0) - 0.5) < 0.03            # every exposure draws its channel afresh
    assert 0.0 < switches(30.0) < 0.25                # several sessions a week


def test_shorter_tracks_earn_their_artist_a_larger_share_only_through_continuity():
    """Artist 0 cuts its tracks from 240 s to 120 s. Without continuity the seconds it saves go to
    every artist alike, so its share of streams stays; with continuity, a session that stays with
    the artist fits more of its tracks in the same minutes, so its share rises."""
    n_art = 10

    def share_of_artist0(length0, continuity):
        lengths = np.full(n_art, 240.0)
        lengths[0] = length0
        cat = catalog(n_artists=n_art, per_artist=6, length=lengths)
        listeners, slates = toy_listeners(cat, 2000, budget_s=4 * 3600.0)
        sc = scenario(continuity, **NO_SKIPS, **{"listeners.sessions.minutes_mean": 20.0})
        ev = listen(listeners, slates, cat, sc, 0, 11)
        return float((cat.artist[ev.track] == 0).mean())

    flat = share_of_artist0(120.0, 0.0) / share_of_artist0(240.0, 0.0)
    sticky = share_of_artist0(120.0, 0.9) / share_of_artist0(240.0, 0.9)
    assert abs(flat - 1.0) < 0.03
    assert sticky > flat + 0.1


def test_kernel_utility_is_the_documented_sum():
    cat = catalog(n_artists=4, per_artist=3, length=180.0, intro=20.0, quality=0.3)
    pop = np.repeat([0.9, 0.3, -0.2, -0.8], 3)
    sc = scenario(0.0, **{"listeners.behaviour.utility_noise": 0.0, "listeners.form.length_weight": 0.2,
                          "listeners.form.intro_weight": 0.1})
    m = np.linspace(-2, 2, 40)
    listeners, slates = toy_listeners(cat, 40, mainstream=m, length_ideal=np.linspace(100, 300, 40),
                                      intro_ideal=np.linspace(0, 30, 40), popularity=pop, budget_s=1500.0)
    ev = listen(listeners, slates, cat, sc, 0, 2)
    lc = sc.listeners
    f = lc.form
    l = ev.listener
    expected = (lc.behaviour.w_taste * 0.5 + lc.behaviour.w_quality * 0.3
                + mainstream_utility(m[l], pop[ev.track], lc.mainstream.utility)
                + form_utility(180.0, 20.0, listeners.length_ideal[l], listeners.intro_ideal[l], f.length_weight,
                               f.length_tolerance_s, f.intro_weight, f.intro_tolerance_s))
    np.testing.assert_allclose(ev.utility, expected, atol=1e-5)


@pytest.mark.parametrize("track_length", [120.0, 330.0])
def test_form_preferences_shift_skips_the_documented_way(track_length):
    """Listeners whose ideal length is far from the track's skip it more; a track cut short is
    skipped more by listeners with a long ideal, a long one by listeners with a short ideal."""
    cat = catalog(n_artists=1, per_artist=1, length=track_length)
    sc = scenario(0.0, **{"listeners.form.length_weight": 0.3})
    ideal = np.where(np.arange(2000) < 1000, 120.0, 330.0)
    listeners, slates = toy_listeners(cat, 2000, length_ideal=ideal, budget_s=3000.0)
    ev = listen(listeners, slates, cat, sc, 0, 4)
    skipped = ev.seconds < track_length
    near = (ideal[ev.listener] == track_length)
    assert skipped[~near].mean() > skipped[near].mean() + 0.05
    flat = listen(listeners, slates, cat, scenario(0.0), 0, 4)
    flat_skipped = flat.seconds < track_length
    assert abs(flat_skipped[ideal[flat.listener] == 120.0].mean() - flat_skipped[ideal[flat.listener] == 330.0].mean()) < 0.03


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-6, 1 - 1e-6), st.floats(1e-3, 1e3))
def test_tilt_keeps_quantiles_ordered_and_moves_them_toward_the_popular_end(u, k):
    t = tilt_quantile(u, k)
    assert 0.0 < t < 1.0
    assert (t <= u + 1e-12) if k >= 1 else (t >= u - 1e-12)
    assert tilt_quantile(u, 1.0) == pytest.approx(u)
    assert tilt_quantile(min(u + 1e-3, 1 - 1e-7), k) >= t


@pytest.mark.parametrize("channel", [Channel.SEARCH, Channel.RADIO])
def test_mainstream_listeners_find_popular_artists_and_niche_ones_obscure(channel):
    cat = catalog(n_artists=20, per_artist=1)
    pop = np.linspace(1.0, -1.0, 20).astype(np.float32)           # artist 0 most popular
    m = np.where(np.arange(1000) < 500, 1.5, -1.5)
    sc = scenario(0.0, "search", **{"listeners.mainstream.utility": 0.0})
    if channel == Channel.SEARCH:
        listeners, slates = toy_listeners(cat, 1000, Channel.SEARCH, mainstream=m, popularity=pop)
    else:
        listeners, slates = toy_listeners(cat, 1000, Channel.LIBRARY, mainstream=m, popularity=pop)
        slates.mix[:, Channel.LIBRARY] = 0.0
        slates.mix[:, Channel.RADIO] = 1.0
        slates.radio_seed[:] = 0
        slates.neighbour_row[:] = 0
        slates.neighbour_items = by_popularity(np.arange(20, dtype=np.int32)[::-1][None, :].copy(), pop)
        np.testing.assert_array_equal(slates.neighbour_items[0], np.arange(20))
    ev = listen(listeners, slates, cat, sc, 0, 6)
    heard = pop[ev.track]
    mainstream = m[ev.listener] > 0
    assert heard[mainstream].mean() > heard[~mainstream].mean() + 0.3
    flat = listen(listeners, slates, cat, sc.replace(**{f"listeners.mainstream.{channel.name.lower()}_tilt": 0.0}),
                  0, 6)
    assert abs(pop[flat.track][m[flat.listener] > 0].mean() - pop[flat.track][m[flat.listener] < 0].mean()) < 0.1


def test_a_radio_station_stays_on_its_seed_unless_it_drifts():
    """A chain of neighbour lists (track i's only neighbour is i + 1): a station on seed 0 plays
    track 1 over and over; with drift 1 it walks the chain one stream at a time."""
    n = 40
    cat = catalog(n_artists=n, per_artist=1)
    listeners, slates = toy_listeners(cat, 20, Channel.LIBRARY, budget_s=2000.0)
    slates.mix[:, Channel.LIBRARY] = 0.0
    slates.mix[:, Channel.RADIO] = 1.0
    slates.radio_seed[:] = 0
    slates.neighbour_row[:] = np.arange(n)
    slates.neighbour_items = ((np.arange(n) + 1) % n).astype(np.int32)[:, None].copy()
    keys = {**NO_SKIPS, "listeners.sessions.minutes_mean": 10_000.0}
    station = listen(listeners, slates, cat, scenario(0.0, "radio", **keys), 0, 4)
    assert len(station) >= 20 * 8 and (station.track == 1).all()
    walk = listen(listeners, slates, cat, scenario(0.0, "radio", **keys, **{"listeners.sessions.radio_drift": 1.0}), 0, 4)
    same = walk.listener[1:] == walk.listener[:-1]
    np.testing.assert_array_equal(walk.track[1:][same], (walk.track[:-1][same] + 1) % n)
    half = listen(listeners, slates, cat, scenario(0.0, "radio", **keys, **{"listeners.sessions.radio_drift": 0.5}), 0, 4)
    same = half.listener[1:] == half.listener[:-1]
    moved = (half.track[1:][same] != half.track[:-1][same]).mean()
    assert 0.35 < moved < 0.65

"""Editors: capacity, playlists per genre, signals and the major-label bias."""

from __future__ import annotations

import mesa
import numpy as np

from streamsim.agents.artists import ArtistPopulation
from streamsim.agents.catalog import Catalog
from streamsim.agents.editors import Editors, top_per_genre
from streamsim.agents.world import World
from streamsim.core.config import load


def build(overrides=None, seed=0):
    sc = load(None, {"artists.count": 600, **(overrides or {})})
    rng = np.random.default_rng(seed)
    world = World.generate(sc, rng)
    cat = Catalog(sc.world.d_style, sc.world.audio_dim, sc.catalog.tags_per_track)
    pop = ArtistPopulation(mesa.Model(rng=seed), sc, world, cat, rng)
    return sc, world, cat, pop, Editors(sc, world, np.random.default_rng(seed + 1))


def curate(ed, cat, pop, last=None, prev=None, seed=0):
    z = np.zeros(len(cat))
    return ed.curate(cat, pop, z if last is None else last, z if prev is None else prev, 0,
                     np.random.default_rng(seed))


def test_playlists_per_genre_and_capacity():
    sc, world, cat, pop, ed = build({"channels.editorial_playlists_per_genre": 3,
                                     "channels.editorial_capacity": 40})
    pl = curate(ed, cat, pop)
    G = world.n_genres
    assert pl.items.shape == (3 * G, 40) and pl.items.dtype == np.int32
    assert pl.genre.dtype == np.int16
    np.testing.assert_array_equal(np.bincount(pl.genre, minlength=G), np.full(G, 3))
    for row, g in zip(pl.items, pl.genre):
        picked = row[row >= 0]
        assert len(picked) == min(40, np.count_nonzero(cat.genre == g))
        assert len(set(picked)) == len(picked)
        assert (cat.genre[picked] == g).all()
        assert (row[len(picked):] == -1).all()


def test_fame_drives_epoch_zero_and_streams_later():
    sc, world, cat, pop, ed = build({"channels.editorial_capacity": 20, "channels.editorial_window_epochs": 0})
    pl = curate(ed, cat, pop)
    picked = pl.items[pl.items >= 0]
    assert np.median(pop.fame[cat.artist[picked]]) > 2 * np.median(pop.fame[cat.artist])
    # once streams exist, a surging track of an unknown artist gets in
    unknown = np.flatnonzero(pop.fame[cat.artist] == pop.fame[cat.artist].min())[0]
    last = np.ones(len(cat))
    last[unknown] = 1e6
    pl = curate(ed, cat, pop, last=last, prev=np.ones(len(cat)))
    assert unknown in pl.items[pl.genre == cat.genre[unknown]]


def test_quality_signal_is_noisy_but_informative():
    sc, world, cat, pop, ed = build({"channels.editorial_capacity": 30, "channels.editors.artist": 0.0})
    flat = np.ones(len(cat))
    pl = curate(ed, cat, pop, last=flat, prev=flat)
    picked = pl.items[pl.items >= 0]
    assert cat.quality[picked].mean() > cat.quality.mean() + 0.5
    # two editors of the same genre do not pick identical lists
    assert not np.array_equal(pl.items[0], pl.items[1])


def test_major_bias_raises_major_share():
    shares = []
    for bias in (0.0, 2.0):
        sc, world, cat, pop, ed = build({"channels.editorial_major_bias": bias, "channels.editors.artist": 0.0,
                                         "channels.editorial_capacity": 30})
        flat = np.ones(len(cat))
        pl = curate(ed, cat, pop, last=flat, prev=flat)
        picked = pl.items[pl.items >= 0]
        shares.append(pop.major[cat.artist[picked]].mean())
    assert shares[1] > shares[0] + 0.2


def test_fraud_tracks_never_picked():
    from streamsim.agents.fraud import StreamFarm
    sc, world, cat, pop, ed = build({"fraud.bots": 5, "fraud.tracks": 50})
    farm = StreamFarm(sc, world, cat, pop, np.random.default_rng(3))
    last = np.ones(len(cat))
    last[farm.tracks] = 1e9
    pl = curate(ed, cat, pop, last=last, prev=np.ones(len(cat)))
    assert not np.isin(farm.tracks, pl.items).any()


def test_top_per_genre_pads_and_orders():
    score = np.array([0.1, 0.9, 0.5, 0.3])
    tracks = np.array([10, 11, 12, 13], np.int32)
    genre = np.array([0, 0, 0, 2])
    out = top_per_genre(score, tracks, genre, 3, 2)
    np.testing.assert_array_equal(out, [[11, 12], [-1, -1], [13, -1]])


def test_no_playlists_when_disabled():
    sc, world, cat, pop, ed = build({"channels.editorial_playlists_per_genre": 0})
    pl = curate(ed, cat, pop)
    assert pl.items.shape[0] == 0 and len(pl.genre) == 0


def test_new_release_of_a_popular_artist_is_picked():
    """A release without streams yet is judged by its artist's momentum."""
    def picked_new(who):
        sc, world, cat, pop, ed = build({"channels.editorial_capacity": 10})
        artist = {"star": int(np.argmax(pop.fame)), "unknown": int(np.argmin(pop.fame))}[who]
        last = pop.fame[cat.artist] ** 2
        pop.release_rate[:] = 0
        pop.release_rate[artist] = 30.0
        new = pop.release(5, np.random.default_rng(4))
        full = np.concatenate([last, np.zeros(len(new))])
        pl = ed.curate(cat, pop, full, full, 5, np.random.default_rng(0))
        return np.isin(new, pl.items).sum()

    assert picked_new("star") > picked_new("unknown")
    assert picked_new("star") >= 1


def test_the_scenario_weights_decide_what_editors_pick():
    """Quality alone with a perfect ear picks each genre's best tracks; popularity alone the most streamed."""
    cap = 10
    quality_only = {"channels.editorial_capacity": cap, "channels.editorial_window_epochs": 0,
                    "channels.editors.popularity": 0.0,
                    "channels.editors.artist": 0.0, "channels.editors.growth": 0.0,
                    "channels.editors.quality": 1.0, "channels.editors.quality_noise_sd": 0.0}
    sc, world, cat, pop, ed = build(quality_only)
    streams = np.random.default_rng(3).pareto(1.0, len(cat)) * 100
    pl = curate(ed, cat, pop, last=streams, prev=streams)
    for row, g in zip(pl.items, pl.genre):
        genre = np.flatnonzero(cat.genre == g)
        best = genre[np.argsort(-cat.quality[genre], kind="stable")[:cap]]
        assert set(row[row >= 0]) == set(best)

    popularity_only = {**quality_only, "channels.editors.popularity": 1.0, "channels.editors.quality": 0.0}
    sc, world, cat, pop, ed = build(popularity_only)
    pl = curate(ed, cat, pop, last=streams, prev=streams)
    for row, g in zip(pl.items, pl.genre):
        genre = np.flatnonzero(cat.genre == g)
        top = genre[np.argsort(-streams[genre], kind="stable")[:cap]]
        assert set(row[row >= 0]) == set(top)


def test_editors_know_artists_by_fame_not_by_the_streams_their_lists_make():
    """With artist_signal "fame" an artist's streams do not move its tracks up the lists (no loop
    from the lists to themselves); with "streams" they do."""
    artist_only = {"channels.editorial_capacity": 10, "channels.editors.popularity": 0.0,
                   "channels.editors.growth": 0.0, "channels.editors.quality": 0.0,
                   "channels.editors.quality_noise_sd": 0.0}
    picks = {}
    for signal in ("fame", "streams"):
        sc, world, cat, pop, ed = build({**artist_only, "channels.editors.artist_signal": signal})
        unknown = int(np.argmin(pop.fame))
        flat = np.ones(len(cat))
        boosted = flat.copy()
        boosted[cat.artist == unknown] = 1e6
        before = curate(ed, cat, pop, last=flat, prev=flat).items
        after = curate(ed, cat, pop, last=boosted, prev=flat).items
        picks[signal] = (before, after, np.flatnonzero(cat.artist == unknown))
    before, after, tracks = picks["fame"]
    np.testing.assert_array_equal(before, after)
    assert not np.isin(tracks, after).any()
    before, after, tracks = picks["streams"]
    assert np.isin(tracks, after).any() and not np.isin(tracks, before).any()


def test_editors_pick_from_the_window_of_recent_releases():
    """With editorial_window_epochs W, only tracks released in the last W epochs make the lists;
    with 0, the back catalog's hits do too."""
    picked = {}
    for window in (0, 26):
        sc, world, cat, pop, ed = build({"channels.editorial_capacity": 30,
                                         "channels.editorial_window_epochs": window})
        streams = np.where(cat.release_epoch <= -26, 1e4, 1.0)   # the old tracks are the hits
        pl = curate(ed, cat, pop, last=streams, prev=streams)
        picked[window] = pl.items[pl.items >= 0]
    assert len(picked[26]) > 0 and (cat.release_epoch[picked[26]] > -26).all()
    assert (cat.release_epoch[picked[0]] <= -26).mean() > 0.5

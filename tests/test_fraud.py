"""Stream farms: the fraudulent artist and tracks, and the bots' plays."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from streamsim.agents.artists import ArtistPopulation
from streamsim.agents.catalog import Catalog
from streamsim.agents.fraud import StreamFarm
from streamsim.agents.world import World
from streamsim.core.codes import CHANNELS
from streamsim.core.config import load


def build(overrides=None, seed=0):
    sc = load(None, {"artists.count": 200, "fraud.bots": 10, "fraud.tracks": 7,
                     "fraud.streams_per_bot": 40, **(overrides or {})})
    rng = np.random.default_rng(seed)
    world = World.generate(sc, rng)
    cat = Catalog(sc.world.d_style, sc.world.audio_dim, sc.catalog.tags_per_track)
    pop = ArtistPopulation(mesa.Model(rng=seed), sc, world, cat, rng)
    n0 = len(cat)
    farm = StreamFarm(sc, world, cat, pop, np.random.default_rng(seed + 1))
    return sc, cat, pop, farm, n0


def test_farm_creates_fraud_artist_and_tracks():
    sc, cat, pop, farm, n0 = build()
    assert pop.is_fraud.sum() == 1 and pop.is_fraud[farm.artist]
    assert pop.release_rate[farm.artist] == 0 and not pop.major[farm.artist]
    np.testing.assert_array_equal(farm.tracks, np.arange(n0, n0 + 7))
    assert cat.fraud[farm.tracks].all() and not cat.fraud[:n0].any()
    assert (cat.artist[farm.tracks] == farm.artist).all()
    np.testing.assert_array_equal(cat.length_s[farm.tracks], np.float32(sc.fraud.track_length_s))
    assert (cat.release_epoch[farm.tracks] == 0).all()
    assert (pop.prior_track_popularity()[farm.tracks] == 0).all()


def test_bots_stream_only_farm_tracks():
    sc, cat, pop, farm, _ = build()
    bots = np.arange(1000, 1010, dtype=np.int32)
    ev = farm.stream(bots, 3, np.random.default_rng(5))
    assert len(ev) == 10 * 40
    np.testing.assert_array_equal(np.bincount(ev.listener - 1000, minlength=10), np.full(10, 40))
    assert np.isin(ev.track, farm.tracks).all()
    assert len(np.unique(ev.track)) == 7
    threshold = sc.listeners.behaviour.stream_threshold_s
    assert (ev.seconds >= threshold).all() and (ev.seconds <= threshold + 2.0).all()
    assert (ev.channel == CHANNELS.index("library")).all()
    assert not ev.saved.any()


def test_farm_releases_nothing_and_no_bots_no_events():
    sc, cat, pop, farm, _ = build()
    rng = np.random.default_rng(2)
    for t in range(10):
        ids = pop.release(t, rng)
        assert not np.isin(cat.artist[ids], farm.artist).any()
    assert len(farm.stream(np.zeros(0, np.int32), 0, rng)) == 0


class PoissonSpy:
    """A generator that records the mean of every Poisson draw and delegates the rest."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.means = []

    def poisson(self, lam, size=None):
        self.means.append(lam)
        return self.rng.poisson(lam, size)

    def __getattr__(self, name):
        return getattr(self.rng, name)


def test_entry_rate_counts_organic_artists_only():
    sc, cat, pop, farm, _ = build({"artists.entry_rate": 0.01})
    organic = pop.n - 1
    assert organic == sc.artists.count
    spy = PoissonSpy(1)
    new = pop.enter(0, spy)
    assert spy.means == [pytest.approx(0.01 * organic)]   # the fraud artist does not count
    assert len(new) == pop.n - organic - 1 and not pop.is_fraud[new].any()

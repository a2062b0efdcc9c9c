"""Channels: cold start, filters, exclusions, empty channels, radio, editorial, search, replication mode."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from streamsim.agents.channels import (STAGE_AUDIO, STAGE_CF, STAGE_POPULAR, Playlists, build_slates,
                             popular_with_variance)
from streamsim.agents.listeners import ListenerPopulation
from streamsim.agents.listening import EDITORIAL, LIBRARY, PERSONALISED, RADIO, listen
from streamsim.testing import FakeLedger, NoisyOracle, synthetic_catalog
from streamsim.agents.world import World, normalize
from streamsim.core.config import Scenario


class SpyRecommender(NoisyOracle):
    """The noisy oracle, recording what it was asked."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def recommend(self, users, k, exclude=None, allowed=None):
        self.calls.append((np.asarray(users).copy(), k, exclude, None if allowed is None else allowed.copy()))
        return super().recommend(users, k, exclude, allowed)


class Setup:
    def __init__(self, n=200, tracks=3000, seed=0, recommender=True, **overrides):
        self.sc = Scenario().replace(**{"listeners.count": n, **overrides})
        rng = np.random.default_rng(seed)
        self.world = World.generate(self.sc, rng)
        self.catalog, prior = synthetic_catalog(self.sc, self.world, tracks, rng)
        self.pop = ListenerPopulation(mesa.Model(rng=np.random.default_rng(seed)), self.sc, self.world,
                                      np.random.default_rng(seed + 1))
        b = self.sc.listeners.behaviour
        self.rec = SpyRecommender(self.pop.taste, self.catalog, b.w_taste, b.w_quality, 0.5) if recommender else None
        self.ledger = FakeLedger(prior, keep=max(self.sc.recommender.exclude_heard_epochs, 1))
        G = self.world.n_genres
        items = np.full((G, 10), -1, np.int32)
        for g in range(G):
            ids = np.flatnonzero(self.catalog.genre == g)[:10]
            items[g, :len(ids)] = ids
        self.playlists = Playlists(items, np.arange(G, dtype=np.int16))
        self.rng = np.random.default_rng(seed + 2)
        self.epoch = 0

    def slates(self):
        if self.rec is not None:
            self.rec.taste = self.pop.taste
        T = len(self.catalog)
        self.pop.seed_libraries(self.catalog, self.rng, self.ledger.track_streams_last[:T].astype(np.float64))
        return build_slates(self.pop, self.catalog, self.world, self.ledger, self.rec, self.playlists,
                            self.sc, self.epoch, self.rng)

    def step(self):
        slates = self.slates()
        events = listen(self.pop, slates, self.catalog, self.sc, self.epoch, 5)
        self.ledger.record(events, len(self.catalog))
        self.pop.update(events, self.catalog, self.epoch, self.rng)
        self.epoch += 1
        return slates, events


def test_cold_start_path_popular_then_audio_then_collaborative():
    s = Setup(**{"listeners.cf_min_interactions": 10})
    sl = s.slates()
    assert (sl.personalised_stage == STAGE_POPULAR).all() and not s.rec.calls
    # listeners 0..49 have played a little: their home page is radio by audio similarity
    s.pop.plays_total[:50] = 3
    seed_track = 17
    s.pop.last_track[:50] = seed_track
    sl = s.slates()
    stage = sl.personalised_stage[sl.personalised_row[:50]]
    assert (stage == STAGE_AUDIO).all()
    emb = normalize(s.catalog.audio)
    slate = sl.personalised_items[sl.personalised_row[0]]
    assert seed_track not in slate
    assert (emb[slate] @ emb[seed_track]).min() > np.quantile(emb @ emb[seed_track], 0.95)
    # after a real epoch everybody has played >= 10 tracks: collaborative recommendations for all
    s.pop.plays_total[:50] = 0
    s.pop.last_track[:50] = -1
    s.step()
    old = np.arange(200)
    assert (s.pop.plays_total[old] >= 10).all() and (s.pop.plays_total[200:] == 0).all()
    s.rec.calls.clear()
    sl = s.slates()
    stage = sl.personalised_stage[sl.personalised_row[np.flatnonzero(s.pop.active)]]
    veteran = np.flatnonzero(s.pop.active) < 200
    assert (stage[veteran] == STAGE_CF).all() and (stage[~veteran] == STAGE_POPULAR).all()
    asked = np.sort(np.concatenate([c[0] for c in s.rec.calls]))
    np.testing.assert_array_equal(asked, np.flatnonzero(s.pop.active[:200]))


def test_popular_with_variance_temperature():
    rng = np.random.default_rng(0)
    pop = np.arange(1000, dtype=np.float64) ** 2
    cands = np.arange(1000)[::-1]
    cold = popular_with_variance(300, cands, pop, 10, 0.0, rng)
    assert (cold == cold[0]).all() and set(cold[0]) == set(range(990, 1000))
    warm = popular_with_variance(300, cands, pop, 10, 0.5, rng)
    assert len({tuple(r) for r in warm}) > 250                 # variance between listeners
    assert pop[warm].mean() > 2 * pop.mean()                    # still popular
    flat = popular_with_variance(300, cands, pop, 10, 5.0, rng)
    assert pop[flat].mean() < pop[warm].mean()                  # hotter = closer to uniform
    assert all(len(set(r)) == 10 for r in warm)                 # no repeats in a slate
    frozen = popular_with_variance(3, cands, pop, 10, 5e-324, rng)  # the schema allows any T > 0
    np.testing.assert_array_equal(frozen, np.tile(np.arange(999, 989, -1), (3, 1)))  # no overflow: top-10


def test_filters_groups_and_explicit_tracks_never_served():
    s = Setup(**{"listeners.explicit_filter_share": 0.5, "listeners.cf_min_interactions": 0})
    s.pop.plays_total[:] = 1
    sl, ev = s.step()
    filtering = ~s.pop.explicit_ok
    assert filtering.any()
    assert not s.catalog.explicit[ev.track[filtering[ev.listener]]].any()
    assert s.catalog.explicit[ev.track].any()
    masks = {bool(s.pop.explicit_ok[c[0][0]]): c[3] for c in s.rec.calls}
    assert not masks[False][s.catalog.explicit].any() and masks[True][s.catalog.explicit].all()


def test_recently_heard_tracks_are_excluded():
    s = Setup(**{"listeners.cf_min_interactions": 0})
    s.pop.plays_total[:] = 1
    _, ev = s.step()
    sl = s.slates()
    exclude = s.rec.calls[-1][2]
    assert exclude is not None and exclude.shape == (s.pop.n, len(s.catalog))
    heard = set(zip(ev.listener.tolist(), ev.track.tolist()))
    served = {(int(u), int(t)) for u, row in zip(sl.personalised_users, sl.personalised_items) for t in row if t >= 0}
    assert not heard & served


def test_no_recommender_moves_shares_to_organic_channels():
    s = Setup(recommender=False)
    sl = s.slates()
    assert (sl.mix[:, [PERSONALISED, RADIO]] == 0).all() and len(sl.personalised_users) == 0
    np.testing.assert_allclose(sl.mix[sl.listeners].sum(axis=1), 1.0, atol=1e-5)
    _, ev = s.step()
    assert len(ev) and not np.isin(ev.channel, [PERSONALISED, RADIO]).any()


def test_empty_library_gives_its_share_away():
    s = Setup(**{"listeners.initial_library": 0})
    sl = s.slates()
    assert (sl.mix[:, LIBRARY] == 0).all()
    np.testing.assert_allclose(sl.mix[sl.listeners].sum(axis=1), 1.0, atol=1e-5)
    s.step()
    s.step()
    sl = s.slates()
    assert (sl.mix[:, LIBRARY] > 0).mean() > 0.9                # saves filled the libraries


def test_library_replays_come_from_the_library_or_play_its_albums_through():
    s = Setup()
    sl, ev = s.step()
    lib = np.flatnonzero(ev.channel == LIBRARY)
    assert len(lib) > 0.2 * len(ev)
    rows = sl.library
    through = 0
    for i in lib[:1000]:
        l = ev.listener[i]
        saved = ev.track[i] in rows.items[rows.indptr[l]:rows.indptr[l + 1]]
        assert not (saved and ev.saved[i])                      # nothing is saved twice
        if not saved:
            # a continuation: the previous play of this listener was a stream of the same artist
            assert ev.listener[i - 1] == l and ev.seconds[i - 1] >= 30
            assert s.catalog.artist[ev.track[i - 1]] == s.catalog.artist[ev.track[i]]
            through += 1
    assert through > 0


def test_radio_plays_neighbours_of_the_station_seed():
    """A radio session plays neighbours of its seed, the last stream before the session began.
    Sessions are not in the events, so a run of consecutive radio plays may hold several: every
    play is a neighbour of the anchor before the run or of a stream earlier in the run, and
    most of the neighbours of the anchor before the run."""
    s = Setup()
    sl, ev = s.step()
    radio = np.flatnonzero(ev.channel == RADIO)
    assert len(radio) > 100

    def neighbours(track):
        return sl.neighbour_items[sl.neighbour_row[track]]

    def anchor_before(l, i):
        prev = np.flatnonzero((ev.listener[:i] == l) & (ev.seconds[:i] >= 30) & (sl.neighbour_row[ev.track[:i]] >= 0))
        return ev.track[prev[-1]] if len(prev) else sl.radio_seed[l]

    of_run_anchor = 0
    for i in radio[:300]:
        l = ev.listener[i]
        start = i
        while start > 0 and ev.listener[start - 1] == l and ev.channel[start - 1] == RADIO:
            start -= 1
        seeds = [anchor_before(l, start)] + [ev.track[k] for k in range(start, i)
                                             if ev.seconds[k] >= 30 and sl.neighbour_row[ev.track[k]] >= 0]
        assert any(ev.track[i] in neighbours(a) for a in seeds)
        of_run_anchor += ev.track[i] in neighbours(seeds[0])
    assert of_run_anchor > 0.7 * min(len(radio), 300)


def test_editorial_serves_the_listeners_genres():
    s = Setup()
    _, ev = s.step()
    ed = ev.channel == EDITORIAL
    assert ed.any()
    genre = s.catalog.genre[ev.track[ed]]
    g = s.pop.genres[ev.listener[ed]]
    assert ((genre == g[:, 0]) | (genre == g[:, 1])).all()


def test_search_pool_is_the_best_known_of_each_genre():
    # word of mouth is about artists: the pool holds the genre's tracks with the highest
    # (artist streams + 1)^e * (track streams + 1) / (artist streams + its tracks) weight
    from streamsim.agents.channels import search_weights
    s = Setup(**{"channels.search_pool": 5})
    sl = s.slates()
    pop = np.asarray(s.ledger.track_streams_last, np.float64)
    e = s.sc.channels.search_popularity_exponent
    w = search_weights(s.catalog, pop, e)
    for g in range(s.world.n_genres):
        lo, hi = sl.search.indptr[g], sl.search.indptr[g + 1]
        pool = sl.search.items[lo:hi]
        ids = np.flatnonzero(s.catalog.genre == g)
        assert len(pool) == min(5, len(ids))
        assert w[pool].min() >= np.sort(w[ids])[::-1][len(pool) - 1] * (1 - 1e-12)
        np.testing.assert_allclose(np.diff(np.concatenate([[sl.search.cum[lo - 1] if lo else 0.0],
                                                           sl.search.cum[lo:hi]])), w[pool], rtol=1e-6)


def test_search_weights_by_hand():
    """Artist 0 has tracks 0 (3 streams) and 1 (1 stream); artist 1 has track 2 (6 streams).
    Weight = (artist streams + 1)^e * (track streams + 1) / sum over the artist's tracks of (streams + 1)."""
    from types import SimpleNamespace

    from streamsim.agents.channels import search_weights

    catalog = SimpleNamespace(artist=np.array([0, 0, 1], np.int32))
    pop = np.array([3.0, 1.0, 6.0])
    w = search_weights(catalog, pop, 2.0)
    np.testing.assert_allclose(w, [5.0 ** 2 * 4 / 6, 5.0 ** 2 * 2 / 6, 7.0 ** 2 * 7 / 7], rtol=1e-12)
    np.testing.assert_allclose(search_weights(catalog, pop, 0.0), [4 / 6, 2 / 6, 1.0], rtol=1e-12)


@pytest.mark.parametrize("rank_attention", [0.0, 1.0])
def test_slate_argmax_one_new_item_per_listener_per_epoch(rank_attention):
    s = Setup(n=100, tracks=500, **{"listeners.choice": "slate_argmax", "channels.slate_size": 10,
                                    "listeners.rank_attention": rank_attention, "listeners.churn_k0": -50.0,
                                    "listeners.arrival_rate": 0.0})
    seen = set()
    for _ in range(4):
        _, ev = s.step()
        np.testing.assert_array_equal(ev.listener, np.arange(100))
        pairs = set(zip(ev.listener.tolist(), ev.track.tolist()))
        assert not pairs & seen
        seen |= pairs


def test_region_availability_is_respected_everywhere():
    s = Setup(**{"world.n_regions": 2, "listeners.cf_min_interactions": 0})
    rng = np.random.default_rng(5)
    s.catalog.regions[:] = rng.choice(np.array([1, 2, 3], np.uint32), len(s.catalog))  # a view: writes the store
    s.pop.plays_total[:] = 1
    assert set(np.unique(s.pop.region)) == {0, 1}
    sl, ev = s.step()
    bit = np.uint32(1) << s.pop.region[ev.listener].astype(np.uint32)
    assert ((s.catalog.regions[ev.track] & bit) != 0).all()
    for users, _, _, allowed in s.rec.calls:
        r = s.pop.region[users[0]]
        assert (s.pop.region[users] == r).all()
        assert not allowed[(s.catalog.regions & (np.uint32(1) << np.uint32(r))) == 0].any()


def test_editorial_slots_near_the_top_are_drawn_more():
    from streamsim.agents.channels import _editorial_pools
    items = np.arange(20, dtype=np.int32).reshape(2, 10)
    pl = Playlists(items, np.zeros(2, np.int16))
    flat = _editorial_pools(pl, 1, 0.0)
    np.testing.assert_allclose(np.diff(np.concatenate([[0.0], flat.cum])), 1.0)
    steep = _editorial_pools(pl, 1, 1.0)
    w = np.diff(np.concatenate([[0.0], steep.cum]))
    assert list(steep.items) == list(items.ravel())
    np.testing.assert_allclose(w[:10], 1.0 / np.arange(1, 11))    # slot r weighs (r+1)^-1
    np.testing.assert_allclose(w[10:], w[:10])                      # on every list of the genre

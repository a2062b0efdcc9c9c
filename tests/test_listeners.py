"""The listener population: draws, libraries, satisfaction, churn, arrivals, bots."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from streamsim.agents.listeners import ListenerPopulation
from streamsim.testing import synthetic_catalog
from streamsim.agents.world import World
from streamsim.core.codes import CHANNELS
from streamsim.core.config import Scenario
from streamsim.core.events import Events


def population(n=3000, seed=0, **overrides):
    sc = Scenario().replace(**{"listeners.count": n, **overrides})
    world = World.generate(sc, np.random.default_rng(seed))
    pop = ListenerPopulation(mesa.Model(rng=np.random.default_rng(seed)), sc, world, np.random.default_rng(seed + 1))
    return sc, world, pop


def test_columns_shapes_and_ranges():
    sc, world, pop = population()
    n = pop.n
    assert n == 3000
    assert pop.taste.shape == (n, world.d_style) and pop.taste.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(pop.taste, axis=1), 1.0, atol=1e-5)
    assert pop.genres.dtype == np.int16 and (pop.genres[:, 0] >= 0).all()
    two = pop.genres[:, 1] >= 0
    assert abs(two.mean() - sc.listeners.two_genre_share) < 0.04
    assert (pop.genres[two, 0] != pop.genres[two, 1]).all()
    assert pop.mix.shape == (n, len(CHANNELS)) and pop.mix.dtype == np.float32
    np.testing.assert_allclose(pop.mix.sum(axis=1), 1.0, atol=1e-5)
    assert (pop.mix[:, CHANNELS.index("context")] == 0).all()   # a zero base share stays zero
    median_min = np.median(pop.budget_s) / 60
    assert 340 < median_min < 470
    assert ((pop.openness > 0) & (pop.openness < 1)).all()
    assert abs(pop.premium.mean() - sc.listeners.premium_share) < 0.04
    assert pop.active.all() and not pop.is_bot.any() and (pop.plays_total == 0).all()
    assert pop.plays_total.dtype == np.int64 and pop.join_epoch.dtype == np.int32


def test_activity_correlates_with_the_mainstreamness_trait_when_asked():
    corrs = []
    for rho in (0.0, 0.6, -0.6):
        _, world, pop = population(n=6000, **{"listeners.activity_mainstream_corr": rho})
        corrs.append(np.corrcoef(np.log(pop.budget_s), pop.mainstream)[0, 1])
        assert abs(pop.mainstream.mean()) < 0.05 and abs(pop.mainstream.std() - 1) < 0.05
    assert abs(corrs[0]) < 0.05
    assert abs(corrs[1] - 0.6) < 0.05 and abs(corrs[2] + 0.6) < 0.05


def test_open_listeners_lean_away_from_their_library():
    _, _, pop = population(n=6000)
    lib = pop.mix[:, CHANNELS.index("library")]
    assert np.corrcoef(pop.openness, lib)[0, 1] < -0.1


def events_for(ids, track, seconds, utility, saved=None):
    k = len(ids)
    return Events(listener=ids, track=np.full(k, track) if np.isscalar(track) else track,
                  channel=np.zeros(k), seconds=np.full(k, seconds) if np.isscalar(seconds) else seconds,
                  utility=np.full(k, utility) if np.isscalar(utility) else utility,
                  saved=np.zeros(k, bool) if saved is None else saved)


def test_churn_responds_to_satisfaction():
    sc, world, pop = population(n=20000, **{"listeners.churn_k0": -1.0, "listeners.churn_k1": 2.0,
                                          "listeners.arrival_rate": 0.0})
    catalog, _ = synthetic_catalog(sc, world, 100, np.random.default_rng(0))
    half = pop.n // 2
    pop.satisfaction[:half] = 1.5    # hazard sigmoid(-4) ~ 1.8 %
    pop.satisfaction[half:] = -0.5   # hazard sigmoid(0) = 50 %
    new, churned = pop.update(Events.empty(), catalog, 0, np.random.default_rng(1))
    low = (~pop.active[half:]).mean()
    high = (~pop.active[:half]).mean()
    assert abs(low - 0.5) < 0.03 and abs(high - 1 / (1 + np.exp(4))) < 0.01
    assert churned == (~pop.active).sum() and new == 0


def test_satisfaction_is_an_ema_of_utility_minus_skip_frustration():
    sc, world, pop = population(n=10, **{"listeners.satisfaction_rate": 0.5, "listeners.skip_frustration": 1.0,
                                         "listeners.churn_k0": -50.0, "listeners.initial_satisfaction": 0.2})
    catalog, _ = synthetic_catalog(sc, world, 20, np.random.default_rng(0))
    length = float(catalog.length_s[0])
    assert (pop.satisfaction == np.float32(0.2)).all()
    pop.join_epoch[3] = 1                      # listener 3 arrived later: its first week sets it
    # two full plays at utility 1: EMA from the prior for listener 0, direct for the arrival
    ev = events_for(np.array([0, 0, 3, 3]), 0, length, 1.0)
    pop.update(ev, catalog, 0, np.random.default_rng(0))
    assert pop.satisfaction[0] == pytest.approx(0.6) and pop.satisfaction[3] == pytest.approx(1.0)
    # then one early skip at utility -1 and one full play at 1: x = 0 - 0.5 ; EMA 0.5*0.6 + 0.5*(-0.5)
    ev = events_for(np.array([0, 0]), 0, np.array([3.0, length]), np.array([-1.0, 1.0]))
    pop.update(ev, catalog, 1, np.random.default_rng(0))
    assert pop.satisfaction[0] == pytest.approx(0.05)
    assert pop.plays_total[0] == 4 and pop.satisfaction[1] == pytest.approx(0.2)


def test_libraries_seeded_then_grow_with_saves():
    sc, world, pop = population(n=200, **{"listeners.initial_library": 12})
    catalog, _ = synthetic_catalog(sc, world, 3000, np.random.default_rng(0))
    pop.seed_libraries(catalog, np.random.default_rng(2))
    lib = pop.library_csr(len(catalog))
    sizes = np.diff(lib.indptr)
    assert lib.shape == (200, 3000) and (sizes >= 10).all() and (sizes <= 12).all()
    # the collection matches taste: better than random tracks
    rows = np.repeat(np.arange(200), sizes)
    match = (pop.taste[rows] * catalog.style[lib.indices]).sum(axis=1).mean()
    assert match > (pop.taste @ catalog.style.T).mean() + 0.2
    track = int(np.setdiff1d(np.arange(3000), lib[5].indices)[0])
    ev = events_for(np.array([5]), track, float(catalog.length_s[track]), 3.0, saved=np.array([True]))
    pop.update(ev, catalog, 0, np.random.default_rng(0))
    lib2 = pop.library_csr(len(catalog))
    assert lib2[5, track] == pytest.approx(2.0)   # 1 for the save + the played fraction 1
    assert lib2[6].nnz == lib[6].nnz and lib2[6].sum() == pytest.approx(0.95 * lib[6].sum(), rel=1e-5)


def test_arrivals_are_cold_new_rows():
    sc, world, pop = population(n=5000, **{"listeners.arrival_rate": 0.02, "listeners.churn_k0": -50.0,
                                           "listeners.engagement.referral_slope": 0.0})
    catalog, _ = synthetic_catalog(sc, world, 100, np.random.default_rng(0))
    new, churned = pop.update(Events.empty(), catalog, 3, np.random.default_rng(0))
    assert 50 < new < 160 and churned == 0
    assert pop.n == 5000 + new and len(pop.taste) == pop.n and len(pop.mix) == pop.n
    assert (pop.join_epoch[5000:] == 4).all() and (pop.plays_total[5000:] == 0).all()
    assert pop.library_csr(100).shape == (pop.n, 100)
    assert pop.library_csr(100)[5000:].nnz == 0


def test_arrivals_bring_a_collection_and_keep_the_others_libraries():
    sc, world, pop = population(n=300, **{"listeners.initial_library": 12, "listeners.arrival_library": 8,
                                          "listeners.arrival_rate": 0.2, "listeners.churn_k0": -50.0,
                                          "listeners.engagement.referral_slope": 0.0})
    catalog, _ = synthetic_catalog(sc, world, 3000, np.random.default_rng(0))
    popularity = np.random.default_rng(1).pareto(1.0, 3000)
    pop.seed_libraries(catalog, np.random.default_rng(2), popularity)
    before = pop.library_csr(3000)
    new, _ = pop.update(Events.empty(), catalog, 0, np.random.default_rng(0))
    assert new > 20 and len(pop.awaiting_library) == new
    assert pop.library_csr(3000)[300:].nnz == 0          # empty until the next epoch's slates
    pop.seed_libraries(catalog, np.random.default_rng(3), popularity)
    after = pop.library_csr(3000)
    sizes = np.diff(after.indptr)[300:]
    assert (sizes >= 1).all() and (sizes <= 8).all() and sizes.mean() > 6 and len(pop.awaiting_library) == 0
    assert (after[300:].data == 1.0).all()
    # the others' libraries are untouched (no plays this epoch)
    np.testing.assert_array_equal(after[:300].toarray(), before.toarray())
    # collections follow popularity: arrivals hold more popular tracks than the catalog's mean
    assert popularity[after[300:].indices].mean() > 2 * popularity.mean()


def test_arrivals_start_empty_when_they_bring_nothing():
    sc, world, pop = population(n=300, **{"listeners.arrival_library": 0, "listeners.arrival_rate": 0.2,
                                          "listeners.churn_k0": -50.0, "listeners.engagement.referral_slope": 0.0})
    catalog, _ = synthetic_catalog(sc, world, 3000, np.random.default_rng(0))
    pop.seed_libraries(catalog, np.random.default_rng(2))
    new, _ = pop.update(Events.empty(), catalog, 0, np.random.default_rng(0))
    pop.seed_libraries(catalog, np.random.default_rng(3))
    assert new > 20 and pop.library_csr(3000)[300:].nnz == 0


def test_bots_never_churn_and_are_ignored_by_update():
    sc, world, pop = population(n=100, **{"listeners.churn_k0": 50.0, "listeners.arrival_rate": 0.0})
    catalog, _ = synthetic_catalog(sc, world, 50, np.random.default_rng(0))
    bots = pop.add_bots(10, premium=True, epoch=0)
    np.testing.assert_array_equal(bots, np.arange(100, 110))
    assert pop.is_bot[bots].all() and pop.premium[bots].all() and (pop.budget_s[bots] == 0).all()
    ev = events_for(bots, 0, 35.0, 0.0)
    _, churned = pop.update(ev, catalog, 0, np.random.default_rng(0))
    assert churned == 100 and pop.active[bots].all()
    assert (pop.plays_total[bots] == 0).all()


def test_taste_drifts_slowly_and_stays_unit():
    sc, world, pop = population(n=500, **{"listeners.taste_drift": 0.05})
    catalog, _ = synthetic_catalog(sc, world, 50, np.random.default_rng(0))
    before = pop.taste.copy()
    pop.update(Events.empty(), catalog, 0, np.random.default_rng(0))
    cos = (before * pop.taste[:500]).sum(axis=1)
    d = world.d_style
    # taste + delta * N(0, I_d), renormalised: 1 - cos ~ delta^2 (d - 1) / 2 for small delta
    expected = 0.05 ** 2 * (d - 1) / 2
    assert (1 - cos[pop.active[:500]]).mean() == pytest.approx(expected, rel=0.15)
    np.testing.assert_allclose(np.linalg.norm(pop.taste, axis=1), 1.0, atol=1e-5)


def test_initial_libraries_follow_prior_popularity():
    sizes = {}
    for e in (0.0, 1.0):
        sc, world, pop = population(n=300, **{"listeners.initial_library": 10,
                                              "listeners.initial_library_popularity_exponent": e})
        catalog, _ = synthetic_catalog(sc, world, 3000, np.random.default_rng(0))
        popularity = np.zeros(len(catalog))
        hits = np.arange(0, 3000, 10)                  # one track in ten has all the prior plays
        popularity[hits] = 50.0 * (np.random.default_rng(3).pareto(1.0, len(hits)) + 1.0)
        pop.seed_libraries(catalog, np.random.default_rng(2), popularity)
        lib = pop.library_csr(len(catalog))
        assert np.diff(lib.indptr).mean() >= 8
        sizes[e] = np.isin(lib.indices, hits).mean()
    assert sizes[0.0] < 0.3                            # uniform within the genre: about 1 in 10
    assert sizes[1.0] > 0.5                            # by popularity: mostly the tracks with plays

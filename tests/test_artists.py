"""Artists: generators, release process, prior popularity and Goodhart adaptation."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from streamsim.core.codes import Tier
from streamsim.agents.artists import (Artist, ArtistPopulation,
                            major_probability, top_features)
from streamsim.agents.catalog import Catalog
from streamsim.agents.world import World
from streamsim.core.config import load
from streamsim.studies.calibration import BANDS


def build(overrides=None, seed=0):
    sc = load(None, overrides or {})
    rng = np.random.default_rng(seed)
    world = World.generate(sc, rng)
    cat = Catalog(sc.world.d_style, sc.world.audio_dim, sc.catalog.tags_per_track)
    pop = ArtistPopulation(mesa.Model(rng=seed), sc, world, cat, rng)
    return sc, world, cat, pop, rng


@pytest.fixture(scope="module")
def base():
    return build({"artists.count": 2000})


def test_artist_columns_shapes_and_dtypes(base):
    sc, world, cat, pop, _ = base
    n, d = pop.n, sc.world.d_style
    assert n == 2000
    expected = {"genre": (np.int16, (n,)), "home_style": (np.float32, (n, d)),
                "style": (np.float32, (n, d)), "talent": (np.float32, (n,)),
                "fame": (np.float64, (n,)), "tier": (np.int8, (n,)), "major": (np.bool_, (n,)),
                "release_rate": (np.float32, (n,)), "adaptive": (np.bool_, (n,)),
                "entry_epoch": (np.int32, (n,)), "target_length_s": (np.float32, (n,)),
                "target_intro_s": (np.float32, (n,)), "is_fraud": (np.bool_, (n,))}
    for name, (dtype, shape) in expected.items():
        col = getattr(pop, name)
        assert col.dtype == dtype, name
        assert col.shape == shape, name
    np.testing.assert_allclose(np.linalg.norm(pop.home_style, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(pop.style, pop.home_style)
    assert (pop.fame >= 1.0).all()
    assert (pop.entry_epoch <= 0).all()
    assert not pop.is_fraud.any() and not pop.adaptive.any()
    assert abs(pop.talent.mean()) < 0.1 and abs(pop.talent.std() - 1.0) < 0.1
    # genres follow genre popularity: the most popular genre has the most artists
    assert np.bincount(pop.genre, minlength=world.n_genres).argmax() == world.genre_pop.argmax()


def test_mesa_agents_are_views(base):
    _, _, _, pop, _ = base
    assert len(pop.agents) == pop.n
    a = pop.agents[7]
    assert isinstance(a, Artist) and a.index == 7
    assert a.fame == pop.fame[7] and a.tier == pop.tier[7] and a.genre == pop.genre[7]
    assert len(a.model.agents_by_type[Artist]) == pop.n


def test_tiers_follow_fame_shares(base):
    _, _, _, pop, _ = base
    counts = np.bincount(pop.tier, minlength=3)
    assert counts[Tier.SUPERSTAR] == 20 and counts[Tier.ESTABLISHED] == 180 and counts[Tier.EMERGING] == 1800
    assert pop.fame[pop.tier == Tier.SUPERSTAR].min() >= pop.fame[pop.tier == Tier.ESTABLISHED].max()
    assert pop.fame[pop.tier == Tier.ESTABLISHED].min() >= pop.fame[pop.tier == Tier.EMERGING].max()


def test_major_probability_rises_with_fame(base):
    sc, _, _, pop, _ = base
    p = major_probability(np.array([1.0, 2.0, 10.0, 1e6]), sc.artists)
    assert np.all(np.diff(p) > 0)
    assert p[0] == pytest.approx(sc.artists.major_prob_min)
    assert p[-1] == pytest.approx(sc.artists.major_prob_max, abs=1e-6)
    by_tier = [pop.major[pop.tier == t].mean() for t in (Tier.SUPERSTAR, Tier.ESTABLISHED, Tier.EMERGING)]
    assert by_tier[0] > by_tier[2] and by_tier[1] > by_tier[2]


def test_back_catalog_columns(base):
    sc, world, cat, pop, _ = base
    T = len(cat)
    assert T > 1000
    assert (cat.release_epoch < 0).all()
    assert cat.release_epoch.min() >= -round(sc.catalog.back_catalog_years * 52)
    assert (cat.release_epoch >= pop.entry_epoch[cat.artist]).all()
    assert cat.style.shape == (T, sc.world.d_style) and cat.style.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(cat.style, axis=1), 1.0, atol=1e-5)
    assert cat.audio.shape == (T, sc.world.audio_dim)
    assert cat.tags.shape == (T, sc.catalog.tags_per_track) and cat.tags.dtype == np.int16
    assert ((cat.tags >= 0) & (cat.tags < sc.world.n_tags)).all()
    assert all(len(set(row)) == len(row) for row in cat.tags[:200])
    np.testing.assert_array_equal(cat.genre, pop.genre[cat.artist])
    assert (cat.length_s >= sc.artists.adaptation.min_length_s).all()
    assert ((cat.intro_s >= 0) & (cat.intro_s <= cat.length_s)).all()
    assert abs(cat.length_s.mean() - sc.catalog.length_mean_s) < 5
    assert abs(cat.length_s.std() - sc.catalog.length_sd_s) < 5
    assert abs(cat.explicit.mean() - sc.catalog.explicit_share) < 0.02
    assert (cat.regions == 1).all() and not cat.fraud.any()
    resid = cat.quality - pop.talent[cat.artist]
    assert abs(resid.std() - sc.catalog.quality_sd) < 0.02


def test_tags_follow_style(base):
    _, world, cat, _, _ = base
    nearest = np.argmax(cat.style @ world.tag_centres.T, axis=1)
    # the nearest tag is among a track's tags far more often than by chance (5 of 64)
    assert (cat.tags == nearest[:, None]).any(axis=1).mean() > 0.45


def test_release_counts_match_poisson_rate():
    sc, _, cat, pop, rng = build({"artists.count": 3000, "artists.entry_rate": 0.0}, seed=3)
    epochs = 20
    n0 = len(cat)
    for t in range(epochs):
        ids = pop.release(t, rng)
        assert (cat.release_epoch[ids] == t).all()
    got = len(cat) - n0
    expected = epochs * pop.release_rate.astype(np.float64).sum()
    assert abs(got - expected) < 4 * np.sqrt(expected)
    # more famous artists release more
    per_artist = np.bincount(cat.artist[n0:], minlength=pop.n)
    assert per_artist[pop.tier == Tier.SUPERSTAR].mean() > per_artist[pop.tier == Tier.EMERGING].mean()


def test_enter_adds_emerging_artists_without_back_catalog():
    sc, _, cat, pop, rng = build({"artists.count": 1000, "artists.entry_rate": 0.05}, seed=4)
    n0, t0 = pop.n, len(cat)
    new = pop.enter(5, rng)
    assert 20 < len(new) < 90
    np.testing.assert_array_equal(new, np.arange(n0, pop.n))
    assert (pop.tier[new] == Tier.EMERGING).all() and (pop.entry_epoch[new] == 5).all()
    assert (pop.fame[new] <= pop.emerging_fame_max + 1e-9).all()
    assert len(cat) == t0 and len(pop.agents) == pop.n


def test_same_seed_same_population():
    a = build({"artists.count": 300}, seed=11)
    b = build({"artists.count": 300}, seed=11)
    for name in ("genre", "style", "fame", "tier", "major", "talent"):
        np.testing.assert_array_equal(getattr(a[3], name), getattr(b[3], name))
    for name in ("artist", "style", "quality", "length_s", "tags", "audio", "release_epoch"):
        np.testing.assert_array_equal(getattr(a[2], name), getattr(b[2], name))
    c = build({"artists.count": 300}, seed=12)
    assert not np.array_equal(a[3].fame, c[3].fame)


def test_catalog_growth_within_calibration_band():
    """C8: a year of releases adds 15-30 % to the catalog at the default rates."""
    _, _, cat, pop, rng = build({"artists.count": 2000}, seed=5)
    n0 = len(cat)
    for t in range(52):
        pop.enter(t, rng)
        pop.release(t, rng)
    assert 0.15 <= (len(cat) - n0) / n0 <= 0.30


def test_prior_popularity_is_heavy_tailed(base):
    sc, _, cat, pop, _ = base
    p = pop.prior_track_popularity()
    assert p.dtype == np.float64 and p.shape == (len(cat),) and (p >= 0).all()
    # the platform's expected weekly streams: listeners x mean budget (s) / mean track length (s)
    ls = sc.listeners
    budget_s = ls.budget_median_min * 60 * np.exp(ls.budget_sigma ** 2 / 2)
    assert p.sum() == pytest.approx(ls.count * budget_s / sc.catalog.length_mean_s, rel=1e-9)
    # the documented C5 band for the prior (docs/MODEL.md, "Prior popularity")
    per_artist = np.sort(np.bincount(cat.artist, weights=p, minlength=pop.n))[::-1]
    lo, hi = BANDS["C5_top1"]
    assert lo <= per_artist[: pop.n // 100].sum() / per_artist.sum() <= hi
    assert per_artist[: pop.n // 10].sum() / per_artist.sum() >= BANDS["C5_top10"][0]
    # w_j = fame^gamma * exp(kappa * q_j): two tracks of one artist, then of two artists
    kappa, gamma = sc.artists.popularity_quality_weight, sc.artists.popularity_fame_exponent
    q = cat.quality.astype(np.float64)
    a = np.flatnonzero(cat.artist == cat.artist[np.argmax(p)])[:2]
    assert p[a[0]] / p[a[1]] == pytest.approx(np.exp(kappa * (q[a[0]] - q[a[1]])), rel=1e-9)
    i, j = a[0], np.flatnonzero(cat.artist != cat.artist[a[0]])[0]
    fame = pop.fame[cat.artist]
    assert p[i] / p[j] == pytest.approx((fame[i] / fame[j]) ** gamma * np.exp(kappa * (q[i] - q[j])), rel=1e-9)


def test_top_features_take_the_top_earners_per_genre():
    genre = np.array([0, 0, 0, 0, 1, 1])
    payout = np.array([1.0, 5.0, 2.0, 0.0, 0.0, 0.0])
    length = np.array([200.0, 100.0, 300.0, 400.0, 50.0, 60.0])
    intro = np.array([10.0, 2.0, 20.0, 30.0, 1.0, 1.0])
    style = np.eye(6, 3, dtype=np.float32)
    ln, it, st, has = top_features(genre, payout, length, intro, style, 3, 0.1)
    assert has.all()
    assert ln[0] == 100.0 and it[0] == 2.0
    # genre 1 earned nothing and genre 2 has no tracks: both borrow the catalog's top
    assert ln[1] == 100.0 and ln[2] == 100.0
    np.testing.assert_allclose(np.linalg.norm(st, axis=1), 1.0, atol=1e-6)


def run_goodhart(adaptive_share: float, epochs: int = 30, seed: int = 7):
    """Streams favour short tracks and early hooks (a fixed listening budget); pay is pro-rata."""
    sc, world, cat, pop, rng = build({"artists.count": 300, "artists.release_rate": 0.5,
                                      "artists.entry_rate": 0.0, "catalog.back_catalog_years": 0.5,
                                      "artists.adaptation.adaptive_share": adaptive_share}, seed=seed)
    start_len, start_intro = pop.target_length_s.copy(), pop.target_intro_s.copy()
    start_style = pop.style.copy()
    for t in range(epochs):
        pop.release(t, rng)
        plays = 1e5 / cat.length_s.astype(np.float64)
        skips = plays * np.clip(cat.intro_s / 40.0, 0, 1)
        streams = plays - skips
        payout = 1000.0 * streams / streams.sum()
        pop.adapt(t, payout, streams, plays, skips, rng)
    return pop, start_len, start_intro, start_style


def test_adaptive_artists_drift_to_short_tracks_and_early_hooks():
    pop, start_len, start_intro, start_style = run_goodhart(0.5)
    ad, non = pop.adaptive, ~pop.adaptive
    assert ad.sum() > 100 and non.sum() > 100
    assert pop.target_length_s[ad].mean() < start_len[ad].mean() - 30
    assert pop.target_intro_s[ad].mean() < start_intro[ad].mean() - 3
    np.testing.assert_array_equal(pop.target_length_s[non], start_len[non])
    np.testing.assert_array_equal(pop.target_intro_s[non], start_intro[non])
    np.testing.assert_array_equal(pop.style[non], start_style[non])
    assert (pop.target_length_s >= 60.0).all() and (pop.target_intro_s >= 0.0).all()
    np.testing.assert_allclose(np.linalg.norm(pop.style, axis=1), 1.0, atol=1e-5)


def test_no_adaptation_by_default():
    pop, start_len, start_intro, start_style = run_goodhart(0.0, epochs=5)
    np.testing.assert_array_equal(pop.target_length_s, start_len)
    np.testing.assert_array_equal(pop.style, start_style)


def test_creative_cost_keeps_style_near_home():
    def drift(cost):
        sc, world, cat, pop, rng = build({"artists.count": 200, "artists.release_rate": 1.0,
                                          "artists.entry_rate": 0.0, "catalog.back_catalog_years": 0.2,
                                          "artists.adaptation.adaptive_share": 1.0,
                                          "artists.adaptation.hill_climb_sd": 0.0,
                                          "artists.adaptation.creative_cost": cost}, seed=9)
        for t in range(15):
            pop.release(t, rng)
            payout = np.exp(3.0 * cat.quality.astype(np.float64))
            n = np.ones(len(cat))
            pop.adapt(t, payout, n, n, 0 * n, rng)
        return 1.0 - np.sum(pop.style * pop.home_style, axis=1).mean()
    assert drift(10.0) < drift(0.0)


def test_hill_climbing_alone_follows_own_payout():
    """Without imitation, keeping good steps and taking back bad ones still finds shorter tracks."""
    sc, world, cat, pop, rng = build({"artists.count": 300, "artists.release_rate": 1.0,
                                      "artists.entry_rate": 0.0, "catalog.back_catalog_years": 0.1,
                                      "catalog.length_sd_s": 10.0,
                                      "artists.adaptation.adaptive_share": 1.0,
                                      "artists.adaptation.imitation_rate": 0.0,
                                      "artists.adaptation.hill_climb_sd": 0.1}, seed=13)
    start = pop.target_length_s.copy()
    for t in range(40):
        pop.release(t, rng)
        payout = 1e4 / cat.length_s.astype(np.float64)
        ones = np.ones(len(cat))
        pop.adapt(t, payout, ones, ones, 0 * ones, rng)
    assert pop.target_length_s.mean() < start.mean() - 20


def test_fixed_releases_per_epoch():
    scenario = load(None, ["artists.count=50", "artists.releases_per_epoch=10"])
    rng = np.random.default_rng(3)
    world = World.generate(scenario, rng)
    w = scenario.world
    catalog = Catalog(w.d_style, w.audio_dim, scenario.catalog.tags_per_track)
    artists = ArtistPopulation(mesa.Model(rng=rng), scenario, world, catalog, rng)
    assert [len(artists.release(e, rng)) for e in range(5)] == [10] * 5
    none = load(None, ["artists.count=50", "artists.releases_per_epoch=0"])
    artists0 = ArtistPopulation(mesa.Model(rng=rng), none, world, catalog, rng)
    assert len(artists0.release(0, rng)) == 0

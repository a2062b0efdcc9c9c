"""Artists: generators, release process, prior popularity and Goodhart adaptation."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from streamsim.core.codes import Contract, Tier
from streamsim.agents.artists import (Artist, ArtistPopulation, contracts, evolve_fame, relative_income,
                                      major_probability, release_rates, slope_t, tiers_by_rank,
                                      top_features)
from streamsim.agents.trailing import TrailingSum
from streamsim.economics.splits import net_shares
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
    assert not pop.is_fraud.any() and not pop.adaptive.any() and pop.active.all()
    np.testing.assert_array_equal(pop.tier, pop.fame_tier)
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


def step(pop, cat, t, payout_of, rng, streams=None, money_scale=1.0):
    """One epoch of the artist side with an imposed payout per track (a function of the catalog)."""
    pop.release(t, rng)
    payout = payout_of(cat)
    artist_streams = np.bincount(cat.artist, minlength=pop.n) if streams is None else streams
    pop.observe(t, payout, artist_streams, money_scale, net_shares(pop.contract, pop.scenario.payouts.splits))
    pop.adapt(t)
    pop.respond(t)
    return payout


def inverse_length(cat):
    """An imposed payoff: payout per release falls as 1/length (a mechanism test, not evidence)."""
    return 1e4 / cat.length_s.astype(np.float64)


GOODHART = {"artists.count": 300, "artists.release_rate": 0.5, "artists.entry_rate": 0.0,
            "catalog.back_catalog_years": 0.2, "artists.adaptation.evaluation_epochs": 2,
            "artists.adaptation.imitation_rate": 0.0}


def test_the_learner_follows_the_income_slope_it_is_shown():
    """Shown an income that falls with length, deciding artists shorten their tracks; the others do not.

    This tests the learning rule against an imposed payoff. Whether the model's own listening
    rewards shorter tracks is tested end to end in tests/test_goodhart.py."""
    sc, world, cat, pop, rng = build({**GOODHART, "artists.adaptation.adaptive_share": 0.5}, seed=7)
    start_len, start_style = pop.target_length_s.copy(), pop.style.copy()
    for t in range(30):
        step(pop, cat, t, inverse_length, rng)
    ad, non = pop.adaptive, ~pop.adaptive
    assert ad.sum() > 100 and non.sum() > 100
    assert pop.target_length_s[ad].mean() < start_len[ad].mean() - 20
    np.testing.assert_array_equal(pop.target_length_s[non], start_len[non])
    np.testing.assert_array_equal(pop.style[non], start_style[non])
    assert (pop.target_length_s >= 60.0).all() and (pop.target_intro_s >= 0.0).all()
    np.testing.assert_allclose(np.linalg.norm(pop.style, axis=1), 1.0, atol=1e-5)


def test_labels_pool_their_rosters_and_move_faster_than_artists_alone():
    def moved(overrides):
        _, _, cat, pop, rng = build({**GOODHART, **overrides}, seed=5)
        start = pop.target_length_s.copy()
        for t in range(12):
            step(pop, cat, t, inverse_length, rng)
        signed = pop.label >= 0
        return (start - pop.target_length_s)[signed].mean()
    alone = moved({"artists.adaptation.adaptive_share": 1.0})
    labels = moved({"artists.labels.act": True, "artists.labels.decision_epochs": 1})
    assert labels > alone > 0


def test_no_adaptation_by_default():
    sc, world, cat, pop, rng = build({**GOODHART}, seed=7)
    start_len, start_style, start_rate = pop.target_length_s.copy(), pop.style.copy(), pop.release_rate.copy()
    for t in range(5):
        step(pop, cat, t, inverse_length, rng)
    np.testing.assert_array_equal(pop.target_length_s, start_len)
    np.testing.assert_array_equal(pop.style, start_style)
    np.testing.assert_array_equal(pop.release_rate, start_rate)
    np.testing.assert_array_equal(pop.fame_tier, tiers_by_rank(pop.fame, 0.01, 0.09))
    assert pop.active.all()


def test_creative_cost_keeps_style_near_home():
    def drift(cost):
        sc, world, cat, pop, rng = build({"artists.count": 200, "artists.release_rate": 1.0,
                                          "artists.entry_rate": 0.0, "catalog.back_catalog_years": 0.2,
                                          "artists.adaptation.adaptive_share": 1.0,
                                          "artists.adaptation.evaluation_epochs": 1,
                                          "artists.adaptation.creative_cost": cost}, seed=9)
        for t in range(15):
            step(pop, cat, t, lambda c: np.exp(3.0 * c.quality.astype(np.float64)), rng)
        return 1.0 - np.sum(pop.style * pop.home_style, axis=1).mean()
    assert drift(10.0) < drift(0.0)


def test_slope_t_uses_variation_within_artists():
    # two artists of very different income levels, both earning 10 % more per unit of length
    artist = np.array([0, 0, 0, 1, 1, 1])
    length = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    income = np.array([1.0, 1.1, 1.2, 100.0, 110.0, 120.0]) * np.array([1, 1.001, 1, 1, 0.999, 1])
    y = relative_income(artist, income)
    np.testing.assert_allclose(y[:3], income[:3] / income[:3].mean() - 1)
    t = slope_t(np.zeros(6, int), artist, y, length, 1)
    assert t[0] > 10 and slope_t(np.zeros(6, int), artist, y, np.ones(6), 1)[0] == 0.0
    # alone, each artist sees the same slope; an artist with two releases has no degrees of freedom
    assert (slope_t(artist, artist, y, length, 2) > 2).all()
    two = np.array([0, 0])
    assert slope_t(two, two, relative_income(two, np.array([1.0, 2.0])), np.array([1.0, 2.0]), 1)[0] == 0.0
    # an artist who earned nothing carries no evidence; an exact fit is infinitely strong
    assert slope_t(np.zeros(3, int), np.zeros(3, int), relative_income(np.zeros(3), np.zeros(3)),
                   np.arange(3.0), 1)[0] == 0.0
    assert slope_t(np.zeros(3, int), np.zeros(3, int), np.array([-1.0, 0.0, 1.0]), np.arange(3.0), 1)[0] == np.inf


def test_contracts_split_the_uniform_draw():
    u = np.linspace(0, 1, 10_001)[:-1]
    c = contracts(u, np.full(len(u), 0.4), 0.5)
    shares = np.bincount(c, minlength=3) / len(u)
    assert shares == pytest.approx([0.4, 0.3, 0.3], abs=1e-3)


def test_labels_and_contracts_of_the_population(base):
    sc, _, _, pop, _ = base
    np.testing.assert_array_equal(pop.major, pop.contract == Contract.MAJOR)
    majors = sc.artists.labels.majors
    assert ((pop.label[pop.major] >= 0) & (pop.label[pop.major] < majors)).all()
    indie = pop.contract == Contract.INDEPENDENT
    assert ((pop.label[indie] >= majors) & (pop.label[indie] < pop.n_labels)).all()
    assert (pop.label[pop.contract == Contract.SELF_RELEASED] == -1).all()
    assert abs(indie.sum() / (pop.n_labels - majors) - sc.artists.labels.independent_roster) < 0.5
    assert abs(pop.professional.mean() - sc.artists.dynamics.professional_share) < 0.03


def test_tiers_follow_trailing_streams_and_the_fame_tier_stays():
    sc, _, cat, pop, rng = build({"artists.count": 200, "artists.tier_window_epochs": 2}, seed=3)
    fame_tier = pop.fame_tier.copy()
    # streams in reverse order of fame: the least famous artist becomes the superstar
    streams = pop.fame.max() / pop.fame * 1e6
    for t in range(2):
        pop.observe(t, np.zeros(len(cat)), streams, 1.0, np.ones(pop.n))
    assert pop.tier[np.argmin(pop.fame)] == Tier.SUPERSTAR
    assert pop.tier[np.argmax(pop.fame)] == Tier.EMERGING
    np.testing.assert_array_equal(pop.fame_tier, fame_tier)
    np.testing.assert_array_equal(np.bincount(pop.tier, minlength=3), np.bincount(fame_tier, minlength=3))


def test_trailing_streams_start_from_the_prior_history():
    sc, _, cat, pop, _ = build({"artists.count": 100, "artists.tier_window_epochs": 4}, seed=3)
    prior = np.bincount(cat.artist, weights=pop.prior_track_popularity(), minlength=pop.n)
    np.testing.assert_allclose(pop.trailing_streams(), 4 * prior)
    pop.observe(0, np.zeros(len(cat)), np.full(pop.n, 7.0), 1.0, np.ones(pop.n))
    np.testing.assert_allclose(pop.trailing_streams(), 3 * prior + 7.0)


def test_fame_moves_toward_the_fame_of_the_streaming_rank():
    fame = np.array([10.0, 3.0, 1.0])
    streams = np.array([0.0, 5.0, 9.0])
    np.testing.assert_allclose(evolve_fame(fame, streams, 1.0), [1.0, 3.0, 10.0])
    half = evolve_fame(fame, streams, 0.5)
    np.testing.assert_allclose(half, [np.sqrt(10.0), 3.0, np.sqrt(10.0)])


def test_release_rates_follow_income_per_second_and_split_shorter_tracks():
    over = {**GOODHART, "artists.count": 200, "artists.dynamics.release_response": True,
            "artists.dynamics.release_adjust_rate": 1.0}
    sc, _, cat, pop, rng = build(over, seed=11)
    rich = pop.talent > 0
    for t in range(6):
        step(pop, cat, t, lambda c: np.where(rich[c.artist], 2.0, 0.5) * c.length_s.astype(np.float64), rng)
    m = pop.output_multiplier
    assert m[rich].mean() > 1.0 > m[~rich].mean()
    assert m.max() <= 4.0 + 1e-6 and m.min() >= 0.25 - 1e-6
    # splitting: halving an artist's target length doubles its tracks per epoch at the same output
    pop._store["target_length_s"][:] = pop.base_length_s / 2
    pop.respond(6)
    np.testing.assert_allclose(pop.release_rate, 2 * release_rates(pop.fame, sc.artists) * pop.output_multiplier,
                               rtol=1e-5)


def test_professionals_under_the_reservation_value_exit_after_the_grace_period():
    over = {"artists.count": 300, "artists.entry_rate": 0.0, "artists.dynamics.exit": True,
            "artists.dynamics.exit_hazard": 1.0, "artists.dynamics.grace_epochs": 3,
            "artists.dynamics.professional_share": 0.5, "artists.dynamics.reservation_usd_month": 52 / 12}
    sc, _, cat, pop, rng = build(over, seed=2)
    tracks = np.bincount(cat.artist, minlength=pop.n)
    rich = (pop.talent > 0) & (tracks > 0)  # nets 10 a week; the others nothing; the bar is 1 a week
    payout = np.where(rich[cat.artist], 10.0, 0.0) / tracks[cat.artist]
    exits = []
    for t in range(4):
        shares = net_shares(pop.contract, sc.payouts.splits)
        pop.observe(t, payout / shares[cat.artist], np.ones(pop.n), 1.0, shares)
        exits.append(pop.exit(t, rng))
    assert [len(e) for e in exits[:2]] == [0, 0]
    gone = np.concatenate(exits)
    np.testing.assert_array_equal(np.sort(gone), np.flatnonzero(pop.professional & ~rich))
    assert (pop.exit_epoch[gone] == 2).all() and not pop.active[gone].any()
    assert len(pop.release(5, rng)) and not np.isin(cat.artist[cat.release_epoch == 5], gone).any()


def test_professional_entry_follows_the_income_newcomers_can_expect():
    over = {"artists.count": 500, "artists.entry_rate": 0.02, "artists.dynamics.entry_response": True,
            "artists.dynamics.reservation_usd_month": 52 / 12, "artists.dynamics.grace_epochs": 520}
    sc, _, cat, pop, rng = build(over, seed=4)
    assert pop.entry_attraction(0) == 1.0  # nothing observed yet
    pop.money_scale = 1.0  # the reservation value is then 1 a week
    for income, expected in ((0.0, 0.0), (2.0, 2.0), (100.0, 4.0)):
        pop._net = TrailingSum(520)
        pop._net.add(np.full(pop.n, income))
        assert pop.entry_attraction(1) == pytest.approx(expected)
    counts = [len(pop.enter(10 + k, rng)) for k in range(5)]
    assert np.mean(counts) > 500 * 0.02  # professionals come four times as often


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

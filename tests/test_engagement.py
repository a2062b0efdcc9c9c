"""Engagement that follows satisfaction: budgets, channel mixes, tier moves, referrals, ad revenue."""

from __future__ import annotations

import mesa
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamsim.agents.listeners import ListenerPopulation, shifted_rate
from streamsim.agents.world import World
from streamsim.core.codes import Channel
from streamsim.core.config import Scenario
from streamsim.core.events import Events
from streamsim.economics import revenue as money
from streamsim.testing import synthetic_catalog

QUIET = {"listeners.churn_k0": -50.0, "listeners.arrival_rate": 0.0, "listeners.taste_drift": 0.0}


def population(n, **overrides):
    sc = Scenario().replace(**{"listeners.count": n, **QUIET, **overrides})
    world = World.generate(sc, np.random.default_rng(0))
    pop = ListenerPopulation(mesa.Model(rng=np.random.default_rng(0)), sc, world, np.random.default_rng(1))
    catalog, _ = synthetic_catalog(sc, world, 50, np.random.default_rng(0))
    return sc, pop, catalog


def plays(listener, channel, utility, seconds):
    k = len(listener)
    return Events(listener=np.asarray(listener), track=np.zeros(k, np.int32), channel=np.asarray(channel),
                  seconds=np.full(k, seconds), utility=np.asarray(utility, np.float32), saved=np.zeros(k, bool))


@given(st.floats(0.0, 1.0), st.floats(-30.0, 30.0), st.floats(0.0, 30.0))
def test_shifted_rate_is_the_rate_at_zero_and_rises_with_z(rate, z, dz):
    p, q = shifted_rate(rate, np.array([z, z + dz]))
    assert 0.0 <= p <= q <= 1.0
    assert shifted_rate(rate, np.zeros(1))[0] == pytest.approx(rate)
    if rate in (0.0, 1.0):
        assert p == rate == q


def test_budget_follows_satisfaction_in_the_documented_direction():
    sc, pop, catalog = population(400, **{"listeners.engagement.budget_slope": 0.5})
    ref = sc.listeners.engagement.reference_satisfaction
    pop.satisfaction[:200] = ref + 1.0
    pop.satisfaction[200:] = ref - 1.0
    pop.update(Events.empty(), catalog, 0, np.random.default_rng(0))   # no plays: satisfaction stays
    ratio = pop.budget_s / pop.budget_base_s
    np.testing.assert_allclose(ratio[:200], np.exp(0.5), rtol=1e-5)
    np.testing.assert_allclose(ratio[200:], np.exp(-0.5), rtol=1e-5)
    np.testing.assert_allclose(pop.ad_weight(), ratio, rtol=1e-6)


def test_budget_never_exceeds_a_week():
    sc, pop, catalog = population(10, **{"listeners.engagement.budget_slope": 10.0})
    pop.satisfaction[:] = 50.0
    pop.update(Events.empty(), catalog, 0, np.random.default_rng(0))
    assert (pop.budget_s <= 7 * 24 * 3600.0).all()


def test_a_channel_that_serves_well_gains_mix_share():
    sc, pop, catalog = population(2, **{"listeners.engagement.mix_slope": 1.0, "listeners.satisfaction_rate": 0.5})
    length = float(catalog.length_s[0])
    search, library = int(Channel.SEARCH), int(Channel.LIBRARY)
    base = pop.mix_base.copy()
    # listener 0: search served it well (utility 3), the library badly (utility -1); listener 1 did not listen
    ev = plays([0, 0, 0, 0], [search, search, library, library], [3.0, 3.0, -1.0, -1.0], length)
    pop.update(ev, catalog, 0, np.random.default_rng(0))
    s0 = sc.listeners.initial_satisfaction
    assert pop.channel_value[0, search] == pytest.approx(0.5 * s0 + 0.5 * 3.0)
    assert pop.channel_value[0, library] == pytest.approx(0.5 * s0 + 0.5 * -1.0)
    gain = np.divide(pop.mix[0], base[0], out=np.zeros(len(base[0]), np.float32), where=base[0] > 0)
    assert gain[search] > gain[Channel.RADIO] > gain[library]
    assert gain[search] / gain[library] == pytest.approx(np.exp(0.5 * 3.0 + 0.5 * 1.0), rel=1e-4)
    np.testing.assert_allclose(pop.mix.sum(axis=1), 1.0, rtol=1e-6)
    assert pop.mix[0, Channel.CONTEXT] == 0.0            # a zero base share stays zero
    np.testing.assert_allclose(pop.mix[1], base[1], rtol=1e-5)   # same value everywhere: the drawn mix


def test_without_slopes_budgets_and_mixes_stay_as_drawn():
    sc, pop, catalog = population(50, **{"listeners.engagement.budget_slope": 0.0,
                                         "listeners.engagement.mix_slope": 0.0})
    length = float(catalog.length_s[0])
    ev = plays(np.arange(50), np.full(50, int(Channel.SEARCH)), np.linspace(-2, 3, 50), length)
    budget, mix = pop.budget_s.copy(), pop.mix.copy()
    pop.update(ev, catalog, 0, np.random.default_rng(0))
    np.testing.assert_array_equal(pop.budget_s, budget)
    np.testing.assert_allclose(pop.mix, mix, rtol=1e-6)


def test_conversion_and_downgrade_rates_respond_to_satisfaction():
    sc, pop, catalog = population(40000, **{"listeners.engagement.upgrade_rate": 0.05,
                                            "listeners.engagement.downgrade_rate": 0.05})
    eng = sc.listeners.engagement
    half = pop.n // 2
    pop.satisfaction[:half] = eng.reference_satisfaction + 1.0
    pop.satisfaction[half:] = eng.reference_satisfaction - 1.0
    before = pop.premium.copy()
    pop.update(Events.empty(), catalog, 0, np.random.default_rng(3))
    for rows, ds in ((slice(0, half), 1.0), (slice(half, None), -1.0)):
        was, now = before[rows], pop.premium[rows]
        up = (now & ~was).sum() / (~was).sum()
        down = (was & ~now).sum() / was.sum()
        assert up == pytest.approx(shifted_rate(0.05, eng.upgrade_slope * ds), abs=0.012)
        assert down == pytest.approx(shifted_rate(0.05, -eng.downgrade_slope * ds), abs=0.012)


def test_tiers_stay_without_rates_and_churned_listeners_do_not_move():
    sc, pop, catalog = population(3000, **{"listeners.engagement.upgrade_rate": 0.0,
                                           "listeners.engagement.downgrade_rate": 0.0})
    before = pop.premium.copy()
    pop.update(Events.empty(), catalog, 0, np.random.default_rng(0))
    np.testing.assert_array_equal(pop.premium, before)
    sc, pop, catalog = population(3000, **{"listeners.engagement.upgrade_rate": 1.0,
                                           "listeners.engagement.downgrade_rate": 0.0})
    pop.active[:100] = False
    before = pop.premium.copy()
    pop.update(Events.empty(), catalog, 0, np.random.default_rng(0))
    assert pop.premium[100:].all() and (pop.premium[:100] == before[:100]).all()


def test_word_of_mouth_arrivals_rise_with_satisfaction():
    sc, pop, catalog = population(5000, **{"listeners.arrival_rate": 0.02})
    eng = sc.listeners.engagement
    pop.satisfaction[:] = eng.reference_satisfaction
    assert pop.referrals() == pytest.approx(0.02 * 5000)
    pop.satisfaction[:] = eng.reference_satisfaction + 0.5
    more = pop.referrals()
    assert more == pytest.approx(5000 * shifted_rate(0.02, eng.referral_slope * 0.5)) and more > 100
    pop.satisfaction[:] = eng.reference_satisfaction - 0.5
    assert pop.referrals() < 100
    pop.satisfaction[::2] = eng.reference_satisfaction + 1.0      # the mean satisfaction is what counts
    assert pop.referrals() == pytest.approx(5000 * shifted_rate(0.02, eng.referral_slope * 0.25))
    new, _ = pop.update(Events.empty(), catalog, 0, np.random.default_rng(0))
    assert abs(new - pop.referrals() * 5000 / pop.active.sum()) < 5 * np.sqrt(100)
    # arrivals start from the budget and mix they were drawn with
    np.testing.assert_array_equal(pop.budget_s[5000:], pop.budget_base_s[5000:])


def test_ad_revenue_scales_with_listening_and_fees_do_not():
    cfg = Scenario().payouts
    premium = np.array([True, False, False])
    rev = money.listener_revenue(premium, np.ones(3, bool), cfg, ad_weight=np.array([2.0, 2.0, 0.5]))
    flat = money.listener_revenue(premium, np.ones(3, bool), cfg)
    np.testing.assert_allclose(rev, flat * np.array([1.0, 2.0, 0.5]))

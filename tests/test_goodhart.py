"""The Goodhart loop end to end, with no imposed payoff (issue 11.7).

On a small world (``streamsim.testing.GOODHART_WORLD``), artists and labels adapt to the rule
in force using only what the model pays them. The test first measures the incentives the model
itself creates: every rule is settled on the same streams in every run, so the slope of a
release's income on the natural variation of its length and intro around what its artist aimed
at (the labels' own estimator, pooled over all releases) is measured under pro-rata and under
the duration rule. It then asserts that releases drift the way the significant incentives
point, and that the drift of length differs between the two rules the way the incentives
differ, in every seed. No sign is fixed in advance: whatever the listening model implies is
what is asserted. (tests/test_artists.py tests the learning rule itself against imposed payoffs.)
"""

from __future__ import annotations

import numpy as np
import pytest

from streamsim.testing import FEATURES, GOODHART_RULES, goodhart_run, incentive_gap_t, incentive_t

SIGNIFICANT = 2.5
"""|t| from which the model is taken to imply a direction (pooled over every run of a check)."""


def check(seeds: range, epochs: int) -> None:
    runs = {(rule, seed): goodhart_run(rule, seed, epochs) for seed in seeds for rule in GOODHART_RULES}
    everything = list(runs.values())
    # 1. Each rule's own incentives, where the model shows one, set the direction of the drift.
    implied = 0
    for rule in GOODHART_RULES:
        for feature in FEATURES:
            t = incentive_t(everything, rule, feature)
            if abs(t) < SIGNIFICANT:
                continue
            implied += 1
            drift = [runs[(rule, s)].drift[feature] for s in seeds]
            assert np.sign(np.mean(drift)) == np.sign(t), (rule, feature, t, drift)
    assert implied, "no incentive measurable on this world: make it bigger or longer"
    # 2. Length: on the same streams, duration rewards it more (or less) than pro-rata does;
    #    the drifts differ the same way in every seed.
    t_gap = incentive_gap_t(everything, "length")
    assert abs(t_gap) >= SIGNIFICANT, t_gap
    for s in seeds:
        gap = runs[("duration", s)].drift["length"] - runs[("pro_rata", s)].drift["length"]
        assert np.sign(gap) == np.sign(t_gap), (s, gap, t_gap)


def test_releases_drift_as_the_models_own_incentives_imply():
    """Cut down for the default run: two seeds, twenty weeks."""
    check(range(2), 20)


@pytest.mark.slow
def test_releases_drift_as_the_models_own_incentives_imply_over_five_seeds():
    check(range(5), 40)

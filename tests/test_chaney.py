"""Chaney et al. (2018) replication: the paper's measures, the ideal arm and the setup's mechanisms.

Hand-made inputs check the measures (nearest-user pairing, Jaccard of cumulative sets), the
interleaving of new items and the start-up period; a shrunk replication checks that the ideal
arm measured against its own shadow gives exactly no change and a utility ratio of 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from streamsim.agents.world import World
from streamsim.core import config
from streamsim.measures.chaney import CHANEY_COLUMNS, measures, nearest_users
from streamsim.recommender.interleave import interleave, newest_servable

REPLICATION = Path(__file__).resolve().parents[1] / "scenarios" / "chaney_replication.toml"
SHRUNK = {"listeners.count": 30, "run.epochs": 7, "recommender.startup_epochs": 3,
          "artists.releases_per_epoch": 6, "recommender.interleave_new": 3, "channels.slate_size": 60}


def consumed(rows: list[list[int]], n_tracks: int = 10) -> sp.csr_matrix:
    r = [u for u, items in enumerate(rows) for _ in items]
    c = [i for items in rows for i in items]
    return sp.csr_matrix((np.ones(len(r), bool), (r, c)), shape=(len(rows), n_tracks))


def test_each_user_is_paired_with_its_most_similar_user_by_cosine():
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.2, 0.8]])
    partner = nearest_users(vectors, 4, np.random.default_rng(0))
    np.testing.assert_array_equal(partner, [1, 0, 3, 2])
    # cosine, not dot product: a long vector is no closer than a short one in the same direction
    partner = nearest_users(np.array([[1.0, 0.0], [10.0, 1.0], [1.0, 0.05]]), 3, np.random.default_rng(0))
    assert partner[0] == 2


def test_ties_and_missing_representations_pair_at_random_never_with_oneself():
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(50):
        p = nearest_users(None, 5, rng)
        assert (p != np.arange(5)).all() and ((p >= 0) & (p < 5)).all()
        seen.add(int(p[0]))
    assert seen == {1, 2, 3, 4}
    # all-equal vectors are all tied: every other user is a possible partner
    seen = {int(nearest_users(np.ones((4, 3)), 4, rng)[0]) for _ in range(60)}
    assert seen == {1, 2, 3}


def test_jaccard_of_cumulative_sets_against_the_ideal_by_hand():
    arm = consumed([[0, 1, 2], [1, 2, 3], [5], [5, 6]])
    ideal = consumed([[0, 1, 2], [4, 5, 6], [7], [8]])
    partner = np.array([1, 0, 3, 2])
    # arm: J(0,1) = |{1,2}| / |{0,1,2,3}| = 1/2 (twice), J(2,3) = 1/2 (twice) -> 0.5
    # ideal, same pairs: J(0,1) = 0, J(2,3) = 0 -> 0
    out = measures(partner, arm, ideal, arm_utility=0.3, ideal_utility=0.4)
    assert set(out) == set(CHANEY_COLUMNS)
    assert out["chaney_jaccard"] == pytest.approx(0.5)
    assert out["chaney_jaccard_ideal"] == 0.0
    assert out["chaney_jaccard_change_vs_ideal"] == pytest.approx(0.5)
    assert out["utility_vs_ideal"] == pytest.approx(0.75)
    # pairs are directed: user 0 paired with 2 and the others as before
    out = measures(np.array([2, 0, 3, 2]), arm, ideal, 1.0, 1.0)
    assert out["chaney_jaccard"] == pytest.approx((0.0 + 0.5 + 0.5 + 0.5) / 4)


def test_newest_servable_skips_what_a_user_may_not_be_served():
    exclude = consumed([[9, 7], [], [9, 8, 7, 6]])
    mask = np.ones(10, bool)
    mask[8] = False
    new = newest_servable(np.array([0, 1, 2]), 3, exclude, mask)
    np.testing.assert_array_equal(new, [[6, 5, 4], [9, 7, 6], [5, 4, 3]])
    np.testing.assert_array_equal(newest_servable(np.array([0]), 3, None, np.arange(10) < 2), [[1, 0, -1]])


def test_interleave_by_hand():
    items = np.array([[10, 11, 12, 13, 14, -1, -1, -1]], np.int32)
    new = np.array([[12, 20]], np.int32)
    u = np.array([[0.9, 0.0, 0.8, 0.7, 0.1, 0.2, 0.3, 0.4]])      # smallest keys: slots 1 and 4
    # 12 goes to slot 1 and 20 to slot 4, the ranking fills slots 0, 2, 3, 5, 6; the ranked
    # copy of 12 (slot 3) is dropped because the interleaved one is better placed
    np.testing.assert_array_equal(interleave(items, new, u), [[10, 12, 11, 20, 13, 14, -1, -1]])
    # a ranked copy above the interleaved one wins instead
    u = np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.0, 0.1, 0.4]])      # slots 5 and 6
    np.testing.assert_array_equal(interleave(items, new, u), [[10, 11, 12, 13, 14, 20, -1, -1]])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(0, 5), st.integers(0, 12))
def test_interleave_keeps_the_ranking_and_places_every_new_item(seed, K, k, n_ranked):
    rng = np.random.default_rng(seed)
    pool = rng.permutation(40)
    m = min(n_ranked, K)
    ranked = np.full(K, -1, np.int32)
    ranked[:m] = pool[:m]
    n_new = int(rng.integers(0, k + 1))
    new = np.full(k, -1, np.int32)
    new[:n_new] = rng.choice(pool[:20], n_new, replace=False)
    row = interleave(ranked[None], new[None], rng.random((1, K)))[0]
    valid = row[row >= 0].tolist()
    placed = new[: min(n_new, K)].tolist()
    assert (row[: len(valid)] >= 0).all() and len(set(valid)) == len(valid)   # no gaps, no repeats
    assert set(placed) <= set(valid)
    others = [x for x in valid if x not in placed]
    assert others == [x for x in ranked[:m].tolist() if x not in placed][: len(others)]  # order kept
    assert len(valid) == len(set(ranked[: min(m, K - len(placed))].tolist()) | set(placed))


def test_dirichlet_world_draws_tastes_and_styles_on_the_simplex():
    sc = config.load(None, {"world.preference_model": "dirichlet", "world.d_style": 20,
                            "listeners.taste_drift": 0.0})
    world = World.generate(sc, np.random.default_rng(0))
    assert world.user_alpha.sum() == pytest.approx(sc.world.dirichlet_user_scale)
    assert world.item_alpha.sum() == pytest.approx(sc.world.dirichlet_item_scale)
    taste = world.tastes(50, None, 0.5, np.random.default_rng(1))
    assert (taste >= 0).all() and np.allclose(taste.sum(axis=1), 1.0, atol=1e-5)
    assert World.generate(config.load(None), np.random.default_rng(0)).user_alpha is None


def test_replication_settings_are_checked():
    with pytest.raises(config.ScenarioError, match="metrics.chaney"):
        config.load(None, {"metrics.chaney": True})
    with pytest.raises(config.ScenarioError, match="argmax_score"):
        config.load(None, {"listeners.argmax_score": "utility"})
    with pytest.raises(config.ScenarioError, match="taste_drift"):
        config.load(None, {"world.preference_model": "dirichlet"})


def test_startup_serves_random_slates_then_fits_the_model_once_over():
    from streamsim import recommender
    from streamsim.sim.model import StreamingModel

    sc = config.load(REPLICATION, {**SHRUNK, "metrics.chaney": False})
    model = StreamingModel(sc)
    startup = model.recommender.inner                               # Interleave(Startup(ALS))
    for epoch in range(3):
        record = model.step()
        assert not startup.started and startup.inner.user_factors is None
        # start-up slates: this epoch's releases only (none consumed yet), in random order
        slates = record.served.items
        newest = np.arange(len(model.catalog) - 3, len(model.catalog))
        assert (np.sort(slates[:, :3], axis=1) == newest).all() and (slates[:, 3:] == -1).all()
        assert len({tuple(r) for r in slates[:, :3].tolist()}) > 1
    model.step()
    assert startup.started and startup.inner.user_factors is not None
    plain = recommender.make(sc.replace(**{"recommender.startup_epochs": 0, "recommender.interleave_new": 0}), 0)
    assert plain.name == "als" and not hasattr(plain, "inner")


@pytest.mark.parametrize("kind", ["oracle", "als"])
def test_ideal_arm_against_itself_is_exactly_zero_and_arms_agree_during_startup(kind):
    from streamsim.studies import runner

    sc = config.load(REPLICATION, {**SHRUNK, "recommender.kind": kind})
    m = runner.simulate(sc).metrics
    assert list(m.columns[-len(CHANEY_COLUMNS):]) == list(CHANEY_COLUMNS)
    startup = m["epoch"] < 3
    # identical random start-up slates: both arms consume the same items
    assert (m.loc[startup, "chaney_jaccard_change_vs_ideal"] == 0.0).all()
    assert (m.loc[startup, "utility_vs_ideal"] == 1.0).all()
    if kind == "oracle":
        assert (m["chaney_jaccard_change_vs_ideal"] == 0.0).all()
        assert (m["utility_vs_ideal"] == 1.0).all()
        assert (m["chaney_jaccard"] > 0).any()
    else:
        assert (m.loc[~startup, "utility_vs_ideal"] < 1.0).all()


def test_top1_share_scores_the_top_unconsumed_item_against_the_best_one():
    from streamsim.studies.chaney_diagnosis import top1_share

    utility = np.array([[0.9, 0.5, 0.1], [0.2, 0.4, 0.8]])
    consumed = np.array([[True, False, False], [False, False, False]])
    scores = np.array([[5.0, 0.0, 1.0], [0.0, 3.0, 1.0]])
    # user 0: best unconsumed 0.5, model picks item 2 (0.1) -> 0.2; user 1: 0.4 / 0.8 -> 0.5
    assert top1_share(scores, utility, consumed) == pytest.approx((0.2 + 0.5) / 2)

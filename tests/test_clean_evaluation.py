"""Evaluation on what the model had not seen: precision@k, nDCG@k and the percentile rank of C10
leave out the items in the listener's row of the matrix the model was fitted on."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from streamsim.economics.tables import StreamTable
from streamsim.measures.metrics import Consumption, ndcg_at_k, precision_at_k, unseen
from streamsim.recommender import serving
from streamsim.studies.calibration import percentile_ranks


def consumption(pairs, n_listeners=3, n_tracks=8) -> Consumption:
    lis, trk = np.array(pairs).T
    table = StreamTable.from_events(lis, trk, np.ones(len(lis), bool), np.zeros(len(lis), bool),
                                    np.zeros(n_tracks, np.int32), n_tracks)
    return Consumption.of(table, n_listeners, n_tracks)


def seen_matrix(pairs, shape=(3, 8)) -> sp.csr_matrix:
    lis, trk = np.array(pairs).T
    return sp.csr_matrix((np.ones(len(lis), np.float32), (lis, trk)), shape=shape)


SETS = consumption([(0, 1), (0, 2), (0, 5), (1, 3)])
SEEN = seen_matrix([(0, 1), (0, 3), (1, 3)])       # listener 1 streamed only what the model had seen
USERS = np.array([0, 1])
SLATES = np.array([[1, 7, 5, -1], [3, 2, -1, -1]])


def test_seen_items_leave_the_slate_and_the_relevant_set():
    items, relevant = unseen(SETS, USERS, SLATES, SEEN)
    np.testing.assert_array_equal(items, [[7, 5, -1, -1], [2, -1, -1, -1]])
    np.testing.assert_array_equal(relevant, [2, 0])       # {2, 5} for listener 0; nothing new for 1
    items, relevant = unseen(SETS, USERS, SLATES, None)
    np.testing.assert_array_equal(items, SLATES)
    np.testing.assert_array_equal(relevant, [3, 1])


def test_precision_and_ndcg_score_only_unseen_items():
    assert precision_at_k(SETS, USERS, SLATES, 1) == pytest.approx(1.0)     # replays counted
    assert precision_at_k(SETS, USERS, SLATES, 1, SEEN) == 0.0              # 7 is not streamed
    assert precision_at_k(SETS, USERS, SLATES, 2, SEEN) == pytest.approx(0.5)
    ideal = 1.0 + 1.0 / np.log2(3.0)
    assert ndcg_at_k(SETS, USERS, SLATES, 2, SEEN) == pytest.approx((1.0 / np.log2(3.0)) / ideal)


class FixedOrder:
    """Ranks items in a fixed order, without the excluded ones (as a Recommender does)."""

    name = "fixed"

    def __init__(self, order):
        self.order = np.asarray(order, np.int32)

    def recommend(self, users, k, exclude=None, allowed=None):
        ptr, idx = serving.exclusion_rows(exclude, np.asarray(users, np.int32))
        items = np.full((len(users), k), -1, np.int32)
        for r in range(len(users)):
            keep = self.order[~np.isin(self.order, idx[ptr[r]:ptr[r + 1]])][:k]
            items[r, :len(keep)] = keep
        return items, np.zeros((len(users), k), np.float32)


def test_percentile_rank_is_over_unseen_items_and_unseen_streams():
    # listener 0 streams track 0 (trained on: a replay) and track 2 (new to the model)
    table = StreamTable.from_events(np.array([0, 0]), np.array([0, 2]), np.ones(2, bool), np.zeros(2, bool),
                                    np.zeros(5, np.int32), 5, np.full(2, 200.0))
    model = SimpleNamespace(
        ledger=SimpleNamespace(streams_table=lambda: table, track_streams_prev=np.array([50, 10, 40, 20, 30])),
        catalog=np.zeros(5), listeners=SimpleNamespace(is_bot=np.zeros(1, bool), n=1),
        recommender=FixedOrder([4, 3, 2, 1, 0]))
    seen = seen_matrix([(0, 0), (0, 4)], shape=(1, 5))
    everything = percentile_ranks(model)
    assert everything["fixed"] == pytest.approx((4 / 4 + 2 / 4) / 2)
    assert everything["popularity"] == pytest.approx((0 / 4 + 1 / 4) / 2)
    clean = percentile_ranks(model, seen)
    # unseen candidates {1, 2, 3}: the fixed order gives 3, 2, 1; popularity 2, 3, 1
    assert clean["fixed"] == pytest.approx(1 / 2) and clean["popularity"] == pytest.approx(0.0)


def test_percentile_rank_is_the_same_ranked_in_blocks_of_users(monkeypatch):
    from streamsim.studies import calibration
    rng = np.random.default_rng(3)
    n_listeners, n_tracks, n = 40, 30, 600
    listener, track = rng.integers(0, n_listeners, n), rng.integers(0, n_tracks, n)
    table = StreamTable.from_events(listener, track, np.ones(n, bool), np.zeros(n, bool),
                                    np.zeros(n_tracks, np.int32), n_tracks, rng.uniform(40, 300, n))
    model = SimpleNamespace(
        ledger=SimpleNamespace(streams_table=lambda: table, track_streams_prev=rng.integers(0, 99, n_tracks)),
        catalog=np.zeros(n_tracks), listeners=SimpleNamespace(is_bot=np.zeros(n_listeners, bool), n=n_listeners),
        recommender=FixedOrder(rng.permutation(n_tracks)))
    seen = sp.random(n_listeners, n_tracks, density=0.1, random_state=4, format="csr")
    whole = percentile_ranks(model, seen)
    monkeypatch.setattr(calibration, "RANK_BLOCK", 7 * n_tracks)       # 7 listeners at a time
    assert percentile_ranks(model, seen) == whole
    monkeypatch.setattr(calibration, "RANK_BLOCK", 1)
    assert percentile_ranks(model, seen) == whole
    assert 0.0 < whole["fixed"] < 1.0 and 0.0 < whole["popularity"] < 1.0


def test_percentile_rank_of_a_model_serving_from_clusters_also_scores_every_item():
    from streamsim.core.config import RecommenderConfig
    from streamsim.recommender.als import ALS
    from streamsim.recommender.base import FitContext

    rng = np.random.default_rng(5)
    n_users, n_items = 300, 400
    groups, item_groups = rng.integers(0, 8, n_users), rng.integers(0, 8, n_items)
    seen = sp.csr_matrix(((groups[:, None] == item_groups[None, :])
                          & (rng.random((n_users, n_items)) < 0.2)).astype(np.float32))
    als = ALS(RecommenderConfig(factors=8, candidates="clusters", n_clusters=16, n_probe=2),
              np.random.SeedSequence(1))
    als.fit(seen, FitContext(0, None, np.zeros((n_users, 2), np.float32), 1.0, 1.0))
    assert als.uses_candidates
    listener = rng.integers(0, n_users, 3000)
    track = np.where(rng.random(3000) < 0.7, rng.integers(0, n_items, 3000), rng.integers(0, 40, 3000))
    table = StreamTable.from_events(listener, track, np.ones(3000, bool), np.zeros(3000, bool),
                                    np.zeros(n_items, np.int32), n_items, np.full(3000, 200.0))
    model = SimpleNamespace(
        ledger=SimpleNamespace(streams_table=lambda: table, track_streams_prev=np.asarray(seen.sum(axis=0)).ravel()),
        catalog=np.zeros(n_items), listeners=SimpleNamespace(is_bot=np.zeros(n_users, bool), n=n_users),
        recommender=als)
    ranks = percentile_ranks(model, seen, n_users=100)
    served = als.recommend(np.arange(n_users), n_items, exclude=seen)[0]
    every = als.recommend(np.arange(n_users), n_items, exclude=seen, exact=True)[0]
    assert ((served >= 0).sum(axis=1) < (every >= 0).sum(axis=1)).all()   # 2 of 16 clusters probed
    als.index = None                                          # now it serves by scoring every item
    assert not als.uses_candidates
    np.testing.assert_array_equal(als.recommend(np.arange(n_users), n_items, exclude=seen)[0], every)
    assert percentile_ranks(model, seen, n_users=100)["als"] == ranks["als exact"]
    assert ranks["als"] > ranks["als exact"]       # streams outside the probed clusters rank last


def test_c10_is_judged_on_the_models_ranking_of_every_item():
    from streamsim.studies.calibration import c10_row
    row = c10_row({"popularity": 0.05, "als": 0.20, "als exact": 0.03})
    assert row["status"] == "pass"
    assert row["measured"] == "als 3.0 % (20.0 % as served from cluster candidates) vs popularity 5.0 %"
    assert c10_row({"popularity": 0.05, "als": 0.06})["status"] == "out of band"
    assert c10_row({"popularity": 0.05, "als": 0.01, "als exact": 0.07})["status"] == "out of band"
    assert c10_row({"popularity": 0.05})["status"] == "not measured"

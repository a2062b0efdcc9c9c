"""The shared contract of every registered recommender kind (streamsim.testing.RecommenderContract)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from streamsim.core.config import Scenario
from streamsim.core.registry import RECOMMENDERS
from streamsim.recommender import factory, make
from streamsim.recommender.exploration import Exploring
from streamsim.testing import ContractWorld, RecommenderContract, add_tracks, plays

KINDS = [k for k in RECOMMENDERS.names() if factory(k) is not None]
VARIANTS = [(k, 0.0) for k in KINDS] + [("als", 0.2), ("popularity", 0.3)]


def build(kind, share, seed=3, **over):
    sc = Scenario().replace(**{"recommender.kind": kind, "recommender.exploration.share": share,
                               "recommender.factors": 8, "recommender.iterations": 8,
                               "recommender.bpr_epochs": 10, **over})
    return make(sc, seed)


class TestEveryKind(RecommenderContract):
    @pytest.fixture(params=VARIANTS, ids=[f"{k}{'+x' if s else ''}" for k, s in VARIANTS])
    def new_recommender(self, request):
        kind, share = request.param
        return lambda seed: build(kind, share, seed=seed)


def test_make_none_and_interface():
    assert make(Scenario().replace(**{"recommender.kind": "none"}), 0) is None
    assert isinstance(build("als", 0.2), Exploring)
    assert build("bpr", 0.0).name == "bpr"


@pytest.mark.parametrize("kind", ["als", "bpr", "content", "oracle"])
def test_personalised_kinds_follow_taste_groups(kind):
    """Users of group g should mostly be served tracks of group g (the planted structure)."""
    w = ContractWorld(L=200, T=120, seed=2)
    w.m = plays(200, 120, w.rng, density=0.15)
    rec = build(kind, 0.0, **({"recommender.bpr_epochs": 60} if kind == "bpr" else {}))
    rec.fit(w.m, w.ctx())
    users = np.arange(200, dtype=np.int32)
    items, _ = rec.recommend(users, 10, exclude=w.m)
    same = (items % 2) == (users[:, None] % 2)
    assert same[items >= 0].mean() > 0.8


def test_popularity_temperature_varies_slates_but_keeps_popular_items():
    w = ContractWorld(L=40, T=200, seed=4)
    hot = build("popularity", 0.0, **{"recommender.popularity_temperature": 0.0})
    warm = build("popularity", 0.0, **{"recommender.popularity_temperature": 0.5})
    for r in (hot, warm):
        r.fit(w.m, w.ctx())
    users = np.arange(40, dtype=np.int32)
    a, _ = hot.recommend(users, 10)
    b, _ = warm.recommend(users, 10)
    pop = np.asarray(w.m.sum(axis=0), np.float32).ravel()
    ranking = np.lexsort((np.arange(len(pop)), -pop))     # most played first, ties by id
    np.testing.assert_array_equal(a, np.tile(ranking[:10], (40, 1)))   # temperature 0: the top 10
    mine, _ = hot.recommend(users, 10, exclude=w.m)
    for u in users:                                # ... of what each listener has not heard
        heard = set(w.m[u].indices)
        assert mine[u].tolist() == [i for i in ranking if i not in heard][:10]
    assert len({tuple(r) for r in b}) > 20         # temperature 0.5: varied slates
    assert pop[b].mean() > 1.5 * pop.mean()        # still popular


def test_als_new_tracks_start_from_audio():
    """A track with no plays gets its factors from the audio map, so it is servable and its
    neighbours are tracks of its own style group."""
    w = ContractWorld(L=80, T=120, seed=6)
    rec = build("als", 0.0)
    rec.fit(w.m, w.ctx(0))
    T = w.m.shape[1]
    add_tracks(w.cat, 10, 1, w.rng)
    m = sp.csr_matrix((w.m.data, w.m.indices, w.m.indptr), shape=(w.m.shape[0], T + 10))
    rec.fit(m, w.ctx(1))
    new = np.arange(T, T + 10)
    assert np.abs(rec.item_factors[new]).sum(axis=1).min() > 0
    nb, _ = rec.similar_items(new.astype(np.int32), 5)
    assert ((nb % 2) == (new[:, None] % 2)).mean() > 0.8


def test_bpr_loss_falls_and_passes_are_reproducible():
    from streamsim.recommender.bpr import fit_bpr
    w = ContractWorld(L=150, T=100, seed=8)
    rng = np.random.default_rng(0)
    X = ((rng.random((150, 9)) - 0.5) / 9).astype(np.float32)
    Y = ((rng.random((100, 9)) - 0.5) / 9).astype(np.float32)
    X[:, -1] = 1.0
    X2, Y2 = X.copy(), Y.copy()
    first = fit_bpr(w.m, X, Y, 1, 0.05, 0.01, key=99)
    later = fit_bpr(w.m, X, Y, 20, 0.05, 0.01, key=99, first_pass=1)
    assert later < first < np.log(2) + 0.01
    assert (X[:, -1] == 1.0).all()                       # the bias coordinate stays pinned
    fit_bpr(w.m, X2, Y2, 1, 0.05, 0.01, key=99)
    fit_bpr(w.m, X2, Y2, 20, 0.05, 0.01, key=99, first_pass=1)
    np.testing.assert_array_equal(X, X2)

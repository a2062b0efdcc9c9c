"""The shared contract of every recommender kind (recommender.base.Recommender)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from streamsim.agents.catalog import Catalog
from streamsim.agents.world import normalize
from streamsim.recommender import make
from streamsim.recommender.base import FitContext
from streamsim.recommender.exploration import Exploring
from streamsim.core.config import Scenario

KINDS = ["als", "bpr", "popularity", "random", "content", "oracle"]
VARIANTS = [(k, 0.0) for k in KINDS] + [("als", 0.2), ("popularity", 0.3)]
D, A = 4, 6


def add_tracks(cat: Catalog, n: int, epoch: int, rng: np.random.Generator) -> np.ndarray:
    """Append n tracks in two style groups; audio = style through a fixed map plus noise."""
    group = np.arange(len(cat), len(cat) + n) % 2
    style = normalize(np.eye(D, dtype=np.float32)[group] + 0.3 * rng.standard_normal((n, D)))
    amap = np.random.default_rng(123).standard_normal((D, A)).astype(np.float32)
    return cat.append(
        artist=np.zeros(n, np.int32), genre=group.astype(np.int16), style=style,
        quality=rng.standard_normal(n).astype(np.float32), length_s=np.full(n, 200, np.float32),
        intro_s=np.full(n, 10, np.float32), release_epoch=np.full(n, epoch, np.int32),
        audio=(style @ amap + 0.1 * rng.standard_normal((n, A))).astype(np.float32),
        tags=np.zeros((n, 1), np.int16), explicit=np.zeros(n, np.bool_),
        regions=np.ones(n, np.uint32), fraud=np.zeros(n, np.bool_))


def plays(L: int, T: int, rng: np.random.Generator, density: float = 0.08) -> sp.csr_matrix:
    """Users of group u % 2 play mostly tracks of group t % 2."""
    u, t = np.nonzero(rng.random((L, T)) < density)
    same = (u % 2) == (t % 2)
    keep = same | (rng.random(len(u)) < 0.15)
    u, t = u[keep], t[keep]
    vals = rng.gamma(1.0, 2.0, len(u)).astype(np.float32) + 0.05
    return sp.csr_matrix((vals, (u, t)), shape=(L, T))


class World:
    """A small growing world: a catalog, tastes and a play matrix."""

    def __init__(self, L=60, T=80, seed=0):
        self.rng = np.random.default_rng(seed)
        self.cat = Catalog(D, A, 1)
        add_tracks(self.cat, T, 0, self.rng)
        self.taste = normalize(np.eye(D, dtype=np.float32)[np.arange(L) % 2]
                               + 0.2 * self.rng.standard_normal((L, D)))
        self.m = plays(L, T, self.rng)

    def ctx(self, epoch=0):
        return FitContext(epoch, self.cat, self.taste, 2.0, 0.5, n_threads=None)

    def grow(self, dL, dT, epoch):
        add_tracks(self.cat, dT, epoch, self.rng)
        L, T = self.m.shape
        extra = normalize(np.eye(D, dtype=np.float32)[np.arange(L, L + dL) % 2]
                          + 0.2 * self.rng.standard_normal((dL, D)))
        self.taste = np.vstack([self.taste, extra])
        new = plays(L + dL, T + dT, self.rng, density=0.02)
        old = sp.csr_matrix((self.m.data, self.m.indices, self.m.indptr), shape=(L, T + dT))
        self.m = sp.csr_matrix(sp.vstack([old, sp.csr_matrix((dL, T + dT), dtype=np.float32)]) * 0.9 + new)


def build(kind, share, seed=3, **over):
    sc = Scenario().replace(**{"recommender.kind": kind, "recommender.exploration.share": share,
                               "recommender.factors": 8, "recommender.iterations": 8,
                               "recommender.bpr_epochs": 10, **over})
    return make(sc, seed)


@pytest.fixture(params=VARIANTS, ids=[f"{k}{'+x' if s else ''}" for k, s in VARIANTS])
def variant(request):
    return request.param


def check_slates(items, scores, n, k, exclude=None, users=None, allowed=None):
    assert items.shape == (n, k) and scores.shape == (n, k)
    assert items.dtype == np.int32 and scores.dtype == np.float32
    for r in range(n):
        row = items[r]
        got = row[row >= 0]
        assert len(np.unique(got)) == len(got), "duplicate in a slate"
        # padding only at the end, with -inf scores
        n_valid = len(got)
        assert (row[:n_valid] >= 0).all() and (row[n_valid:] == -1).all()
        assert np.isneginf(scores[r, n_valid:]).all() and np.isfinite(scores[r, :n_valid]).all()
        if exclude is not None and users[r] < exclude.shape[0]:
            assert not np.isin(got, exclude[users[r]].indices).any(), "excluded item served"
        if allowed is not None:
            assert allowed[got].all(), "disallowed item served"


def test_make_none_and_interface():
    assert make(Scenario().replace(**{"recommender.kind": "none"}), 0) is None
    assert isinstance(build("als", 0.2), Exploring)
    assert build("bpr", 0.0).name == "bpr"


def test_shapes_exclusions_allowed_no_duplicates(variant):
    w = World()
    rec = build(*variant)
    info = rec.fit(w.m, w.ctx())
    assert info.seconds >= 0
    L, T = w.m.shape
    users = np.array([0, 1, 5, L - 1, L + 3], np.int32)          # the last one is cold
    allowed = np.ones(T, np.bool_)
    allowed[::3] = False
    items, scores = rec.recommend(users, 10, exclude=w.m, allowed=allowed)
    check_slates(items, scores, len(users), 10, w.m, users, allowed)
    assert (items[:, :3] >= 0).all()
    # more slots than servable items: padded
    few = np.zeros(T, np.bool_)
    few[[1, 2, 4]] = True
    items, scores = rec.recommend(users, 6, allowed=few)
    check_slates(items, scores, len(users), 6, allowed=few)
    assert ((items >= 0).sum(axis=1) == 3).all()


def test_similar_items(variant):
    w = World()
    rec = build(*variant)
    rec.fit(w.m, w.ctx())
    T = w.m.shape[1]
    q = np.array([0, 1, T - 1], np.int32)
    items, scores = rec.similar_items(q, 5)
    check_slates(items, scores, 3, 5)
    assert not (items == q[:, None]).any(), "an item is its own neighbour"
    allowed = np.arange(T) % 2 == 0
    items, _ = rec.similar_items(q, 5, allowed=allowed)
    assert allowed[items[items >= 0]].all()
    add_tracks(w.cat, 3, 1, w.rng)                                 # newer than the fit: cold
    items, scores = rec.similar_items(np.array([T, T + 2], np.int32), 4)
    check_slates(items, scores, 2, 4)
    assert (items >= 0).all()


def test_deterministic_for_a_seed(variant):
    out = []
    for _ in range(2):
        w = World(seed=5)
        rec = build(*variant, seed=11)
        rec.fit(w.m, w.ctx())
        users = np.arange(w.m.shape[0] + 2, dtype=np.int32)
        out.append(rec.recommend(users, 7, exclude=w.m) + rec.similar_items(np.arange(10), 4))
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


def test_growing_catalog_and_users(variant):
    w = World()
    rec = build(*variant)
    rec.fit(w.m, w.ctx(0))
    for epoch in (1, 2):
        w.grow(7, 9, epoch)
        info = rec.fit(w.m, w.ctx(epoch))
        assert np.isfinite(info.seconds)
        L, T = w.m.shape
        users = np.arange(L, dtype=np.int32)
        items, scores = rec.recommend(users, 12, exclude=w.m)
        check_slates(items, scores, L, 12, w.m, users)
        assert items.max() < T
        nb_items, _ = rec.similar_items(np.arange(T - 9, T, dtype=np.int32), 3)
        assert (nb_items >= 0).all()
    rec.observe(np.array([0, T - 1, T - 1]), np.array([True, False, True]))


def test_empty_rows_and_columns(variant):
    w = World()
    m = w.m.tolil()
    m[3, :] = 0
    m[:, 5] = 0
    m = sp.csr_matrix(m)
    m.eliminate_zeros()
    rec = build(*variant)
    rec.fit(m, w.ctx())
    items, scores = rec.recommend(np.array([3, 4], np.int32), 5, exclude=m)
    check_slates(items, scores, 2, 5, m, np.array([3, 4]))
    assert (items >= 0).all()
    items, _ = rec.similar_items(np.array([5], np.int32), 3)
    assert (items >= 0).all()


def test_all_zero_matrix(variant):
    w = World()
    m = sp.csr_matrix(w.m.shape, dtype=np.float32)
    rec = build(*variant)
    rec.fit(m, w.ctx())
    items, scores = rec.recommend(np.arange(5, dtype=np.int32), 4)
    check_slates(items, scores, 5, 4)
    assert (items >= 0).all()
    items, scores = rec.similar_items(np.arange(3, dtype=np.int32), 4)
    check_slates(items, scores, 3, 4)


def test_empty_requests(variant):
    w = World()
    rec = build(*variant)
    rec.fit(w.m, w.ctx())
    items, scores = rec.recommend(np.zeros(0, np.int32), 5)
    assert items.shape == (0, 5) and scores.shape == (0, 5)
    items, scores = rec.similar_items(np.zeros(0, np.int32), 5)
    assert items.shape == (0, 5)


@pytest.mark.parametrize("kind", ["als", "bpr", "content", "oracle"])
def test_personalised_kinds_follow_taste_groups(kind):
    """Users of group g should mostly be served tracks of group g (the planted structure)."""
    w = World(L=200, T=120, seed=2)
    w.m = plays(200, 120, w.rng, density=0.15)
    rec = build(kind, 0.0, **({"recommender.bpr_epochs": 60} if kind == "bpr" else {}))
    rec.fit(w.m, w.ctx())
    users = np.arange(200, dtype=np.int32)
    items, _ = rec.recommend(users, 10, exclude=w.m)
    same = (items % 2) == (users[:, None] % 2)
    assert same[items >= 0].mean() > 0.8


def test_popularity_temperature_varies_slates_but_keeps_popular_items():
    w = World(L=40, T=200, seed=4)
    hot = build("popularity", 0.0, **{"recommender.popularity_temperature": 0.0})
    warm = build("popularity", 0.0, **{"recommender.popularity_temperature": 0.5})
    for r in (hot, warm):
        r.fit(w.m, w.ctx())
    users = np.arange(40, dtype=np.int32)
    a, _ = hot.recommend(users, 10)
    b, _ = warm.recommend(users, 10)
    assert (a == a[0]).all()                       # temperature 0: one ranking for everyone
    assert len({tuple(r) for r in b}) > 20         # temperature 0.5: varied slates
    pop = np.asarray(w.m.sum(axis=0)).ravel()
    assert pop[b].mean() > 1.5 * pop.mean()        # still popular


def test_als_new_tracks_start_from_audio():
    """A track with no plays gets its factors from the audio map, so it is servable and its
    neighbours are tracks of its own style group."""
    w = World(L=80, T=120, seed=6)
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
    w = World(L=150, T=100, seed=8)
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

"""Implicit ALS: solver correctness, objective, quality, warm start and thread invariance."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from streamsim.recommender import serving
from streamsim.recommender.als import _prepare, als_loss, fit_als, gram, solve_rows
from streamsim.core.config import RecommenderConfig

def _lastfm() -> Path:
    """The HetRec 2011 Last.fm play counts: $STREAMSIM_LASTFM, else shared/data/ beside the clone
    or beside any folder above it (helpers' clones live one level deeper than the main one)."""
    if os.environ.get("STREAMSIM_LASTFM"):
        return Path(os.environ["STREAMSIM_LASTFM"])
    rel = Path("shared", "data", "hetrec2011-lastfm-2k", "user_artists.dat")
    here = Path(__file__).resolve().parents[1]
    return next((p / rel for p in here.parents if (p / rel).exists()), here.parent / rel)


LASTFM = _lastfm()


def random_matrix(L=120, T=90, density=0.08, seed=0, dislikes=0.0) -> sp.csr_matrix:
    """Play values > 0; a share ``dislikes`` of the entries made negative (known dislikes)."""
    rng = np.random.default_rng(seed)
    m = sp.random(L, T, density=density, format="csr", random_state=rng, dtype=np.float32)
    m.data = np.log1p(10 * m.data).astype(np.float32) + 0.01
    m.data[rng.random(m.nnz) < dislikes] *= -1
    return m


def factors(L, T, f, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.random((L, f), dtype=np.float32) * 0.1, rng.random((T, f), dtype=np.float32) * 0.1)


def exact_rows(m, Y, reg, alpha):
    """The normal equations solved row by row in float64 with numpy."""
    m = sp.csr_matrix(m)
    Y64 = Y.astype(np.float64)
    out = np.zeros((m.shape[0], Y.shape[1]))
    for u in range(m.shape[0]):
        idx = m.indices[m.indptr[u]:m.indptr[u + 1]]
        c = alpha * m.data[m.indptr[u]:m.indptr[u + 1]].astype(np.float64)
        p = (c > 0).astype(np.float64)          # a negative value: preference 0, confidence |c|
        c = np.abs(c)
        A = Y64.T @ Y64 + reg * np.eye(Y.shape[1]) + (Y64[idx].T * (c - 1)) @ Y64[idx]
        out[u] = np.linalg.solve(A, Y64[idx].T @ (c * p))
    return out


def top10_precision(X, Y, observed, truth):
    users = np.arange(X.shape[0], dtype=np.int32)
    ptr, idx = serving.exclusion_rows(observed, users)
    top, _ = serving.topk_dot(X, Y, 10, ptr, idx, np.ones(Y.shape[0], np.bool_))
    return float(np.mean([truth[u, top[u]].mean() for u in users]))


@pytest.mark.parametrize("dislikes", [0.0, 0.3])
def test_cholesky_solves_the_normal_equations(dislikes):
    m = random_matrix(dislikes=dislikes)
    X, Y = factors(*m.shape, 8)
    solve_rows(_prepare(m), X, Y, 0.1, 40.0, solver="cholesky")
    np.testing.assert_allclose(X, exact_rows(m, Y, 0.1, 40.0), rtol=2e-4, atol=2e-5)


def test_cg_converges_to_the_exact_solution():
    m = random_matrix()
    X, Y = factors(*m.shape, 8)
    X_cg = X.copy()
    solve_rows(_prepare(m), X_cg, Y, 0.1, 40.0, cg_steps=8, solver="cg")
    for _ in range(3):                      # a few more restarts from the previous value
        solve_rows(_prepare(m), X_cg, Y, 0.1, 40.0, cg_steps=8, solver="cg")
    np.testing.assert_allclose(X_cg, exact_rows(m, Y, 0.1, 40.0), rtol=1e-3, atol=1e-3)


def test_cg_and_cholesky_fits_agree_on_small_data():
    m = random_matrix(seed=3)
    Xc, Yc = fit_als(m, 6, 10, 0.1, 10.0, seed=0, solver="cholesky")
    Xg, Yg = fit_als(m, 6, 10, 0.1, 10.0, seed=0, solver="cg", cg_steps=6)
    Pc, Pg = Xc @ Yc.T, Xg @ Yg.T
    scale = np.abs(Pc).max()
    assert np.abs(Pc - Pg).max() < 0.03 * scale and np.abs(Pc - Pg).mean() < 0.003 * scale


@pytest.mark.parametrize("dislikes", [0.0, 0.3])
def test_cg_half_step_matches_implicit_reference(dislikes):
    """`implicit`'s own pure-Python CG solver, same inputs, same number of steps; negative
    values are dislikes in both."""
    ref = pytest.importorskip("implicit.cpu.als")
    m = random_matrix(seed=4, dislikes=dislikes)
    X, Y = factors(*m.shape, 16)
    X_ref = X.copy()
    ref.least_squares_cg(sp.csr_matrix(m * np.float32(40.0)), X_ref, Y, 0.05, cg_steps=3)
    solve_rows(_prepare(m), X, Y, 0.05, 40.0, cg_steps=3)
    np.testing.assert_allclose(X, X_ref, rtol=1e-3, atol=1e-3 * np.abs(X_ref).max())


@pytest.mark.parametrize("dislikes", [0.0, 0.3])
def test_loss_matches_implicit(dislikes):
    als = pytest.importorskip("implicit.cpu._als")
    m = random_matrix(seed=5, dislikes=dislikes)
    X, Y = factors(*m.shape, 8)
    theirs = als.calculate_loss(sp.csr_matrix(m * np.float32(40.0)), X, Y, 0.1, num_threads=1)
    assert als_loss(m, X, Y, 0.1, 40.0) == pytest.approx(theirs, rel=1e-5)


def test_loss_never_increases_with_exact_solver():
    m = random_matrix(L=150, T=100, seed=6)
    losses = []
    fit_als(m, 8, 12, 0.05, 40.0, seed=2, solver="cholesky",
            callback=lambda it, X, Y: losses.append(als_loss(m, X, Y, 0.05, 40.0)))
    steps = np.diff(losses)
    assert len(losses) == 12
    assert (steps <= 1e-7 * np.abs(losses[:-1])).all(), losses
    assert losses[-1] < losses[0]


def test_gram_is_exact_and_symmetric():
    Y = np.random.default_rng(0).standard_normal((5000, 12)).astype(np.float32)
    G = gram(Y, 0.5)
    ref = Y.astype(np.float64).T @ Y + 0.5 * np.eye(12)
    np.testing.assert_allclose(G, ref, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(G, G.T)


def test_planted_low_rank_precision_near_one():
    """10 taste groups of 30 items; users saw half of their group's items. The top-10 of the
    unseen items should come from the user's own group."""
    rng = np.random.default_rng(0)
    L, G, per = 400, 10, 30
    T = G * per
    ug = rng.integers(0, G, L)
    truth = (ug[:, None] == (np.arange(T) // per)[None, :])
    seen = truth & (rng.random((L, T)) < 0.5)
    observed = sp.csr_matrix(seen.astype(np.float32) * rng.gamma(2.0, 1.0, (L, T)).astype(np.float32))
    X, Y = fit_als(observed, 16, 15, 0.1, 10.0, seed=0)
    assert top10_precision(X, Y, observed, truth & ~seen) > 0.95


def test_fit_is_deterministic_and_validates_solver():
    m = random_matrix(seed=8)
    a = fit_als(m, 8, 4, 0.1, 40.0, seed=5)
    b = fit_als(m, 8, 4, 0.1, 40.0, seed=5)
    c = fit_als(m, 8, 4, 0.1, 40.0, seed=6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    with pytest.raises(ValueError, match="solver"):
        fit_als(m, 8, 1, 0.1, 40.0, seed=5, solver="lu")


def test_warm_start_grows_and_folds_in():
    m = random_matrix(L=200, T=150, density=0.1, seed=9)
    prev = sp.csr_matrix(m[:180, :140])
    X0, Y0 = fit_als(prev, 8, 15, 0.1, 10.0, seed=0)
    cold = als_loss(m, *fit_als(m, 8, 15, 0.1, 10.0, seed=1), 0.1, 10.0)
    Xw, Yw = fit_als(m, 8, 0, 0.1, 10.0, seed=0, user_factors=X0, item_factors=Y0)
    assert Xw.shape == (200, 8) and Yw.shape == (150, 8)
    np.testing.assert_array_equal(Xw[:180], X0)
    assert np.abs(Yw[140:]).sum(axis=1).min() > 0 and np.abs(Xw[180:]).sum(axis=1).min() > 0
    warm = als_loss(m, *fit_als(m, 8, 3, 0.1, 10.0, seed=0, user_factors=X0, item_factors=Y0), 0.1, 10.0)
    assert warm < cold * 1.02


def test_warm_rows_are_the_changed_new_and_refreshed_ones():
    from streamsim.recommender.als import warm_rows
    assert warm_rows(10, np.array([1, 7]), np.array([9]), epoch=5, refresh_epochs=4).tolist() == [1, 5, 7, 9]
    assert warm_rows(10, None, np.array([9]), 5, 4) is None
    assert warm_rows(10, np.array([1]), np.zeros(0), 5, 0) is None
    every = set()
    for epoch in range(3):
        every |= set(warm_rows(10, np.zeros(0), np.zeros(0), epoch, 3).tolist())
    assert every == set(range(10))


def test_a_partial_warm_fit_leaves_the_other_rows_alone():
    from streamsim.recommender.als import ALS
    from streamsim.recommender.base import FitContext

    cfg = RecommenderConfig(factors=8, warm_iterations=2, warm_refresh_epochs=1000)
    m = random_matrix(L=60, T=40, density=0.2, seed=5)
    ctx = FitContext(1, None, np.zeros((60, 2), np.float32), 1.0, 1.0)
    als = ALS(cfg, np.random.SeedSequence(0))
    als.fit(m, ctx)
    X0, Y0 = als.user_factors.copy(), als.item_factors.copy()
    changed_u, changed_i = np.array([3, 10]), np.array([4])
    ctx2 = FitContext(1001, None, np.zeros((60, 2), np.float32), 1.0, 1.0, None, changed_u, changed_i)
    als.fit(m, ctx2)                                  # refresh slice: ids = 1 (mod 1000)
    moved_u = np.flatnonzero(np.abs(als.user_factors - X0).max(axis=1) > 0)
    moved_i = np.flatnonzero(np.abs(als.item_factors - Y0).max(axis=1) > 0)
    assert set(moved_u) <= {1, 3, 10} and set(moved_i) <= {1, 4} and len(moved_u) and len(moved_i)


def load_lastfm():
    raw = np.loadtxt(LASTFM, skiprows=1, dtype=np.int64)
    _, u = np.unique(raw[:, 0], return_inverse=True)
    _, i = np.unique(raw[:, 1], return_inverse=True)
    return sp.csr_matrix((raw[:, 2].astype(np.float32), (u, i)))


def split_80_20(m, seed=7):
    rng = np.random.default_rng(seed)
    coo = m.tocoo()
    order = np.lexsort((rng.random(m.nnz), coo.row))
    row = coo.row[order]
    n = np.bincount(row, minlength=m.shape[0])
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    rank = np.arange(m.nnz) - start[row]
    test = rank < np.where(n >= 2, np.maximum(1, np.round(0.2 * n)), 0)[row]
    def part(mask):
        return sp.csr_matrix((coo.data[order][mask], (row[mask], coo.col[order][mask])), shape=m.shape)
    return part(~test), part(test)


def p_ndcg(top, test):
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    disc = 1 / np.log2(np.arange(2, 12))
    p, nd = [], []
    for u in users:
        rel = set(test.indices[test.indptr[u]:test.indptr[u + 1]])
        hits = np.array([i in rel for i in top[u]])
        p.append(hits.mean())
        nd.append((hits * disc).sum() / disc[: min(len(rel), 10)].sum())
    return np.mean(p), np.mean(nd)


@pytest.mark.skipif(not LASTFM.exists(), reason=f"Last.fm data not found at {LASTFM} (set STREAMSIM_LASTFM)")
def test_lastfm_als_beats_popularity():
    """With the simulator's defaults (confidence 1 + alpha * w(r)), on a per-user 80/20 split."""
    cfg = RecommenderConfig()
    train, test = split_80_20(load_lastfm())
    w = sp.csr_matrix(train, copy=True)
    if cfg.weighting == "log":
        w.data = np.log1p(w.data)
    w.data += np.float32(1 / cfg.alpha)
    X, Y = fit_als(w, cfg.factors, cfg.iterations, cfg.regularization, cfg.alpha, seed=0,
                   cg_steps=cfg.cg_steps, solver=cfg.solver)
    users = np.arange(train.shape[0], dtype=np.int32)
    ptr, idx = serving.exclusion_rows(train, users)
    mask = np.ones(train.shape[1], np.bool_)
    als_top, _ = serving.topk_dot(X, Y, 10, ptr, idx, mask)
    pop = np.asarray(train.sum(axis=0)).ravel()
    pop_top, _ = serving.topk_shared(pop, users, 10, ptr, idx, mask)
    als_p, als_n = p_ndcg(als_top, test)
    pop_p, pop_n = p_ndcg(pop_top, test)
    assert als_p > 1.5 * pop_p and als_n > 1.5 * pop_n, (als_p, als_n, pop_p, pop_n)


def test_a_first_fit_on_an_empty_matrix_does_not_freeze_the_model():
    """Zero factors are a fixed point of ALS: after an empty first epoch the next fit restarts cold."""
    from streamsim.recommender.als import ALS
    from streamsim.recommender.base import FitContext

    cfg = RecommenderConfig(factors=8, warm_iterations=2)
    als = ALS(cfg, np.random.SeedSequence(0))
    empty = sp.csr_matrix((50, 40), dtype=np.float32)
    als.fit(empty, FitContext(0, None, np.zeros((50, 2), np.float32), 1.0, 1.0))
    assert als.cold
    als.fit(random_matrix(L=50, T=40, density=0.1, seed=3), FitContext(1, None, np.zeros((50, 2), np.float32), 1.0, 1.0))
    assert not als.cold
    assert np.abs(als.user_factors).max() > 0.01 and np.abs(als.item_factors).max() > 0.01

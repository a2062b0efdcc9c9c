"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) in numba.

Objective, exactly `implicit`'s: for the stored values r_ui > 0 of the input matrix,
confidence ``c_ui = alpha * r_ui`` and preference ``p_ui = 1``; for stored values r_ui < 0 (a
known dislike) ``c_ui = alpha * |r_ui|`` and ``p_ui = 0``; elsewhere ``c = 1, p = 0``;

    min_X,Y  sum_ui c_ui (p_ui - x_u . y_i)^2 + lambda (|X|^2 + |Y|^2).

Each half-iteration fixes one side and solves every row of the other independently:
``(YtY + lambda I + Yt (C_u - I) Y) x_u = Yt C_u p_u``, touching only the row's nonzeros once
YtY is known. The solve is a few conjugate-gradient steps warm-started from the previous value
(as `implicit` does) or an exact Cholesky solve (option and test oracle).

Determinism: YtY is summed over fixed chunks of rows in a fixed order, and each row's solve
reads only shared inputs and its own scratch, so the factors are bit-identical for any number
of threads.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import numba as nb
import numpy as np
import scipy.sparse as sp

from streamsim.recommender.base import FactorModel, FitContext, FitInfo, ridge_map
from streamsim.recommender.serving import FASTMATH

_FM = set(FASTMATH)
GRAM_CHUNK = 2048      # rows per partial sum of YtY; fixed, so the sum order never changes
ROW_BLOCKS = 256       # row blocks (rows b, b + 256, ...) split over threads; own scratch each


@contextmanager
def threads(n: int | None):
    """Run numba kernels on n threads (None: leave as is)."""
    old = nb.get_num_threads()
    if n is not None:
        nb.set_num_threads(max(1, min(int(n), nb.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        nb.set_num_threads(old)


@nb.njit(parallel=True, cache=True, fastmath=_FM)
def _gram_partials(Y, chunk):
    n, f = Y.shape
    n_chunks = (n + chunk - 1) // chunk
    parts = np.zeros((max(n_chunks, 1), f, f), np.float32)
    for c in nb.prange(n_chunks):
        lo = c * chunk
        m = min(n, lo + chunk) - lo
        Yt = np.empty((f, m), np.float32)       # the chunk transposed, in tiles of 16 rows
        for t0 in range(0, m, 16):
            for a in range(f):
                for t in range(t0, min(m, t0 + 16)):
                    Yt[a, t] = Y[lo + t, a]
        G = parts[c]
        for a in range(f):
            ra = Yt[a]
            for b in range(a + 1):
                rb = Yt[b]
                acc = np.float32(0.0)
                for t in range(m):
                    acc += ra[t] * rb[t]
                G[a, b] = acc
                G[b, a] = acc
    return parts


def gram(Y: np.ndarray, regularization: float = 0.0) -> np.ndarray:
    """``Y.T @ Y + regularization * I`` in float32, summed in an order independent of threads."""
    parts = _gram_partials(np.ascontiguousarray(Y), GRAM_CHUNK)
    G = np.zeros(parts.shape[1:], np.float64)
    for p in parts:          # sequential, fixed order
        G += p
    G[np.diag_indices_from(G)] += regularization
    return G.astype(np.float32)


@nb.njit(inline="always", cache=True, fastmath=_FM)
def _dot(a, b):
    """Sum of a[k] * b[k]. The loop only reads, so LLVM vectorises it the same way every time."""
    acc = np.float32(0.0)
    for k in range(a.shape[0]):
        acc += a[k] * b[k]
    return acc


@nb.njit(inline="always", cache=True, fastmath=_FM)
def _symv(A, v, out):
    """out = A v for a symmetric A, as a sum of columns: element-wise updates, no reduction."""
    f = v.shape[0]
    for a in range(f):
        out[a] = np.float32(0.0)
    for b in range(f):
        vb = v[b]
        for a in range(f):
            out[a] += A[b, a] * vb


@nb.njit(parallel=True, cache=True, fastmath=_FM)
def _cg_rows(indptr, indices, data, alpha, X, Y, YtY, rows, cg_steps, n_blocks):
    # Bit-for-bit determinism: no loop both writes an array and accumulates a sum. LLVM vectorises
    # such a loop behind a run-time check that the arrays do not overlap (or lie < 256 bytes
    # apart) and falls back to a scalar loop, which sums in another order, when the check fails.
    # The check depends on where the scratch arrays land in each thread's heap, so the same
    # inputs gave different factors from thread to thread and from process to process. Sums are
    # therefore taken by _dot, which only reads, and A p by _symv, which only adds element-wise.
    f = X.shape[1]
    n = len(rows)
    for blk in nb.prange(n_blocks):
        x = np.empty(f, np.float32)
        r = np.empty(f, np.float32)
        p = np.empty(f, np.float32)
        ap = np.empty(f, np.float32)
        for t in range(blk, n, n_blocks):       # strided: heavy rows spread over blocks
            u = rows[t]
            for a in range(f):
                x[a] = X[u, a]
            # r = b - A x, with A x = YtY x + sum (c - 1) (y.x) y and b = sum c y
            _symv(YtY, x, r)
            for a in range(f):
                r[a] = -r[a]
            for k in range(indptr[u], indptr[u + 1]):
                i = indices[k]
                c = alpha * data[k]
                if c > 0:
                    coef = c - (c - np.float32(1.0)) * _dot(Y[i], x)
                else:       # a dislike: preference 0, confidence |c|
                    coef = -(-c - np.float32(1.0)) * _dot(Y[i], x)
                for a in range(f):
                    r[a] += coef * Y[i, a]
            for a in range(f):
                p[a] = r[a]
            rsold = _dot(r, r)
            if rsold < 1e-20:
                continue
            for _ in range(cg_steps):
                _symv(YtY, p, ap)
                for k in range(indptr[u], indptr[u + 1]):
                    i = indices[k]
                    coef = (abs(alpha * data[k]) - np.float32(1.0)) * _dot(Y[i], p)
                    for a in range(f):
                        ap[a] += coef * Y[i, a]
                pap = _dot(p, ap)
                if pap <= 0.0:
                    break
                step = rsold / pap
                for a in range(f):
                    x[a] += step * p[a]
                    r[a] -= step * ap[a]
                rsnew = _dot(r, r)
                if rsnew < 1e-20:
                    break
                beta = rsnew / rsold
                for a in range(f):
                    p[a] = r[a] + beta * p[a]
                rsold = rsnew
            for a in range(f):
                X[u, a] = x[a]


@nb.njit(parallel=True, cache=True, fastmath=_FM)
def _cholesky_rows(indptr, indices, data, alpha, X, Y, YtY, rows, n_blocks):
    f = X.shape[1]
    n = len(rows)
    for blk in nb.prange(n_blocks):
        A = np.empty((f, f), np.float64)
        b = np.empty(f, np.float64)
        y = np.empty(f, np.float64)
        for t in range(blk, n, n_blocks):
            u = rows[t]
            for a in range(f):
                b[a] = 0.0
                for q in range(f):
                    A[a, q] = YtY[a, q]
            for k in range(indptr[u], indptr[u + 1]):
                i = indices[k]
                c = float(alpha) * float(data[k])
                p_ui = 1.0 if c > 0 else 0.0
                c = abs(c)
                for a in range(f):
                    ya = float(Y[i, a])
                    b[a] += p_ui * c * ya
                    w = (c - 1.0) * ya
                    for q in range(f):
                        A[a, q] += w * Y[i, q]
            # in-place Cholesky A = L L^T (lower triangle), then two triangular solves
            for j in range(f):
                s = A[j, j]
                for q in range(j):
                    s -= A[j, q] * A[j, q]
                s = np.sqrt(max(s, 1e-30))
                A[j, j] = s
                for a in range(j + 1, f):
                    v = A[a, j]
                    for q in range(j):
                        v -= A[a, q] * A[j, q]
                    A[a, j] = v / s
            for a in range(f):
                v = b[a]
                for q in range(a):
                    v -= A[a, q] * y[q]
                y[a] = v / A[a, a]
            for a in range(f - 1, -1, -1):
                v = y[a]
                for q in range(a + 1, f):
                    v -= A[q, a] * y[q]
                y[a] = v / A[a, a]
            for a in range(f):
                X[u, a] = np.float32(y[a])


@nb.njit(parallel=True, cache=True)
def _loss_partials(indptr, indices, data, alpha, X, Y, YtY0, n_blocks):
    n, f = X.shape
    per = (n + n_blocks - 1) // n_blocks
    out = np.zeros((n_blocks, 3), np.float64)   # loss, total confidence, |X|^2
    for blk in nb.prange(n_blocks):
        tmp = np.empty(f, np.float64)
        for u in range(blk * per, min(n, (blk + 1) * per)):
            for a in range(f):
                acc = 0.0
                for q in range(f):
                    acc += float(YtY0[a, q]) * X[u, q]
                tmp[a] = acc
            for k in range(indptr[u], indptr[u + 1]):
                i = indices[k]
                c = float(alpha) * float(data[k])
                p_ui = 1.0 if c > 0 else 0.0
                c = abs(c)
                yx = 0.0
                for a in range(f):
                    yx += float(Y[i, a]) * X[u, a]
                for a in range(f):
                    tmp[a] += (c - 1.0) * yx * Y[i, a]
                # c - 2 c p yx: `implicit` adds c for a dislike too (a constant), so the same here
                out[blk, 0] += c - 2.0 * p_ui * c * yx
                out[blk, 1] += c
            for a in range(f):
                out[blk, 0] += tmp[a] * X[u, a]
                out[blk, 2] += float(X[u, a]) * X[u, a]
    return out


def _prepare(m: sp.spmatrix) -> sp.csr_matrix:
    """float32 CSR with sorted, unique indices and no explicit zeros."""
    m = sp.csr_matrix(m, dtype=np.float32, copy=True)
    m.sum_duplicates()
    m.eliminate_zeros()
    return m


def _arrays(m: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr int64, indices int32, data float32) as the kernels take them."""
    return (m.indptr.astype(np.int64, copy=False), m.indices.astype(np.int32, copy=False),
            m.data.astype(np.float32, copy=False))


def solve_rows(m: sp.csr_matrix, X: np.ndarray, Y: np.ndarray, regularization: float, alpha: float,
               rows: np.ndarray | None = None, cg_steps: int = 3, solver: str = "cg") -> None:
    """One half-step: re-solve rows of X (in place) given Y, for the rows listed (default all)."""
    rows = np.arange(X.shape[0], dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    if len(rows) == 0:
        return
    YtY = gram(Y, regularization)
    blocks = min(ROW_BLOCKS, len(rows))
    indptr, indices, data = _arrays(m)
    if solver == "cg":
        _cg_rows(indptr, indices, data, np.float32(alpha), X, Y, YtY, rows, cg_steps, blocks)
    elif solver == "cholesky":
        _cholesky_rows(indptr, indices, data, np.float32(alpha), X, Y, YtY.astype(np.float64),
                       rows, blocks)
    else:
        raise ValueError(f"solver must be 'cg' or 'cholesky', got {solver!r}")


def als_loss(user_items: sp.csr_matrix, X: np.ndarray, Y: np.ndarray, regularization: float,
             alpha: float) -> float:
    """`implicit`'s training loss: the objective divided by the sum of all confidences."""
    m = sp.csr_matrix(user_items)
    parts = _loss_partials(*_arrays(m), np.float32(alpha), X, Y, gram(Y),
                           min(ROW_BLOCKS, max(1, X.shape[0])))
    loss, total_c, xnorm = parts.sum(axis=0)   # fixed block count and order
    loss += regularization * (xnorm + float((Y.astype(np.float64) ** 2).sum()))
    denom = total_c + X.shape[0] * Y.shape[0] - m.nnz
    return float(loss / denom) if denom > 0 else float("nan")


def init_factors(n: int, factors: int, rng: np.random.Generator) -> np.ndarray:
    """`implicit`'s initialisation: uniform on [0, 0.01)."""
    return rng.random((n, factors), dtype=np.float32) * np.float32(0.01)


def als_iterations(Cui: sp.csr_matrix, Ciu: sp.csr_matrix, X: np.ndarray, Y: np.ndarray,
                   iterations: int, regularization: float, alpha: float, cg_steps: int = 3,
                   solver: str = "cg", callback=None) -> None:
    """Alternate user and item half-steps in place (users first, as `implicit`)."""
    for it in range(iterations):
        solve_rows(Cui, X, Y, regularization, alpha, cg_steps=cg_steps, solver=solver)
        solve_rows(Ciu, Y, X, regularization, alpha, cg_steps=cg_steps, solver=solver)
        if callback is not None:
            callback(it, X, Y)


def grow(F: np.ndarray, n: int) -> np.ndarray:
    """F with zero rows appended up to n rows (a copy)."""
    out = np.zeros((n, F.shape[1]), np.float32)
    out[: min(n, len(F))] = F[:n]
    return out


def fold_in(Cui: sp.csr_matrix, Ciu: sp.csr_matrix, X_old: np.ndarray, Y_old: np.ndarray,
            regularization: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Grow factors to the matrix; new items, then new users, get an exact solve against the
    other side's current factors."""
    X = grow(X_old, Cui.shape[0])
    Y = grow(Y_old, Cui.shape[1])
    new_items = np.arange(len(Y_old), Cui.shape[1], dtype=np.int64)
    solve_rows(Ciu, Y, X, regularization, alpha, rows=new_items, solver="cholesky")
    new_users = np.arange(len(X_old), Cui.shape[0], dtype=np.int64)
    solve_rows(Cui, X, Y, regularization, alpha, rows=new_users, solver="cholesky")
    return X, Y


def fit_als(user_items: sp.spmatrix, factors: int, iterations: int, regularization: float,
            alpha: float, seed: int | np.random.SeedSequence, num_threads: int | None = None, *,
            cg_steps: int = 3, solver: str = "cg", callback=None,
            user_factors: np.ndarray | None = None, item_factors: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Fit implicit ALS; the objective is exactly `implicit`'s.

    Args:
        user_items: (L x T) CSR of already-weighted values: r_ui > 0 plays, r_ui < 0 dislikes.
        factors: latent dimension f.
        iterations: full sweeps (users then items).
        regularization: lambda, unscaled.
        alpha: confidence is ``alpha * |r_ui|`` on stored entries, 1 elsewhere.
        seed: seed of the uniform [0, 0.01) initialisation.
        num_threads: numba threads (None: numba's default); results do not depend on it.
        cg_steps: conjugate-gradient steps per row and half-step.
        solver: "cg" or "cholesky" (exact).
        callback: called as ``callback(iteration, user_factors, item_factors)``.
        user_factors, item_factors: warm start from a previous fit (both or neither). Rows
            beyond them (new users, new items) start from an exact fold-in solve, items first.
    Returns:
        (user_factors (L, f), item_factors (T, f)), float32.
    """
    Cui = _prepare(user_items)
    Ciu = _prepare(Cui.T)
    rng = np.random.default_rng(seed)
    with threads(num_threads):
        if user_factors is None:
            X = init_factors(Cui.shape[0], factors, rng)
            Y = init_factors(Cui.shape[1], factors, rng)
        else:
            X, Y = fold_in(Cui, Ciu, user_factors, item_factors, regularization, alpha)
        als_iterations(Cui, Ciu, X, Y, iterations, regularization, alpha, cg_steps, solver, callback)
    return X, Y


def weight(m: sp.csr_matrix, scheme: str) -> sp.csr_matrix:
    """Play signal to confidence input: ``r`` (linear) or ``sign(r)·log1p(|r|)`` (log); the sign
    (a play or a dislike) is kept."""
    m = _prepare(m)
    if scheme == "log":
        m.data = np.sign(m.data) * np.log1p(np.abs(m.data))
    elif scheme != "linear":
        raise ValueError(f"weighting must be 'linear' or 'log', got {scheme!r}")
    return m


def warm_rows(n: int, changed: np.ndarray | None, new: np.ndarray, epoch: int,
              refresh_epochs: int) -> np.ndarray | None:
    """The rows a warm fit re-solves: all (None) when ``refresh_epochs`` is 0 or nothing says
    which rows changed; otherwise the rows whose interactions changed, the new rows, and the
    rows with ``id % refresh_epochs == epoch % refresh_epochs`` (so every row is re-solved at
    least once every ``refresh_epochs`` epochs), ascending."""
    if refresh_epochs <= 0 or changed is None:
        return None
    refresh = np.arange(epoch % refresh_epochs, n, refresh_epochs)
    rows = np.union1d(np.union1d(np.asarray(changed, np.int64), np.asarray(new, np.int64)), refresh)
    return rows[(rows >= 0) & (rows < n)]


class ALS(FactorModel):
    """The simulator's ALS: confidence ``1 + alpha * w(|r|)``, warm-started every epoch.

    The matrix passed to `fit_als`'s kernels holds ``sign(r)·(w(|r|) + 1/alpha)`` so that
    `implicit`'s confidence ``alpha * |value|`` equals the paper's ``1 + alpha * w(|r|)``: a faint,
    decayed play is never weighted below an unobserved pair. Entries r < 0 (net early skips, when
    ``listeners.behaviour.skip_signal`` < 0) are dislikes: preference 0 with that confidence, as
    `implicit` treats negative values.
    """

    name = "als"

    def fit(self, interactions: sp.csr_matrix, ctx: FitContext) -> FitInfo:
        t0 = time.perf_counter()
        cfg = self.cfg
        m = weight(interactions, cfg.weighting)
        m.data += np.sign(m.data) * np.float32(1.0 / cfg.alpha)
        Ciu = _prepare(m.T)
        L, T = m.shape
        with threads(ctx.n_threads):
            cold = self.cold
            X, Y, new_users = self._grown_factors(m, ctx)
            if len(new_users) and not cold:
                # fold-in: exact solve of each new listener against the current item factors
                solve_rows(m, X, Y, cfg.regularization, cfg.alpha, rows=new_users, solver="cholesky")
            if cold:
                als_iterations(m, Ciu, X, Y, cfg.iterations, cfg.regularization, cfg.alpha,
                               cfg.cg_steps, cfg.solver)
            else:
                users = warm_rows(L, ctx.changed_users, new_users, ctx.epoch, cfg.warm_refresh_epochs)
                items = warm_rows(T, ctx.changed_items, np.arange(self.n_items, T), ctx.epoch,
                                  cfg.warm_refresh_epochs)
                for _ in range(cfg.warm_iterations):
                    solve_rows(m, X, Y, cfg.regularization, cfg.alpha, rows=users, cg_steps=cfg.cg_steps,
                               solver=cfg.solver)
                    solve_rows(Ciu, Y, X, cfg.regularization, cfg.alpha, rows=items, cg_steps=cfg.cg_steps,
                               solver=cfg.solver)
            loss = als_loss(m, X, Y, cfg.regularization, cfg.alpha) if m.nnz else float("nan")
        self._set_factors(X, Y, m, interactions, ctx)
        return FitInfo(time.perf_counter() - t0, loss)


__all__ = ["ALS", "fit_als", "als_loss", "gram", "solve_rows", "weight", "ridge_map"]

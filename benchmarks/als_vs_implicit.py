"""Our numba ALS against `implicit`'s CPU ALS: fit time, ranking quality, top-K time, warm start.

Both libraries get the same matrices (log1p-weighted play counts), the same hyperparameters
(factors 64, 15 iterations, regularization 0.01, alpha 40, 3 CG steps, and an exact solve) and
the same evaluation code; fits alternate in one process, at 1 and 2 threads, and the median of
`--repeats` fits is reported. BLAS is limited to one thread during `implicit`'s fit, as it asks.

    .venv/bin/python benchmarks/als_vs_implicit.py [--quick] [--repeats N] [--tune]

Datasets: the HetRec 2011 Last.fm 2k play counts (shared/data beside the clone, per-user 80/20
split) and a seeded power-law synthetic matrix of 100,000 x 20,000 with 5,000,000 nonzeros.
`--tune` runs the grid used to choose the simulator's defaults (docs/MODEL.md section 4).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from streamsim.recommender import serving
from streamsim.recommender.als import fit_als

LASTFM = Path(__file__).resolve().parents[2] / "shared" / "data" / "hetrec2011-lastfm-2k" / "user_artists.dat"
PARAMS = dict(factors=64, iterations=15, regularization=0.01, alpha=40.0)


# -- data -------------------------------------------------------------------------------------
def load_lastfm(path: Path = LASTFM) -> sp.csr_matrix:
    """Users x artists play counts (float32), ids renumbered densely."""
    raw = np.loadtxt(path, skiprows=1, dtype=np.int64)
    _, u = np.unique(raw[:, 0], return_inverse=True)
    _, i = np.unique(raw[:, 1], return_inverse=True)
    return sp.csr_matrix((raw[:, 2].astype(np.float32), (u, i)), shape=(u.max() + 1, i.max() + 1))


def synthetic(n_users: int, n_items: int, nnz: int, seed: int, groups: int = 50,
              in_group: float = 0.7) -> sp.csr_matrix:
    """A seeded power-law implicit matrix with structure to learn.

    Users and items belong to taste groups; a user's draw is an item of their own group with
    probability `in_group`, otherwise any item; within either, items are drawn by a Zipf-like
    popularity (exponent 0.9). User activity is Pareto (shape 1.5). Values are play counts
    (geometric, mean 3.3); repeated draws are merged, then the matrix is cut to `nnz` entries.
    """
    rng = np.random.default_rng(seed)
    item_group = np.sort(rng.integers(0, groups, n_items))   # items ordered by group
    pop = (rng.permutation(n_items) + 1.0) ** -0.9
    cdf = np.concatenate([[0.0], np.cumsum(pop)])
    g_lo = cdf[np.searchsorted(item_group, np.arange(groups), side="left")]
    g_hi = cdf[np.searchsorted(item_group, np.arange(groups), side="right")]
    user_group = rng.integers(0, groups, n_users)
    act = rng.pareto(1.5, n_users) + 1.0
    keys = np.zeros(0, np.int64)
    draws = int(nnz * 1.3)
    while len(keys) < nnz:
        users = rng.choice(n_users, draws, p=act / act.sum())
        own = rng.random(draws) < in_group
        g = user_group[users]
        lo = np.where(own, g_lo[g], 0.0)
        hi = np.where(own, g_hi[g], cdf[-1])
        items = np.searchsorted(cdf, lo + rng.random(draws) * (hi - lo), side="right") - 1
        keys = np.unique(np.concatenate([keys, users * n_items + np.clip(items, 0, n_items - 1)]))
    key = np.sort(rng.permutation(keys)[:nnz])
    counts = rng.geometric(0.3, nnz).astype(np.float32)
    return sp.csr_matrix((counts, (key // n_items, key % n_items)), shape=(n_users, n_items))


def split(m: sp.csr_matrix, frac: float, seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Per-user holdout: each user with at least 2 items keeps round(frac * n) (>= 1) for test."""
    m = sp.csr_matrix(m)
    rng = np.random.default_rng(seed)
    n = np.diff(m.indptr)
    rows = np.repeat(np.arange(m.shape[0]), n)
    r = rng.random(m.nnz)
    order = np.lexsort((r, rows))          # random order within each row
    rank = np.empty(m.nnz, np.int64)
    rank[order] = np.arange(m.nnz) - np.repeat(m.indptr[:-1], n)
    n_test = np.where(n >= 2, np.maximum(1, np.round(frac * n)), 0).astype(np.int64)
    test = rank < n_test[rows]
    def part(mask):
        return sp.csr_matrix((m.data[mask], (rows[mask], m.indices[mask])), shape=m.shape)
    return part(~test), part(test)


def log_weight(m: sp.csr_matrix) -> sp.csr_matrix:
    out = sp.csr_matrix(m, dtype=np.float32, copy=True)
    out.data = np.log1p(out.data)
    return out


# -- evaluation -------------------------------------------------------------------------------
def ranking_metrics(top: np.ndarray, test: sp.csr_matrix, users: np.ndarray, k: int = 10) -> tuple[float, float]:
    """Mean precision@k and nDCG@k (binary relevance) over `users`, given their top-k rows."""
    hits = np.zeros(top.shape, np.bool_)
    for c in range(k):
        hits[:, c] = np.asarray(test[users, np.maximum(top[:, c], 0)]).ravel() > 0
    hits &= top >= 0
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * disc).sum(axis=1)
    n_rel = np.minimum(np.diff(test.indptr)[users], k)
    idcg = np.cumsum(disc)[np.maximum(n_rel, 1) - 1]
    return float(hits.sum(axis=1).mean() / k), float((dcg / idcg).mean())


def eval_users(test: sp.csr_matrix) -> np.ndarray:
    return np.flatnonzero(np.diff(test.indptr) > 0).astype(np.int32)


def topk_factors(X, Y, train, users, k=10):
    ptr, idx = serving.exclusion_rows(train, users)
    return serving.topk_dot(X[users], Y, k, ptr, idx, np.ones(Y.shape[0], np.bool_))[0]


def evaluate(X, Y, train, test, k=10):
    users = eval_users(test)
    return ranking_metrics(topk_factors(X, Y, train, users, k), test, users, k)


def evaluate_popularity(train, test, k=10):
    users = eval_users(test)
    pop = np.asarray(train.sum(axis=0)).ravel()
    ptr, idx = serving.exclusion_rows(train, users)
    top = serving.topk_shared(pop, np.arange(len(users)), k, ptr, idx, np.ones(len(pop), np.bool_))[0]
    return ranking_metrics(top, test, users, k)


# -- the two libraries ------------------------------------------------------------------------
def fit_ours(w, threads, cg_steps, solver, seed=0, iterations=None):
    t0 = time.perf_counter()
    X, Y = fit_als(w, PARAMS["factors"], iterations or PARAMS["iterations"], PARAMS["regularization"],
                   PARAMS["alpha"], seed, num_threads=threads, cg_steps=cg_steps, solver=solver)
    return time.perf_counter() - t0, X, Y


def implicit_model(threads, cg_steps, solver, seed=0):
    from implicit.cpu.als import AlternatingLeastSquares
    model = AlternatingLeastSquares(factors=PARAMS["factors"], iterations=PARAMS["iterations"],
                                    regularization=PARAMS["regularization"], alpha=PARAMS["alpha"],
                                    use_cg=solver == "cg", calculate_training_loss=False,
                                    random_state=seed, num_threads=threads)
    model.cg_steps = cg_steps
    return model


def fit_theirs(w, threads, cg_steps, solver, seed=0):
    model = implicit_model(threads, cg_steps, solver, seed)
    with threadpool_limits(1, "blas"):
        t0 = time.perf_counter()
        model.fit(w, show_progress=False)
        dt = time.perf_counter() - t0
    return dt, model.user_factors, model.item_factors, model


def compare_fit(name, train_w, test, threads, solver, cg_steps, repeats, show=True):
    ours, theirs = [], []
    for _ in range(repeats):                     # alternate, so load changes hit both alike
        t, X, Y = fit_ours(train_w, threads, cg_steps, solver)
        ours.append(t)
        t, Xi, Yi, model = fit_theirs(train_w, threads, cg_steps, solver)
        theirs.append(t)
    po, no = evaluate(X, Y, train_w, test)
    pi, ni = evaluate(Xi, Yi, train_w, test)
    a, b = statistics.median(ours), statistics.median(theirs)
    label = f"cg{cg_steps}" if solver == "cg" else "exact"
    if show:
        print(f"| {name} | {threads} | {label} | {a:.3f} | {b:.3f} | {a / b:.2f} | {po:.4f} | {pi:.4f} "
          f"| {no:.4f} | {ni:.4f} | {no / ni:.3f} |", flush=True)
    return X, Y, model


def compare_recommend(name, X, Y, model, train_w, threads, repeats):
    users = np.arange(train_w.shape[0], dtype=np.int32)
    ours, theirs = [], []
    for _ in range(repeats):
        with threadpool_limits(threads, "blas"):
            from streamsim.recommender.als import threads as numba_threads
            with numba_threads(threads):
                t0 = time.perf_counter()
                topk_factors(X, Y, train_w, users)
                ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            model.recommend(users, train_w, N=10, filter_already_liked_items=True)
            theirs.append(time.perf_counter() - t0)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"| {name} | {threads} | {a:.3f} | {b:.3f} | {a / b:.2f} |", flush=True)


def warm_start(name, m_counts, threads, repeats, seed=1):
    """A further epoch arrives: ~5 % more entries, 2 % of them on new items. Warm 2-3
    iterations from the previous factors against a cold 15-iteration refit."""
    rng = np.random.default_rng(seed)
    train, test = split(m_counts, 0.2, seed=7)
    T = train.shape[1]
    new_items = rng.permutation(T)[: int(0.02 * T)]
    is_new = np.zeros(T, np.bool_)
    is_new[new_items] = True
    coo = train.tocoo()
    # the previous epoch saw none of the new items and 95 % of the other entries
    old_mask = ~is_new[coo.col] & (rng.random(coo.nnz) >= 0.05 - is_new[coo.col].mean())
    keep_cols = np.flatnonzero(~is_new)
    remap = np.full(T, -1)
    remap[keep_cols] = np.arange(len(keep_cols))
    order = np.concatenate([keep_cols, new_items])       # new items get the last ids
    inv = np.empty(T, np.int64)
    inv[order] = np.arange(T)
    prev = sp.csr_matrix((coo.data[old_mask], (coo.row[old_mask], inv[coo.col[old_mask]])),
                         shape=(train.shape[0], len(keep_cols)))
    full = sp.csr_matrix((coo.data, (coo.row, inv[coo.col])), shape=train.shape)
    test = sp.csr_matrix(test[:, order])
    grown = full.nnz / prev.nnz - 1
    prev_w, full_w = log_weight(prev), log_weight(full)
    _, X0, Y0 = fit_ours(prev_w, threads, 3, "cg")
    cold_times = []
    for _ in range(repeats):
        t_cold, Xc, Yc = fit_ours(full_w, threads, 3, "cg", seed=2)
        cold_times.append(t_cold)
    t_cold = statistics.median(cold_times)
    _, nc = evaluate(Xc, Yc, full_w, test)
    print(f"| {name} | {threads} | cold 15 | {t_cold:.3f} | 1.00 | {nc:.4f} | 1.000 | +{grown:.1%} entries, "
          f"+{len(new_items) / len(keep_cols):.1%} items |", flush=True)
    for its in (2, 3):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            Xw, Yw = fit_als(full_w, PARAMS["factors"], its, PARAMS["regularization"], PARAMS["alpha"], 0,
                             num_threads=threads, user_factors=X0, item_factors=Y0)
            times.append(time.perf_counter() - t0)
        tw = statistics.median(times)
        _, nw = evaluate(Xw, Yw, full_w, test)
        print(f"| {name} | {threads} | warm {its} | {tw:.3f} | {tw / t_cold:.2f} | {nw:.4f} | {nw / nc:.3f} | |",
              flush=True)


def candidates(X, Y, train, n_clusters=256, probes=(8, 16, 32), n_users=5000, seed=0):
    """Recall@10 of cluster candidate generation against exact scoring, and its time."""
    users = np.random.default_rng(seed).choice(X.shape[0], min(n_users, X.shape[0]), replace=False)
    users = np.sort(users).astype(np.int32)
    ptr, idx = serving.exclusion_rows(train, users)
    mask = np.ones(Y.shape[0], np.bool_)
    t0 = time.perf_counter()
    exact = serving.topk_dot(X[users], Y, 10, ptr, idx, mask)[0]
    t_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = serving.ClusterIndex(Y, n_clusters, seed)
    t_build = time.perf_counter() - t0
    for p in probes:
        t0 = time.perf_counter()
        approx = index.topk(X[users], 10, p, ptr, idx, mask)[0]
        t = time.perf_counter() - t0
        print(f"| {n_clusters} | {p} | {recall(approx, exact):.3f} | {t:.3f} | {t_exact:.3f} | {t_build:.3f} |",
              flush=True)


def recall(approx: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact top-k found by the approximate top-k."""
    found = sum(len(np.intersect1d(a[a >= 0], e[e >= 0])) for a, e in zip(approx, exact))
    return found / max(1, int((exact >= 0).sum()))


# -- tuning the simulator's defaults ------------------------------------------------------------
def tune(m_counts):
    """Grid on a validation split of the Last.fm training part; confidence 1 + alpha*w(r) as in
    the simulator's ALS (`recommender.als.ALS`). A coarse grid, then a finer one around its best
    (log weighting); the best setting is then scored once on the test split."""
    train, test = split(m_counts, 0.2, seed=7)
    fit_part, valid = split(train, 0.2, seed=11)
    results = {}

    def run(weighting, alpha, factors, reg):
        key = (weighting, alpha, factors, reg)
        if key not in results:
            X, Y = fit_als(sim_weight(fit_part, weighting, alpha), factors, 15, reg, alpha, 0, cg_steps=3)
            results[key] = evaluate(X, Y, fit_part, valid)
            p, n = results[key]
            print(f"| {weighting} | {alpha:g} | {factors} | {reg:g} | {p:.4f} | {n:.4f} |", flush=True)

    print("| weighting | alpha | factors | reg | P@10 | nDCG@10 |\n|---|---|---|---|---|---|")
    for weighting, alphas in (("log", (1.0, 5.0, 10.0, 40.0)), ("linear", (0.01, 0.1, 1.0, 40.0))):
        for alpha in alphas:
            for factors in (32, 64, 128):
                for reg in (0.01, 1.0, 10.0, 100.0):
                    run(weighting, alpha, factors, reg)
    best = max(results, key=lambda key: results[key][1])
    weighting, alpha, _, reg = best
    for a in (alpha / 2, alpha, 2 * alpha):
        for factors in (64, 128):
            for r in (reg / 3, reg, 3 * reg, 10 * reg):
                run(weighting, a, factors, r)
    best = max(results, key=lambda key: results[key][1])
    weighting, alpha, factors, reg = best
    X, Y = fit_als(sim_weight(train, weighting, alpha), factors, 15, reg, alpha, 0, cg_steps=3)
    p, n = evaluate(X, Y, train, test)
    pp, pn = evaluate_popularity(train, test)
    print(f"best on validation: weighting={weighting} alpha={alpha:g} factors={factors} reg={reg:g}; "
          f"test P@10 {p:.4f} nDCG@10 {n:.4f} (popularity {pp:.4f} / {pn:.4f})")


def sim_check():
    """ALS settings inside the simulator: mean of epochs 2-7 of its own recommender metrics."""
    import tempfile
    import pandas as pd
    from streamsim.core.config import Scenario
    from streamsim.studies.runner import run
    base = Scenario().replace(**{"listeners.count": 5000, "artists.count": 500, "run.epochs": 8})
    out = tempfile.mkdtemp()
    cols = ["rec_precision_at_k", "rec_ndcg_at_k", "rec_regret_vs_oracle", "rec_fit_seconds"]
    print("| alpha | lambda | precision@10 | nDCG@10 | regret vs oracle | fit s |\n|---|---|---|---|---|---|")
    grid = [(5.0, 100.0), (5.0, 10.0), (5.0, 1.0), (5.0, 0.01), (40.0, 1.0), (40.0, 0.01), (1.0, 1.0), (None, None)]
    for i, (a, lam) in enumerate(grid):
        over = {"recommender.kind": "popularity"} if a is None else {
            "recommender.alpha": a, "recommender.regularization": lam}
        path = run(base.replace(**over, **{"run.name": f"als{i}"}), out_root=out)
        row = pd.read_parquet(f"{path}/metrics.parquet")[cols].iloc[2:].mean()
        label = "popularity | " if a is None else f"{a:g} | {lam:g}"
        print(f"| {label} | " + " | ".join(f"{row[c]:.4f}" for c in cols) + " |", flush=True)


def sim_weight(m, weighting, alpha):
    out = sp.csr_matrix(m, dtype=np.float32, copy=True)
    if weighting == "log":
        out.data = np.log1p(out.data)
    out.data += np.float32(1.0 / alpha)
    return out


# -- main ---------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small synthetic matrix, 1 repeat")
    ap.add_argument("--repeats", type=int, default=3, help="fits per library and setting (median)")
    ap.add_argument("--tune", action="store_true", help="only the Last.fm grid for the defaults")
    ap.add_argument("--sim", action="store_true", help="only the check of ALS settings in the simulator")
    args = ap.parse_args()
    if args.sim:
        sim_check()
        return
    warnings.filterwarnings("ignore", message=".*OpenBLAS.*")   # implicit's advice; we limit BLAS
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="implicit")
    lastfm = load_lastfm()
    if args.tune:
        tune(lastfm)
        return
    repeats = 1 if args.quick else args.repeats
    shape = (20_000, 5_000, 500_000) if args.quick else (100_000, 20_000, 5_000_000)
    data = {"lastfm-2k": lastfm, f"synthetic {shape[0]}x{shape[1]}": synthetic(*shape, seed=42)}
    splits = {}
    for name, m in data.items():
        train, test = split(m, 0.2, seed=7)
        splits[name] = (log_weight(train), test)
        pp, pn = evaluate_popularity(train, test)
        print(f"{name}: {m.shape[0]} x {m.shape[1]}, {m.nnz} nonzeros; popularity P@10 {pp:.4f} nDCG@10 {pn:.4f}")
    print(f"\nFit (median of {repeats}; factors 64, 15 iterations, reg 0.01, alpha 40, log1p weights)")
    print("| data | threads | solver | ours s | implicit s | ratio | P@10 ours | P@10 impl | nDCG ours "
          "| nDCG impl | nDCG ratio |\n|---|---|---|---|---|---|---|---|---|---|---|")
    fitted = {}
    for name, (train_w, test) in splits.items():
        compare_fit(name, train_w, test, 1, "cg", 3, 1, show=False)    # warm-up: caches, page-in
        for threads in (1, 2):
            fitted[name, threads] = compare_fit(name, train_w, test, threads, "cg", 3, repeats)
        if train_w.nnz < 1_000_000:      # an exact solve costs O(nnz f^2 + rows f^3) per sweep
            compare_fit(name, train_w, test, 2, "cholesky", 3, 1)
    print("\nTop-10 for all users, already-played items excluded (median)")
    print("| data | threads | ours s | implicit s | ratio |\n|---|---|---|---|---|")
    for (name, threads), (X, Y, model) in fitted.items():
        compare_recommend(name, X, Y, model, splits[name][0], threads, repeats)
    print("\nWarm start (ours, CG 3 steps)")
    print("| data | threads | fit | s | time / cold | nDCG@10 | / cold | epoch added |\n|---|---|---|---|---|---|---|---|")
    for name, m in data.items():
        for threads in (1, 2):
            warm_start(name, m, threads, repeats)
    print("\nCluster candidates vs exact top-10 (recall@10, 5,000 users)")
    print("| clusters | probed | recall@10 | candidates s | exact s | build s |\n|---|---|---|---|---|---|")
    name = list(data)[1]
    X, Y, _ = fitted[name, 2]
    candidates(X, Y, splits[name][0])


if __name__ == "__main__":
    main()

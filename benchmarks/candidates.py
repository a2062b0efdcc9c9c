"""Cluster candidates against exact top-K: recall and time by catalog size (docs/MODEL.md section 4).

    .venv/bin/python benchmarks/candidates.py [--queries 2000] [--sizes 20000,50000,100000,200000,1000000]

Item and user factors come from one ALS fit (the simulator's defaults, 64 factors) on a seeded
power-law matrix of 50,000 users x 200,000 items (benchmarks/als_vs_implicit.synthetic); a
catalog of T items is the first T of them (T above 200,000: the 200,000 repeated with small
noise, for time only). Per size: slates (top 50 by inner product, the personalised channel)
and radio (top 20 by cosine, the query item excluded) for `--queries` queries, exact (one
BLAS product per block, as served) and by clusters (n_clusters = 256 and 1024, n_probe = 16),
with recall against exact and the seconds per 1,000 queries; BLAS on one thread, as in a run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from als_vs_implicit import synthetic  # noqa: E402

from streamsim.core.config import RecommenderConfig  # noqa: E402
from streamsim.recommender import serving  # noqa: E402
from streamsim.recommender.als import fit_als, weight  # noqa: E402


def recall(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(np.intersect1d(a[a >= 0], e[e >= 0])) / max((e >= 0).sum(), 1)
                          for a, e in zip(approx, exact)]))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--sizes", default="20000,50000,100000,200000,1000000")
    args = parser.parse_args()
    cfg = RecommenderConfig()
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=1, user_api="blas"):
        m = weight(synthetic(50_000, 200_000, 2_500_000, seed=3), cfg.weighting)
        m.data += np.float32(1 / cfg.alpha)
        X, Y = fit_als(m, cfg.factors, cfg.iterations, cfg.regularization, cfg.alpha, seed=0)
        q_users = X[rng.choice(len(X), args.queries, replace=False)]
        print(f"factors from ALS on {m.shape[0]:,} x {m.shape[1]:,} ({m.nnz:,} entries); "
              f"{args.queries} queries; BLAS 1 thread")
        print(f"{'items':>9} {'task':<7} {'clusters':>8} {'probe':>5} {'recall':>7} {'s/1k q':>8} "
              f"{'exact s/1k':>10} {'speed-up':>8} {'build s':>8}")
        for T in (int(s) for s in args.sizes.split(",")):
            if T <= len(Y):
                items = Y[:T]
            else:
                reps = -(-T // len(Y))
                items = (np.tile(Y, (reps, 1))[:T]
                         + 0.05 * rng.standard_normal((T, Y.shape[1])).astype(np.float32) * Y.std())
            items = np.ascontiguousarray(items, np.float32)
            unit = serving.normalize_rows(items)
            mask = np.ones(T, np.bool_)
            ptr = np.zeros(args.queries + 1, np.int64)
            none = np.zeros(0, np.int32)
            seeds = rng.choice(T, args.queries, replace=False).astype(np.int32)
            exact_s, t_es = timed(lambda: serving.topk_dot(q_users, items, 50, ptr, none, mask)[0])
            exact_r, t_er = timed(lambda: serving.topk_dot(unit[seeds], unit, 20, ptr, none, mask,
                                                           self_items=seeds)[0])
            for n_clusters in (256, 1024):
                if n_clusters * 20 > T:
                    continue
                index, t_b = timed(lambda: serving.ClusterIndex(items, n_clusters, 1))
                approx, t_a = timed(lambda: index.topk(q_users, 50, 16, ptr, none, mask))
                print(f"{T:>9,} {'slates':<7} {n_clusters:>8} {16:>5} {recall(approx[0], exact_s):7.3f} "
                      f"{1000 * t_a / args.queries:8.3f} {1000 * t_es / args.queries:10.3f} "
                      f"{t_es / t_a:8.1f} {t_b:8.1f}")
                index_u, t_b = timed(lambda: serving.ClusterIndex(unit, n_clusters, 1))
                approx, t_a = timed(lambda: index_u.topk(unit[seeds], 20, 16, ptr, none, mask, self_items=seeds))
                print(f"{T:>9,} {'radio':<7} {n_clusters:>8} {16:>5} {recall(approx[0], exact_r):7.3f} "
                      f"{1000 * t_a / args.queries:8.3f} {1000 * t_er / args.queries:10.3f} "
                      f"{t_er / t_a:8.1f} {t_b:8.1f}")


if __name__ == "__main__":
    main()

"""Same inputs, same bits: in one process, across processes, at 1 and 2 threads, and whether numba
compiles a kernel afresh or loads it from its on-disk cache.

Two faults hid here. The CG solver summed in an order that depended on where each thread's
scratch arrays landed on the heap (LLVM's run-time overlap check picked a vector or a scalar
loop), and kernels built with the "nsz"/"arcp" fast-math flags computed differently when freshly
compiled than when loaded from numba's cache. The first shows only at 2 threads with small
factor counts; the second only in a process that compiles. Hence f = 8, 16 and 64, both thread
counts and a process with an empty cache directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from streamsim.recommender.als import _prepare, solve_rows
from streamsim.core import config
from streamsim.studies import runner

ROOT = Path(__file__).resolve().parents[1]

KERNELS = textwrap.dedent("""
    import hashlib, numpy as np, scipy.sparse as sp
    from streamsim.recommender import make
    from streamsim.recommender.als import _prepare, fit_als, solve_rows
    from streamsim.recommender.base import FitContext
    from streamsim.core.config import Scenario
    from streamsim.agents.catalog import Catalog

    h = hashlib.sha256()
    rng = np.random.default_rng(0)
    L, T = 700, 400
    m = sp.random(L, T, density=0.05, format="csr", random_state=rng, dtype=np.float32)
    mm = _prepare(m)
    for f in (8, 16, 64):
        X0 = np.random.default_rng(f).random((L, f), dtype=np.float32) * 0.01
        Y = np.random.default_rng(f + 1).random((T, f), dtype=np.float32) * 0.01
        for solver in ("cg", "cholesky"):
            seen = set()
            for _ in range(4):                       # repeated in one process
                X = X0.copy()
                solve_rows(mm, X, Y, 0.1, 40.0, solver=solver)
                seen.add(X.tobytes())
            assert len(seen) == 1, (f, solver)
            h.update(seen.pop())
        for a in fit_als(m, f, 3, 0.1, 40.0, seed=1):
            h.update(a.tobytes())
    cat = Catalog(4, 6, 1)
    cat.append(artist=np.zeros(T, np.int32), genre=np.zeros(T, np.int16),
               style=rng.standard_normal((T, 4)).astype(np.float32),
               quality=rng.standard_normal(T).astype(np.float32), length_s=np.ones(T, np.float32),
               intro_s=np.ones(T, np.float32), release_epoch=np.zeros(T, np.int32),
               audio=rng.standard_normal((T, 6)).astype(np.float32), tags=np.zeros((T, 1), np.int16),
               explicit=np.zeros(T, bool), regions=np.ones(T, np.uint32), fraud=np.zeros(T, bool))
    ctx = FitContext(0, cat, rng.standard_normal((L, 4)).astype(np.float32), 2.0, 0.5)
    for kind, share, cand in (("als", 0.0, "exact"), ("als", 0.0, "clusters"), ("bpr", 0.0, "exact"),
                              ("als", 0.2, "exact"), ("popularity", 0.0, "exact"), ("random", 0.0, "exact")):
        rec = make(Scenario().replace(**{"recommender.kind": kind, "recommender.factors": 16,
                                         "recommender.exploration.share": share,
                                         "recommender.candidates": cand, "recommender.n_clusters": 16,
                                         "recommender.n_probe": 4, "recommender.bpr_epochs": 3}), 4)
        rec.fit(m[:600, :350], ctx)
        rec.fit(m, ctx)
        for a in rec.recommend(np.arange(L, dtype=np.int32), 10, exclude=m) + rec.similar_items(np.arange(T), 5):
            h.update(np.asarray(a).tobytes())
    print(h.hexdigest())
""")


def _digest(threads: int, cache_dir: Path | None = None) -> str:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    out = subprocess.run([sys.executable, "-c", KERNELS], env=env, capture_output=True, text=True,
                         timeout=900, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_solvers_repeat_bit_for_bit_in_one_process():
    rng = np.random.default_rng(5)
    m = _prepare(sp.random(500, 300, density=0.05, format="csr", random_state=rng, dtype=np.float32))
    for f in (8, 16, 64):
        X0 = rng.random((500, f), dtype=np.float32) * 0.01
        Y = rng.random((300, f), dtype=np.float32) * 0.01
        for solver in ("cg", "cholesky"):
            results = []
            for _ in range(5):
                X = X0.copy()
                solve_rows(m, X, Y, 0.1, 40.0, solver=solver)
                results.append(X)
            for X in results[1:]:
                np.testing.assert_array_equal(X, results[0], err_msg=f"{solver}, f={f}")


def test_kernels_agree_across_threads_processes_and_fresh_compiles(tmp_path):
    """ALS (CG and Cholesky), BPR, exploration, cluster serving and the sampled (popularity,
    random) slates hash the same at 1 and 2 threads, in separate processes, and in a process that compiles every kernel afresh."""
    warm = _digest(1)
    assert _digest(2) == warm
    assert _digest(2, cache_dir=tmp_path / "fresh-numba-cache") == warm


SMALL = ["listeners.count=1500", "artists.count=150", "run.epochs=4", "run.burn_in_epochs=0", "run.name=det", "run.seed=3",
         "metrics.eval_listeners=200"]
ARMS = {"als_explore": ["recommender.exploration.share=0.2"], "bpr": ["recommender.kind=bpr"],
        "als_rows_clusters_prune": ["recommender.warm_refresh_epochs=2", "recommender.prune_below=0.2",
                                    "recommender.candidates=clusters", "recommender.n_clusters=32"]}
TIMING = ["rec_fit_seconds"]


def _frames(run_dir: Path) -> dict[str, pd.DataFrame]:
    metrics = pd.read_parquet(run_dir / "metrics.parquet").drop(columns=TIMING)
    return {"metrics": metrics, "artists": pd.read_parquet(run_dir / "artists.parquet")}


def _cli(tmp_path: Path, arm: str, threads: int, cache_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    out = tmp_path / f"{arm}-{threads}-{cache_dir is not None}"
    args = [sys.executable, "-m", "streamsim", "run", str(ROOT / "scenarios" / "baseline.toml"), "--quiet",
            "--out", str(out)] + [a for s in SMALL + ARMS[arm] for a in ("--set", s)]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (out / "det").iterdir()
    return _frames(run_dir)


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)


@pytest.mark.parametrize("arm", sorted(ARMS))
def test_short_simulations_are_bit_identical(tmp_path, arm):
    """The same seeded run twice in one process and through the CLI at 1 and 2 threads."""
    scenario = config.load(ROOT / "scenarios" / "baseline.toml", SMALL + ARMS[arm])
    first = _frames(runner.run(scenario, out_root=tmp_path / "a"))
    _assert_same(first, _frames(runner.run(scenario, out_root=tmp_path / "b")))
    _assert_same(first, _cli(tmp_path, arm, 1))
    _assert_same(first, _cli(tmp_path, arm, 2))


@pytest.mark.slow
def test_a_simulation_compiled_afresh_matches_the_cached_one(tmp_path):
    scenario = config.load(ROOT / "scenarios" / "baseline.toml", SMALL + ARMS["als_explore"])
    cached = _frames(runner.run(scenario, out_root=tmp_path / "a"))
    _assert_same(cached, _cli(tmp_path, "als_explore", 2, cache_dir=tmp_path / "fresh-numba-cache"))

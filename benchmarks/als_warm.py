"""Warm ALS on the rows that changed, and pruning of the decayed matrix: quality and time.

Two evolving matrices, each refitted every epoch by the simulator's ALS (its defaults):

- Last.fm (HetRec 2011, per-user 80/20 split): the training plays are revealed over the epochs,
  each epoch to a random 60 % of users (a few of their remaining artists, or replays), and the
  matrix decays by ``recommender.decay`` per epoch. Quality is measured on the held-out 20 %.
- the simulator's own matrix: a baseline run records its decayed matrix and the rows it touched
  every epoch; each fit is scored on the next epoch's streams (held out, as C10 does, replays
  included, nothing excluded).

Arms: a full warm sweep of every row (``warm_refresh_epochs = 0``, the reference), the changed
rows plus a refresh every n epochs, and pruning floors. Reported per arm: precision@10 and
nDCG@10 (held-out items, training items excluded), the expected percentile rank of held-out
items (C10; 0 % is the top, 50 % random), seconds of fitting (noisy on a shared machine), the share of rows re-solved over all
fits (cold ones included: the work, free of load noise) and the matrix's stored entries.

    .venv/bin/python benchmarks/als_warm.py [--lastfm PATH] [--epochs 12] [--sim-epochs 12]
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from streamsim.core import config
from streamsim.recommender import als as als_module
from streamsim.recommender.als import ALS
from streamsim.recommender.base import FitContext

ROOT = Path(__file__).resolve().parents[1]
LASTFM = ROOT.parents[1] / "shared" / "data" / "hetrec2011-lastfm-2k" / "user_artists.dat"
SOLVED = {"rows": 0, "of": 0}
_solve_rows = als_module.solve_rows


def counting_solve_rows(m, X, *args, rows=None, **kwargs):
    """solve_rows, counting the rows it re-solves (the work of a warm fit, free of load noise)."""
    SOLVED["rows"] += X.shape[0] if rows is None else len(rows)
    SOLVED["of"] += X.shape[0]
    return _solve_rows(m, X, *args, rows=rows, **kwargs)


als_module.solve_rows = counting_solve_rows
ARMS = {"full sweep (reference)": dict(refresh=0, prune=0.0),
        "changed + refresh 4": dict(refresh=4, prune=0.0),
        "changed + refresh 8": dict(refresh=8, prune=0.0),
        "full sweep, prune 0.1": dict(refresh=0, prune=0.1),
        "full sweep, prune 0.25": dict(refresh=0, prune=0.25),
        "changed + refresh 4, prune 0.1": dict(refresh=4, prune=0.1)}


def quality(rec: ALS, train: sp.csr_matrix | None, test: sp.csr_matrix, k: int = 10) -> dict[str, float]:
    """precision@k, nDCG@k and expected percentile rank of the test items (train excluded, if given)."""
    users = np.flatnonzero(np.diff(test.indptr) > 0).astype(np.int32)
    users = users[users < rec.n_users]
    T = rec.n_items
    items, _ = rec.recommend(users, T, exclude=train)
    ranks, hits_p, ndcg = [], [], []
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    for r, u in enumerate(users):
        rel = test.indices[test.indptr[u]:test.indptr[u + 1]]
        rel = rel[rel < T]
        if len(rel) == 0:
            continue
        row = items[r]
        pos = np.full(T, len(row), np.int64)
        ok = row >= 0
        pos[row[ok]] = np.flatnonzero(ok)
        n_ranked = max(int(ok.sum()) - 1, 1)
        ranks.append(np.minimum(pos[rel], n_ranked).mean() / n_ranked)
        hit = np.isin(row[:k], rel)
        hits_p.append(hit.mean())
        ndcg.append((hit * disc).sum() / disc[: min(len(rel), k)].sum())
    return {"precision@10": float(np.mean(hits_p)), "ndcg@10": float(np.mean(ndcg)),
            "pct_rank": float(np.mean(ranks))}


def arm_recommender(scenario, arm: dict) -> ALS:
    sc = scenario.replace(**{"recommender.warm_refresh_epochs": arm["refresh"],
                             "recommender.candidates": "exact"})
    return ALS(sc.recommender, np.random.SeedSequence(7))


def prune(m: sp.csr_matrix, floor: float) -> sp.csr_matrix:
    if floor <= 0:
        return m
    m = m.copy()
    m.data[m.data < floor] = 0
    m.eliminate_zeros()
    return m


# -- Last.fm, revealed over epochs -------------------------------------------------------------
def lastfm_epochs(path: Path, epochs: int, seed: int = 0):
    """Yield (R_t, touched users, touched items, train-so-far, test) per epoch."""
    raw = np.loadtxt(path, skiprows=1, dtype=np.int64)
    _, u = np.unique(raw[:, 0], return_inverse=True)
    _, i = np.unique(raw[:, 1], return_inverse=True)
    counts = raw[:, 2].astype(np.float64)
    rng = np.random.default_rng(seed)
    L, T = u.max() + 1, i.max() + 1
    test_mask = rng.random(len(u)) < 0.2
    test = sp.csr_matrix((np.ones(test_mask.sum(), np.float32), (u[test_mask], i[test_mask])), shape=(L, T))
    tu, ti = u[~test_mask], i[~test_mask]
    # plays of a (user, artist) pair per epoch, in "complete plays": log-scaled count, spread over epochs
    plays = np.log1p(counts[~test_mask]).astype(np.float32)
    reveal = rng.integers(0, epochs, len(tu))          # the epoch a pair is first heard
    return L, T, tu, ti, plays, reveal, test


def run_lastfm(scenario, path: Path, epochs: int) -> dict[str, dict[str, float]]:
    L, T, tu, ti, plays, reveal, test = lastfm_epochs(path, epochs)
    decay = scenario.recommender.decay
    rng = np.random.default_rng(1)
    deltas = []
    for t in range(epochs):
        active = rng.random(L) < 0.6
        heard = (reveal <= t) & active[tu]
        fresh = reveal == t
        val = np.where(fresh, plays, plays * rng.random(len(tu)).astype(np.float32) * 0.5)
        deltas.append(sp.csr_matrix((val[heard | fresh], (tu[heard | fresh], ti[heard | fresh])), shape=(L, T)))
    out = {}
    for name, arm in ARMS.items():
        rec = arm_recommender(scenario, arm)
        SOLVED.update(rows=0, of=0)
        R = sp.csr_matrix((L, T), dtype=np.float32)
        seconds = 0.0
        changed = (None, None)
        for t in range(epochs):
            ctx = FitContext(t, None, np.zeros((L, 1), np.float32), 1.0, 1.0, None, *changed)
            t0 = time.perf_counter()
            rec.fit(R, ctx)
            seconds += time.perf_counter() - t0
            d = deltas[t]
            R = prune((R * np.float32(decay) + d).tocsr().astype(np.float32), arm["prune"])
            changed = (np.unique(d.nonzero()[0]), np.unique(d.nonzero()[1]))
        train = sp.csr_matrix((np.ones(len(tu), np.float32), (tu, ti)), shape=(L, T))
        out[name] = {**quality(rec, train, test), "fit_s": seconds, "nnz": R.nnz,
                     "rows": SOLVED["rows"] / max(SOLVED["of"], 1)}
    return out


# -- the simulator's own matrix -------------------------------------------------------------------
def record_simulation(scenario, epochs: int):
    """Per epoch: the matrix fitted on, the touched rows given to the fit, and the epoch's streams."""
    from streamsim.sim.model import StreamingModel

    model = StreamingModel(scenario.replace(**{"run.epochs": epochs}))
    frames = []
    for _ in range(epochs):
        n_l, n_t = model.listeners.n, len(model.catalog)
        model.step()
        led = model.ledger
        table = led.streams_table()
        frames.append(dict(n=(n_l, n_t), R=led.interactions().copy(), users=led.touched_listeners,
                           items=led.touched_tracks, streams=(table.listener.copy(), table.track.copy())))
    return frames, model.catalog


def run_simulated(scenario, frames, catalog) -> dict[str, dict[str, float]]:
    out = {}
    for name, arm in ARMS.items():
        rec = arm_recommender(scenario, arm)
        SOLVED.update(rows=0, of=0)
        seconds, scores = 0.0, []
        for t in range(len(frames) - 1):
            f = frames[t]
            R = prune(f["R"], arm["prune"])
            nxt = frames[t + 1]
            ctx = FitContext(t + 1, catalog, np.zeros((R.shape[0], 1), np.float32), 1.0, 1.0, None,
                             f["users"], f["items"])
            t0 = time.perf_counter()
            rec.fit(R, ctx)
            seconds += time.perf_counter() - t0
            if t >= 3:                                   # burn-in: the first fits are cold
                lis, trk = nxt["streams"]
                keep = trk < R.shape[1]
                test = sp.csr_matrix((np.ones(keep.sum(), np.float32), (lis[keep], trk[keep])),
                                     shape=(max(R.shape[0], lis.max(initial=0) + 1), R.shape[1]))
                test = test[: R.shape[0]]
                users = np.flatnonzero(np.diff(test.indptr) > 0)
                pick = np.random.default_rng(t).choice(users, min(500, len(users)), replace=False)
                sel = sp.diags(np.isin(np.arange(test.shape[0]), pick).astype(np.float32))
                sub = (sel @ test).tocsr()
                scores.append(quality(rec, None, sub))     # C10: every stream, replays included
        out[name] = {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}
        out[name].update(fit_s=seconds, nnz=prune(frames[-1]["R"], arm["prune"]).nnz,
                         rows=SOLVED["rows"] / max(SOLVED["of"], 1))
    return out


def show(title: str, res: dict[str, dict[str, float]]) -> None:
    ref = res["full sweep (reference)"]
    print(f"\n{title}")
    print(f"{'arm':<34} {'prec@10':>8} {'nDCG@10':>8} {'pct rank':>9} {'fit s':>7} {'x ref':>6} {'rows':>6} {'nnz':>11}")
    for name, r in res.items():
        print(f"{name:<34} {r['precision@10']:8.4f} {r['ndcg@10']:8.4f} {100 * r['pct_rank']:8.2f}% "
              f"{r['fit_s']:7.1f} {r['fit_s'] / ref['fit_s']:6.2f} {100 * r['rows']:5.0f}% {r['nnz']:11,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lastfm", type=Path, default=LASTFM)
    parser.add_argument("--epochs", type=int, default=12, help="Last.fm epochs")
    parser.add_argument("--sim-epochs", type=int, default=12, help="simulated epochs (0 = skip)")
    parser.add_argument("--set", action="append", default=[], dest="sets", help="section.key=value")
    parser.add_argument("--frames", type=Path, default=None,
                        help="cache of the recorded simulation (pickle): read if present, else written")
    args = parser.parse_args()
    scenario = config.load(ROOT / "scenarios" / "baseline.toml", args.sets)
    with threadpool_limits(limits=1, user_api="blas"):
        if args.lastfm.exists():
            show(f"Last.fm, {args.epochs} epochs", run_lastfm(scenario, args.lastfm, args.epochs))
        else:
            print(f"Last.fm not found at {args.lastfm}: skipped")
        if args.sim_epochs > 1:
            if args.frames is not None and args.frames.exists():
                frames, catalog = pickle.loads(args.frames.read_bytes())
            else:
                frames, catalog = record_simulation(scenario, args.sim_epochs)
                if args.frames is not None:
                    args.frames.write_bytes(pickle.dumps((frames, catalog)))
            show(f"simulated baseline matrix, {args.sim_epochs} epochs (scored from epoch 4 on the next "
                 "epoch's streams)", run_simulated(scenario, frames, catalog))


if __name__ == "__main__":
    main()

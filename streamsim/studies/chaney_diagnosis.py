"""Why the replication's ALS arm is no closer to the ideal than random: a confounding check.

Runs the ideal (oracle), random and ALS arms of ``scenarios/chaney_replication.toml`` to an
epoch on common random numbers, then fits models offline on each arm's interaction matrix and
scores each user's top unconsumed item by true utility, as a share of the best unconsumed
item's utility. Models: the scenario's ALS as served (``recommender.make``), the bare ALS
kernel (``fit_als`` on binary data) and, when installed, ``implicit``'s ALS with the same
objective, plus popularity. The same fit on different data separates the three candidate
causes: an ALS defect (ours against ``implicit``), too little signal (every model on the
unconfounded arms' data) and the feedback loop (the ALS arm's own data against the others')::

    python -m streamsim.studies.chaney_diagnosis --seeds 5 --epoch 50
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from streamsim import recommender
from streamsim.core import config
from streamsim.measures.metrics import t_quantile
from streamsim.recommender.als import fit_als
from streamsim.recommender.base import FitContext
from streamsim.studies.sweep import seeds as spawn_seeds

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "chaney_replication.toml"
ARMS = ("oracle", "random", "als")


def top1_share(scores: np.ndarray, utility: np.ndarray, consumed: np.ndarray) -> float:
    """Mean over users of the true utility of their top-scored unconsumed item / the best's."""
    s = np.where(consumed, -np.inf, scores)
    u = np.where(consumed, -np.inf, utility)
    pick = utility[np.arange(len(utility)), np.argmax(s, axis=1)]
    return float(np.mean(pick / u.max(axis=1)))


def model_scores(model, sc: config.Scenario, interactions: sp.csr_matrix) -> dict[str, np.ndarray]:
    """Scores of every (user, item) under each offline model fitted on ``interactions``."""
    rec = sc.recommender
    binary = (interactions > 0).astype(np.float32)
    out = {"popularity": np.broadcast_to(np.asarray(binary.sum(axis=0)), binary.shape).astype(np.float64)}
    served = recommender.make(sc.replace(**{"recommender.startup_epochs": 0, "recommender.interleave_new": 0}), 0)
    b = sc.listeners.behaviour
    served.fit(interactions, FitContext(model.epoch, model.catalog, model.listeners.taste, b.w_taste, b.w_quality))
    out["als (as served)"] = served.user_vectors() @ served.item_factors.T
    X, Y = fit_als(binary, rec.factors, rec.iterations, rec.regularization, rec.alpha, 0, solver="cholesky")
    out["als kernel (binary)"] = X @ Y.T
    try:
        import implicit
    except ImportError:
        return out
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        ref = implicit.cpu.als.AlternatingLeastSquares(factors=rec.factors, regularization=rec.regularization,
                                                       alpha=rec.alpha, iterations=rec.iterations, random_state=0,
                                                       calculate_training_loss=False)
        ref.fit(sp.csr_matrix(binary), show_progress=False)
    out["implicit (binary)"] = np.asarray(ref.user_factors) @ np.asarray(ref.item_factors).T
    return out


def diagnose(n_seeds: int, epoch: int, root_seed: int | None = None) -> pd.DataFrame:
    """One row per (seed, data source, model): top-1 utility share."""
    from streamsim.sim.model import StreamingModel

    base = config.load(SCENARIO, {"metrics.chaney": False})
    rows = []
    for seed in spawn_seeds(base.run.seed if root_seed is None else root_seed, n_seeds):
        for arm in ARMS:
            sc = base.replace(**{"run.seed": seed, "recommender.kind": arm})
            model = StreamingModel(sc)
            model.run(epoch)
            interactions = model.ledger.interactions(model.listeners.n, len(model.catalog))
            utility = model.listeners.taste @ model.catalog.style.T
            consumed = model.listeners.consumed_csr(len(model.catalog)).toarray()
            for name, scores in model_scores(model, base.replace(**{"run.seed": seed}), interactions).items():
                rows.append({"seed": seed, "data from arm": arm, "model": name,
                             "top1_share": top1_share(scores, utility, consumed)})
    return pd.DataFrame(rows)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % t-interval half-width across seeds, models as rows, arms as columns."""
    g = rows.groupby(["model", "data from arm"])["top1_share"].agg(["mean", "std", "count"])
    half = g["std"] * g["count"].map(lambda n: t_quantile(int(n) - 1) / math.sqrt(n))
    cell = g["mean"].map("{:.2f}".format) + " ± " + half.map("{:.2f}".format)
    return cell.unstack("data from arm")[list(ARMS)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epoch", type=int, default=50)
    args = parser.parse_args(argv)
    table = summary(diagnose(args.seeds, args.epoch))
    print(f"top-1 utility / best available, after {args.epoch} epochs, {args.seeds} seeds (mean ± 95 % CI)\n")
    print("| model | " + " | ".join(f"data from {a}" for a in table.columns) + " |")
    print("|---" * (len(table.columns) + 1) + "|")
    for name, row in table.iterrows():
        print(f"| {name} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

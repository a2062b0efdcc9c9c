"""A sweep from Python: exploration share x seeds, with 95 % intervals, and its figure.

Run it: ``python examples/sweep_ci.py --out outputs/examples/sweep`` (``--listeners``,
``--epochs``, ``--burn-in``, ``--replications`` to shrink it). Interrupt it and run it again: finished runs
are not run again. It writes ``sweep_ci.png`` beside the sweep's tables.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

import streamsim  # noqa: E402

METRIC = "new_artist_stream_share"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listeners", type=int, default=3000)
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--burn-in", type=int, default=None, help="burn-in epochs (default: the scenario's)")
    ap.add_argument("--replications", type=int, default=5)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("outputs/examples/sweep"))
    args = ap.parse_args()
    burn = {} if args.burn_in is None else {"run__burn_in_epochs": args.burn_in}
    base = streamsim.load("scenarios/baseline.toml", listeners__count=args.listeners,
                          artists__count=max(args.listeners // 10, 20), run__epochs=args.epochs, **burn)
    tables = streamsim.sweep(base, grid={"recommender.exploration.share": [0.0, 0.1, 0.2, 0.3]},
                             replications=args.replications, summary_epochs=max(args.epochs // 2, 1),
                             name="exploration", out=args.out, workers=args.workers)
    rows = tables.summary[tables.summary["metric"] == METRIC].sort_values("recommender.exploration.share")
    x = rows["recommender.exploration.share"].to_numpy(float)
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(x, rows["mean"], yerr=[rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]],
                marker="o", capsize=4)
    ax.set(xlabel="share of slate slots given to exploration", ylabel="share of streams (0-1)",
           title=f"New artists' stream share, mean and 95 % interval over {args.replications} seeds")
    fig.savefig(args.out / "sweep_ci.png", dpi=120)
    print(rows[["recommender.exploration.share", "n", "mean", "ci_low", "ci_high"]].to_string(index=False))
    print(f"runs: {tables.completed} new, {tables.skipped} reused; figure: {args.out / 'sweep_ci.png'}")


if __name__ == "__main__":
    main()

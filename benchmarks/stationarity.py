"""Is the recorded year a steady state? The burn-in check of issue 10.3.

For each seed, simulates ``--burn-in`` epochs and then ``--epochs`` recorded ones, and compares,
for every headline metric, the mean of the first ``--window`` recorded epochs with the mean of
the last ``--window``, both averaged over the seeds (issue 10.3: "over 3 seeds"). A metric passes
when the relative change |last − first| / |first| is below ``--tolerance`` (5 %). Prints the
pooled table and the table metric × seed, and exits 1 if any pooled metric fails; the per-seed
verdict is printed beside it.

Several burn-in lengths can be checked at once (``--burn-in 26 52 104``): one run per seed of
max(burn-in) + epochs epochs serves them all, because a burn-in of B epochs followed by E
recorded ones gives exactly the numbers of a run of B + E epochs (docs/MODEL.md, "Burn-in").
The check passes only if every listed burn-in passes.

    .venv/bin/python benchmarks/stationarity.py                      # baseline, 3 seeds, the schema's burn-in
    .venv/bin/python benchmarks/stationarity.py --burn-in 26 52 78 104 156 --seeds 1 --listeners 1000
    .venv/bin/python benchmarks/stationarity.py --save /tmp/st.parquet   # keep the per-epoch metrics
    .venv/bin/python benchmarks/stationarity.py --load /tmp/st.parquet --burn-in 26 52 --figure docs/figures/x.png
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from matplotlib.figure import Figure

import streamsim

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
# The headline metrics of issue 10.3; "payout_gini" is the active rule's payout Gini.
METRICS = ["stream_top1_share_artists", "stream_top10_share_artists", "payout_gini", "effective_artists",
           "effective_tracks", "jaccard_random_pairs", "individual_diversity", "streams_per_listener"]


class _Progress:
    """Prints the epoch reached every 13 epochs on stderr (long runs need a sign of life)."""

    def __init__(self, seed: int, total: int):
        self.seed, self.total, self.start = seed, total, time.perf_counter()

    def on_record(self, record) -> None:
        if (record.epoch + 1) % 13 == 0 or record.epoch + 1 == self.total:
            print(f"seed {self.seed}: epoch {record.epoch + 1}/{self.total}, "
                  f"{time.perf_counter() - self.start:.0f} s", file=sys.stderr, flush=True)


def simulate_seed(scenario_path: Path, seed: int, total_epochs: int, listeners: int | None) -> pd.DataFrame:
    """The per-epoch metrics of one seed over ``total_epochs`` epochs, no burn-in flagged."""
    overrides = {"run.seed": seed, "run.burn_in_epochs": 0, "run.epochs": total_epochs}
    if listeners is not None:
        overrides["listeners.count"] = listeners
    scenario = streamsim.load(scenario_path, overrides)
    metrics = streamsim.simulate(scenario, observers=(_Progress(seed, total_epochs),)).metrics.copy()
    metrics["payout_gini"] = metrics[f"payout_gini_{scenario.payouts.active}"]
    metrics["seed"] = seed
    return metrics


def drift(metrics: pd.DataFrame, burn_in: int, epochs: int, window: int) -> pd.DataFrame:
    """First-window and last-window means and relative change per metric × seed for one burn-in."""
    rows = []
    for seed, frame in metrics.groupby("seed"):
        recorded = frame[(frame["epoch"] >= burn_in) & (frame["epoch"] < burn_in + epochs)].sort_values("epoch")
        if len(recorded) < epochs:
            raise ValueError(f"seed {seed}: {len(recorded)} recorded epochs, expected {epochs}")
        for m in METRICS:
            first = float(recorded[m].iloc[:window].mean())
            last = float(recorded[m].iloc[-window:].mean())
            rows.append({"burn_in": burn_in, "metric": m, "seed": seed, "first": first, "last": last,
                         "change": (last - first) / abs(first) if first else np.inf})
    return pd.DataFrame(rows)


def pooled(table: pd.DataFrame) -> pd.DataFrame:
    """The seeds' mean first and last windows per burn-in and metric, and their relative change."""
    out = table.groupby(["burn_in", "metric"], sort=False)[["first", "last"]].mean().reset_index()
    out["change"] = (out["last"] - out["first"]) / out["first"].abs()
    return out


def figure(metrics: pd.DataFrame, burn_ins: list[int], epochs: int, window: int, title: str) -> Figure:
    """Each headline metric per epoch and seed, with the two windows of each burn-in marked."""
    fig = Figure(figsize=(13, 6.2), layout="constrained")
    axes = fig.subplots(2, 4).ravel()
    for ax, m in zip(axes, METRICS):
        for seed, frame in metrics.groupby("seed"):
            ax.plot(frame["epoch"], frame[m], linewidth=0.9, label=f"seed {seed}")
        for b in burn_ins:
            ax.axvspan(b, b + window, color="tab:green", alpha=0.08, linewidth=0)
            ax.axvspan(b + epochs - window, b + epochs, color="tab:red", alpha=0.08, linewidth=0)
        ax.set(title=m, xlabel="epoch (week)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title)
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--scenario", type=Path, default=BASELINE)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="run seeds (default 1 2 3)")
    parser.add_argument("--burn-in", type=int, nargs="+", default=None,
                        help="burn-in epochs to check (default: the scenario's run.burn_in_epochs)")
    parser.add_argument("--epochs", type=int, default=None, help="recorded epochs (default: the scenario's)")
    parser.add_argument("--listeners", type=int, default=None, help="shrink listeners.count (default: the scenario's)")
    parser.add_argument("--window", type=int, default=8, help="epochs averaged at each end (default 8)")
    parser.add_argument("--tolerance", type=float, default=0.05, help="largest relative change that passes")
    parser.add_argument("--save", type=Path, default=None, help="write the per-epoch metrics to this parquet")
    parser.add_argument("--load", type=Path, default=None, help="read per-epoch metrics saved by --save instead of simulating")
    parser.add_argument("--figure", type=Path, default=None, help="draw the per-epoch series to this PNG")
    args = parser.parse_args(argv)

    scenario = streamsim.load(args.scenario)
    burn_ins = args.burn_in if args.burn_in is not None else [scenario.run.burn_in_epochs]
    epochs = args.epochs if args.epochs is not None else scenario.run.epochs
    if 2 * args.window > epochs:
        parser.error(f"--window {args.window}: the two windows need at least {2 * args.window} recorded epochs")
    if args.load is not None:
        metrics = pd.read_parquet(args.load)
    else:
        total = max(burn_ins) + epochs
        metrics = pd.concat([simulate_seed(args.scenario, s, total, args.listeners) for s in args.seeds],
                            ignore_index=True)
        if args.save is not None:
            metrics.to_parquet(args.save)

    table = pd.concat([drift(metrics, b, epochs, args.window) for b in burn_ins], ignore_index=True)
    table["pass"] = table["change"].abs() < args.tolerance
    means = pooled(table)
    means["pass"] = means["change"].abs() < args.tolerance
    size = args.listeners if args.listeners is not None else scenario.listeners.count
    seeds = sorted(table["seed"].unique())
    print(f"{args.scenario.name}: {size:,} listeners, {epochs} recorded epochs, seeds {seeds}, means of the "
          f"first and last {args.window}, pass if |change| < {args.tolerance:.0%}")
    with pd.option_context("display.width", 200, "display.max_rows", None):
        for b, group in means.groupby("burn_in"):
            cells = table[table["burn_in"] == b]
            print(f"\nburn-in {b} epochs: {'PASS' if group['pass'].all() else 'FAIL'} over the seeds' mean "
                  f"(worst |change| {group['change'].abs().max():.1%}); every seed alone: "
                  f"{'pass' if cells['pass'].all() else 'fail'} (worst {cells['change'].abs().max():.1%})")
            shown = group.drop(columns="burn_in").assign(change=group["change"].map("{:+.1%}".format))
            print(shown.to_string(index=False, float_format="{:.4g}".format))
            print("per seed:")
            shown = cells.drop(columns="burn_in").assign(change=cells["change"].map("{:+.1%}".format))
            print(shown.to_string(index=False, float_format="{:.4g}".format))
    if args.figure is not None:
        title = (f"{args.scenario.name}, {size:,} listeners: first (green) and last (red) {args.window} recorded "
                 f"epochs after burn-in {', '.join(map(str, burn_ins))}")
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        figure(metrics, burn_ins, epochs, args.window, title).savefig(args.figure, dpi=110)
        print("figure:", args.figure)
    return 0 if means["pass"].all() else 1


if __name__ == "__main__":
    sys.exit(main())

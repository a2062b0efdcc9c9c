"""Realised activity-mainstreaminess correlation of the heavy-users scenarios (issue 10.1).

``scenarios/heavy_users_mainstream.toml``, ``heavy_users_niche.toml`` and ``baseline.toml`` differ
only in ``listeners.activity_mainstream_corr`` (read from the files: +0.95, −0.95 and the default
0.0), so this runs them as one ``streamsim.sweep`` over that key (common random numbers,
resumable) and reports,
per scenario, the metric ``activity_mainstream_rho`` averaged over the recorded epochs of
each seed: mean across seeds with its 95 % t-interval, and the range of the per-epoch values.
Acceptance (issue 10.1): mainstream ≥ +0.3, niche ≤ −0.3, baseline about 0.

Draws ``docs/figures/mainstream_rho.png``: per-epoch means with 95 % bands, and the per-seed
means with the interval.

    .venv/bin/python benchmarks/mainstream_study.py [--replications 5] [--epochs 26] [--listeners N]
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import streamsim
from streamsim.measures.metrics import mean_interval as interval, t_quantile
from streamsim.present.plots import save

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
FIGURES = ROOT / "docs" / "figures"
KEY = "listeners.activity_mainstream_corr"
METRIC = "activity_mainstream_rho"


def _corr(name: str) -> float:
    """The scenario file's ``listeners.activity_mainstream_corr`` (0.0, the default, if unset)."""
    with open(ROOT / "scenarios" / f"{name}.toml", "rb") as f:
        return float(tomllib.load(f).get("listeners", {}).get("activity_mainstream_corr", 0.0))


# The three scenarios as values of the one key they differ in, read from their files.
SCENARIOS = {_corr(name): name for name in ("heavy_users_niche", "baseline", "heavy_users_mainstream")}
COLOURS = {"heavy_users_niche": "tab:blue", "baseline": "tab:grey", "heavy_users_mainstream": "tab:red"}
THRESHOLD = 0.3


def run(out: Path, replications: int, epochs: int, listeners: int | None, workers: int) -> pd.DataFrame:
    """The recorded epochs of the sweep, with a ``scenario`` column."""
    fixed = {"run.epochs": epochs, **({"listeners.count": listeners} if listeners is not None else {})}
    tables = streamsim.sweep(BASELINE, grid={KEY: list(SCENARIOS)}, set=fixed, replications=replications,
                             name="mainstreamness", out=out, workers=workers)
    table = tables.table[tables.table["burn_in"] == 0].copy()
    table["scenario"] = table[KEY].map(SCENARIOS)
    return table


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per scenario: mean over seeds of the per-seed recorded-epoch mean, 95 % interval, epoch range."""
    rows = []
    for name in SCENARIOS.values():
        group = table[table["scenario"] == name]
        per_seed = group.groupby("replication")[METRIC].mean()
        mean, half = interval(per_seed.to_numpy())
        rows.append({"scenario": name, "seeds": len(per_seed), "epochs": group["epoch"].nunique(), "mean": mean,
                     "ci_low": mean - half, "ci_high": mean + half, "epoch_min": group[METRIC].min(),
                     "epoch_max": group[METRIC].max()})
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, summary: pd.DataFrame, title: str) -> Figure:
    fig = Figure(figsize=(10.5, 3.8), layout="constrained")
    over_time, per_seed = fig.subplots(1, 2, width_ratios=[2, 1])
    for name in SCENARIOS.values():
        stats = table[table["scenario"] == name].groupby("epoch")[METRIC].agg(["mean", "std", "count"])
        half = np.array([t_quantile(int(n) - 1) for n in stats["count"]]) * stats["std"] / np.sqrt(stats["count"])
        over_time.plot(stats.index, stats["mean"], color=COLOURS[name], label=name)
        over_time.fill_between(stats.index, stats["mean"] - half, stats["mean"] + half, color=COLOURS[name],
                               alpha=0.2, linewidth=0)
    for ax in (over_time, per_seed):
        for y in (-THRESHOLD, THRESHOLD):
            ax.axhline(y, color="black", linestyle="--", linewidth=0.8)
        ax.axhline(0.0, color="black", linewidth=0.5)
        ax.set_ylim(-1, 1)
        ax.grid(alpha=0.3)
    over_time.set(xlabel="epoch (week)", ylabel="r (rank of streams, mean artist percentile)",
                  title="per epoch: mean across seeds, 95 % band")
    over_time.legend(loc="center right", fontsize=8)
    for i, row in summary.iterrows():
        seeds = table[table["scenario"] == row["scenario"]].groupby("replication")[METRIC].mean()
        per_seed.scatter(np.full(len(seeds), i) + np.linspace(-0.12, 0.12, len(seeds)), seeds,
                         color=COLOURS[row["scenario"]], s=14, alpha=0.6)
        per_seed.errorbar(i, row["mean"], yerr=[[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]],
                          color="black", marker="o", capsize=4)
    per_seed.set_xticks(range(len(summary)), [s.replace("heavy_users_", "") for s in summary["scenario"]])
    per_seed.set(title="per-seed means, 95 % CI", ylabel="r")
    fig.suptitle(title)
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=26, help="recorded epochs per run")
    parser.add_argument("--listeners", type=int, default=None, help="shrink listeners.count")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "sweeps" / "mainstreamness")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    table = run(args.out, args.replications, args.epochs, args.listeners, args.workers)
    summary = summarise(table)
    with pd.option_context("display.width", 200):
        print(summary.to_string(index=False, float_format="{:+.3f}".format))
    size = f"{args.listeners:,} listeners" if args.listeners else "full size"
    seeds = int(summary["seeds"].min())
    fig = figure(table, summary, f"{METRIC}: {seeds} seeds, {int(summary['epochs'].max())} recorded epochs, {size}")
    print("figure:", *save(fig, FIGURES, "mainstream_rho"))


if __name__ == "__main__":
    main()

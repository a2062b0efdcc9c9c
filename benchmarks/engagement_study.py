"""Recommenders against each other once engagement follows satisfaction (issue 10.2).

Runs ``scenarios/sweeps/engagement.toml`` (5 seeds per arm, common random numbers, 26 burn-in
epochs, then 52 recorded ones) through ``streamsim.sweep``, which resumes a killed study and
runs only new arms when the grid grows, then:

- prints, per arm, the mean across seeds with its 95 % t-interval of each run's mean over the
  recorded year (streams per active listener per week, churn, premium share, revenue per week,
  mean satisfaction, utility per play, arrivals, three channel shares, nDCG) and of the active listeners at the last
  epoch and their growth over the recorded year, as a Markdown table;
- prints the paired differences of every arm against the first arm of the grid (ALS): per seed
  arm minus first arm, then the mean and 95 % t-interval over seeds, in % of the first arm's mean
  for the outcomes and absolute for satisfaction and the context columns;
- draws, per epoch, every arm's paired difference from the first arm (95 % bands over seeds) to
  ``docs/figures/engagement_recommenders.png``, and the per-epoch means with 95 % bands (which
  hold the seed-to-seed spread the paired differences remove) to
  ``docs/figures/engagement_recommenders_levels.png``.

    .venv/bin/python benchmarks/engagement_study.py [--out outputs/sweeps/engagement] [--workers 1]
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

import streamsim
from matplotlib.figure import Figure

from streamsim.measures.metrics import mean_interval as interval, t_quantile
from streamsim.measures.registry import label
from streamsim.present.plots import EPOCH_LABEL, SCENARIO_COLOURS, save, sweep_time_figure

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "scenarios" / "sweeps" / "engagement.toml"
FIGURES = ROOT / "docs" / "figures"
KIND = "recommender.kind"
# (column, heading, format, paired difference in % of the reference arm's mean?)
OUTCOMES = [
    ("streams_per_listener", "streams / active listener / week", "{:.1f}", True),
    ("active_end", "active listeners, last epoch", "{:.0f}", True),
    ("growth", "growth over the recorded year (%)", "{:+.1f}", False),
    ("churn_rate", "churn (% / week)", "{:.3f}", True),
    ("premium_share", "premium share", "{:.4f}", True),
    ("revenue", "revenue (USD / week)", "{:.0f}", True),
    ("satisfaction_mean", "mean satisfaction", "{:.3f}", False),
]
CONTEXT = [
    ("mean_true_utility", "mean utility per play", "{:.3f}", False),
    ("new_listeners", "arrivals / week", "{:.1f}", False),
    ("channel_share_personalised", "personalised share of streams", "{:.3f}", False),
    ("channel_share_radio", "radio share of streams", "{:.3f}", False),
    ("channel_share_library", "library share of streams", "{:.3f}", False),
    ("rec_ndcg_at_k", "nDCG@k (unseen items)", "{:.3f}", False),
]
FIGURE_METRICS = ["streams_per_listener", "active_listeners", "churn_rate", "premium_share", "revenue",
                  "satisfaction_mean"]


def run(out: Path, workers: int | None) -> tuple[pd.DataFrame, list[str]]:
    """Run (or resume) the sweep; return its recorded epochs and the arms in grid order."""
    spec = tomllib.loads(SWEEP.read_text(encoding="utf-8"))
    tables = streamsim.sweep((SWEEP.parent / spec["base"]).resolve(), grid=spec["grid"], set=spec["set"],
                             replications=spec["replications"], summary_epochs=spec["summary_epochs"],
                             name=spec["name"], out=out, workers=workers)
    return tables.table[tables.table["burn_in"] == 0], list(spec["grid"][KIND])


def per_run(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (arm, seed): means over the recorded year, and the active listeners at its end."""
    columns = [c for c, *_ in OUTCOMES + CONTEXT if c in table.columns]
    runs = table.groupby([KIND, "replication"])[columns].mean()
    ordered = table.sort_values("epoch").groupby([KIND, "replication"])["active_listeners"]
    runs["active_end"] = ordered.last()
    runs["growth"] = 100.0 * (ordered.last() / ordered.first() - 1.0)
    runs["churn_rate"] *= 100.0
    return runs


def markdown(runs: pd.DataFrame, arms: list[str]) -> str:
    """Per-arm table (mean ± 95 % half-width over seeds) and paired differences against arms[0]."""
    rows = [c for c in OUTCOMES + CONTEXT if c[0] in runs.columns]
    lines = ["| | " + " | ".join(arms) + " |", "|---" * (len(arms) + 1) + "|"]
    for column, heading, fmt, _ in rows:
        cells = [f"{fmt.format(m)} ± {fmt.format(h).lstrip('+')}"
                 for m, h in (interval(runs.loc[a, column]) for a in arms)]
        lines.append(f"| {heading} | " + " | ".join(cells) + " |")
    ref = arms[0]
    lines += ["", f"Paired differences, arm − {ref} per seed (mean ± 95 % half-width over seeds; "
              f"% of the {ref} mean where marked %):", "",
              "| | " + " | ".join(f"{a} − {ref}" for a in arms[1:]) + " |", "|---" * len(arms) + "|"]
    for column, heading, fmt, relative in rows:
        cells = []
        for a in arms[1:]:
            diff = runs.loc[a, column].to_numpy() - runs.loc[ref, column].to_numpy()
            if relative:
                mean, half = interval(100.0 * diff / runs.loc[ref, column].mean())
                cells.append(f"{mean:+.2f} ± {half:.2f} %")
            else:
                mean, half = interval(diff)
                signed = fmt if "+" in fmt else fmt.replace("{:", "{:+")
                cells.append(f"{signed.format(mean)} ± {fmt.format(half).lstrip('+')}")
        lines.append(f"| {heading} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def difference_figure(table: pd.DataFrame, arms: list[str]) -> Figure:
    """Per epoch, each arm minus arms[0] on the same seed: mean and 95 % t-band over seeds.

    In % of arms[0]'s mean at that epoch, except satisfaction (absolute, utility units).
    """
    fig = Figure(figsize=(13.8, 6.6), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    fig.suptitle(f"Each recommender minus {arms[0]} on the same seed, per epoch "
                 f"(mean over {table['replication'].nunique()} seeds, 95 % bands)")
    ref = table[table[KIND] == arms[0]].set_index(["epoch", "replication"])
    for ax, metric in zip(axes, FIGURE_METRICS):
        relative = metric != "satisfaction_mean"
        base = ref[metric]
        scale = 100.0 / base.groupby(level="epoch").mean() if relative else 1.0
        for colour, arm in zip(SCENARIO_COLOURS[1:], arms[1:]):
            other = table[table[KIND] == arm].set_index(["epoch", "replication"])[metric]
            diff = (other - base).groupby(level="epoch")
            mean = diff.mean() * scale
            half = diff.std() * diff.count().map(lambda n: t_quantile(n - 1) / np.sqrt(n)) * scale
            ax.plot(mean.index, mean, color=colour, linewidth=1.4, label=f"{arm} − {arms[0]}")
            ax.fill_between(mean.index, mean - half, mean + half, color=colour, alpha=0.15, linewidth=0)
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set(title=label(metric), xlabel=EPOCH_LABEL,
               ylabel=f"% of {arms[0]}" if relative else "utility units")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "sweeps" / "engagement")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    table, arms = run(args.out, args.workers)
    runs = per_run(table)
    runs.to_csv(args.out / "engagement_per_run.csv")
    print(markdown(runs, arms))
    print("figure:", *save(difference_figure(table, arms), FIGURES, "engagement_recommenders"))
    levels = sweep_time_figure(table, [KIND], FIGURE_METRICS,
                               f"{', '.join(arms)} ({table['replication'].nunique()} seeds, recorded year)")
    print("figure:", *save(levels, FIGURES, "engagement_recommenders_levels"))


if __name__ == "__main__":
    main()

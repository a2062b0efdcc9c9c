"""The Chaney et al. (2018) replication figure, from a finished sweep of scenarios/sweeps/chaney.toml.

Panel 1: each arm's change in Jaccard against the ideal arm versus its utility relative to
the ideal arm, each a per-run mean over the sweep's summary epochs, with the mean and 95 %
t-interval across seeds (``summary.parquet``) as error bars on both axes. Panels 2 and 3: both
measures per epoch, mean across seeds with a 95 % band (``sweep.parquet``)::

    python -m streamsim.present.chaney_figure outputs/sweeps/chaney docs/figures
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from streamsim.measures.registry import label, unit
from streamsim.present.plots import EPOCH_LABEL, _half_width, save, scenario_colours

ARM = "recommender.kind"
JACCARD = "chaney_jaccard_change_vs_ideal"
UTILITY = "utility_vs_ideal"


def replication_figure(summary: pd.DataFrame, table: pd.DataFrame, arm: str = ARM) -> Figure:
    """Homogenisation against utility per arm, and both over time (see the module docstring)."""
    arms = list(dict.fromkeys(summary[arm]))
    colours = scenario_colours(arms)
    fig = Figure(figsize=(15.0, 4.6), layout="constrained")
    ax_xy, ax_j, ax_u = fig.subplots(1, 3)
    n = int(summary["n"].max())
    fig.suptitle(f"Chaney et al. (2018) replicated: {n} seeds per arm, 95 % intervals "
                 "(left: each run's mean over the sweep's summary epochs)")
    wide = summary.set_index([arm, "metric"])
    for name in arms:
        x, y = wide.loc[(name, UTILITY)], wide.loc[(name, JACCARD)]
        ax_xy.errorbar(x["mean"], y["mean"], xerr=[[x["mean"] - x["ci_low"]], [x["ci_high"] - x["mean"]]],
                       yerr=[[y["mean"] - y["ci_low"]], [y["ci_high"] - y["mean"]]], fmt="o", capsize=3,
                       color=colours[name], label=name)
    ax_xy.axhline(0.0, color="grey", linewidth=0.8)
    ax_xy.set(title="Homogenisation against utility, per arm", xlabel=label(UTILITY), ylabel=label(JACCARD))
    for ax, metric in ((ax_j, JACCARD), (ax_u, UTILITY)):
        for name, group in table.groupby(arm, sort=False):
            stats = group.groupby("epoch")[metric].agg(["mean", "std", "count"])
            half = _half_width(stats["std"], stats["count"])
            ax.plot(stats.index, stats["mean"], color=colours[name], linewidth=1.4, label=name)
            ax.fill_between(stats.index, stats["mean"] - half, stats["mean"] + half, color=colours[name],
                            alpha=0.15, linewidth=0)
        ax.set(title=label(metric), xlabel=EPOCH_LABEL, ylabel=unit(metric))
    for ax in (ax_xy, ax_j, ax_u):
        ax.grid(alpha=0.3)
    ax_xy.legend(frameon=False, loc="center right")
    return fig


def main(argv: list[str]) -> list[Path]:
    """``SWEEP_DIR [OUT_DIR]``: write chaney_replication.png/.svg (default: SWEEP_DIR/figures)."""
    sweep_dir = Path(argv[0])
    out = Path(argv[1]) if len(argv) > 1 else sweep_dir / "figures"
    fig = replication_figure(pd.read_parquet(sweep_dir / "summary.parquet"),
                             pd.read_parquet(sweep_dir / "sweep.parquet"))
    return save(fig, out, "chaney_replication")


if __name__ == "__main__":
    for path in main(sys.argv[1:]):
        print(path)

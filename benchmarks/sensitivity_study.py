"""Tables and figures of the sensitivity study (issue 10.7) from its finished sweep folders.

The sweeps themselves run through ``streamsim sweep`` (so they resume)::

    streamsim sweep scenarios/sweeps/sensitivity_morris.toml --workers 1
    streamsim sweep scenarios/sweeps/sensitivity_sobol.toml --workers 1
    streamsim sweep scenarios/sweeps/sensitivity_arms.toml --workers 1

This script reads their folders (default ``outputs/sweeps/<name>``) and prints, as Markdown:

- Morris mu*, its 95 % bootstrap half-width, the signed mean mu and sigma, per output and parameter;
- Sobol S1 and ST with SALib's 95 % half-widths;
- per recommender arm, the mean over seeds of each run's mean over its recorded epochs (95 %
  t-interval), and the paired (per seed) difference from the no-recommender arm, absolute and
  relative to that arm's level.

It draws ``docs/figures/sensitivity_morris.png``, ``sensitivity_sobol.png`` (the sweep's own
index figure) and ``sensitivity_arms.png`` (levels and paired differences per arm)::

    .venv/bin/python benchmarks/sensitivity_study.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from streamsim.measures.metrics import t_quantile  # noqa: E402
from streamsim.measures.registry import label, recorded  # noqa: E402
from streamsim.present.plots import SCENARIO_COLOURS, save, sensitivity_figure  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
ARM = "run.name"
REFERENCE = "none"
ARMS = ["als", "popularity", "oracle", "none"]
METRICS = ["stream_top1_share_artists", "stream_top10_share_artists", "payout_gini_pro_rata", "effective_artists"]


def interval(x) -> tuple[float, float]:
    """Mean and 95 % t half-width of a sample."""
    x = np.asarray(x, float)
    return float(x.mean()), float(t_quantile(len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))


def index_table(folder: Path) -> pd.DataFrame | None:
    """A sweep's sensitivity.parquet, or None if it has not been written yet."""
    path = folder / "sensitivity.parquet"
    return pd.read_parquet(path) if path.is_file() else None


def markdown_indices(indices: pd.DataFrame) -> str:
    """One Markdown table: parameter rows, one column group per metric."""
    morris = "mu_star" in indices.columns
    cells = (lambda r: f"{r.mu_star:.3g} ± {r.mu_star_conf:.2g} (μ {r.mu:+.2g}, σ {r.sigma:.2g})") if morris else \
        (lambda r: f"S1 {r.S1:.2f} ± {r.S1_conf:.2f}, ST {r.ST:.2f} ± {r.ST_conf:.2f}")
    metrics = list(dict.fromkeys(indices["metric"]))
    order = (indices[indices["metric"] == metrics[0]].sort_values("mu_star" if morris else "ST", ascending=False)
             ["param"].tolist())
    lines = ["| parameter | " + " | ".join(label(m) for m in metrics) + " |",
             "|---" * (len(metrics) + 1) + "|"]
    for param in order:
        row = indices[indices["param"] == param].set_index("metric")
        lines.append(f"| `{param}` | " + " | ".join(cells(row.loc[m]) for m in metrics) + " |")
    return "\n".join(lines)


def per_run(folder: Path) -> pd.DataFrame:
    """Each run's mean over its recorded epochs, indexed by arm and replication."""
    table = recorded(pd.read_parquet(folder / "sweep.parquet"))
    return table.groupby([ARM, "replication"])[METRICS].mean()


def arm_tables(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Levels per arm and paired differences from the reference arm, each with 95 % half-widths."""
    levels, diffs = [], []
    ref = runs.loc[REFERENCE]
    for arm in [a for a in ARMS if a in runs.index.unique(0)]:
        x = runs.loc[arm]
        for m in METRICS:
            mean, half = interval(x[m])
            levels.append({"arm": arm, "metric": m, "mean": mean, "half": half})
            if arm == REFERENCE:
                continue
            d = x[m] - ref[m]
            dm, dh = interval(d)
            rm, rh = interval(100.0 * d / ref[m])
            diffs.append({"arm": arm, "metric": m, "diff": dm, "diff_half": dh, "rel_pct": rm, "rel_half": rh})
    return pd.DataFrame(levels), pd.DataFrame(diffs)


def markdown_arms(levels: pd.DataFrame, diffs: pd.DataFrame) -> str:
    lines = ["| arm | " + " | ".join(label(m) for m in METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
    for arm, group in levels.groupby("arm", sort=False):
        row = group.set_index("metric")
        lines.append(f"| {arm} | " + " | ".join(f"{row.loc[m, 'mean']:.4g} ± {row.loc[m, 'half']:.2g}"
                                                for m in METRICS) + " |")
    lines += ["", f"Paired differences from `{REFERENCE}` (per seed; absolute, then % of `{REFERENCE}`'s level):", "",
              "| arm − none | " + " | ".join(label(m) for m in METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
    for arm, group in diffs.groupby("arm", sort=False):
        row = group.set_index("metric")
        lines.append(f"| {arm} | " + " | ".join(
            f"{row.loc[m, 'diff']:+.3g} ± {row.loc[m, 'diff_half']:.2g} ({row.loc[m, 'rel_pct']:+.1f} ± "
            f"{row.loc[m, 'rel_half']:.1f} %)" for m in METRICS) + " |")
    return "\n".join(lines)


def arms_figure(levels: pd.DataFrame, diffs: pd.DataFrame, n_seeds: int) -> Figure:
    """Top row: each arm's level; bottom row: its paired difference from no recommender."""
    fig = Figure(figsize=(4.0 * len(METRICS), 6.4), layout="constrained")
    axes = fig.subplots(2, len(METRICS), squeeze=False)
    fig.suptitle(f"Recommender arms on the shrunk world: mean over the recorded epochs, 95 % intervals over "
                 f"{n_seeds} seeds (common random numbers)")
    arms = list(dict.fromkeys(levels["arm"]))
    colours = {a: SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)] for i, a in enumerate(arms)}
    for col, m in enumerate(METRICS):
        top, bottom = axes[0][col], axes[1][col]
        rows = levels[levels["metric"] == m].set_index("arm").loc[arms]
        top.bar(arms, rows["mean"], yerr=rows["half"], color=[colours[a] for a in arms], capsize=3)
        low = (rows["mean"] - rows["half"]).min()
        high = (rows["mean"] + rows["half"]).max()
        pad = 0.15 * (high - low)
        top.set_ylim(max(0.0, low - pad), high + pad)
        top.set_title(label(m))
        d = diffs[diffs["metric"] == m].set_index("arm")
        others = [a for a in arms if a in d.index]
        bottom.bar(others, d.loc[others, "diff"], yerr=d.loc[others, "diff_half"],
                   color=[colours[a] for a in others], capsize=3)
        bottom.axhline(0.0, color="black", linewidth=0.8)
        bottom.set_title(f"minus {REFERENCE} (paired by seed)", fontsize=9)
        for ax in (top, bottom):
            ax.tick_params(axis="x", labelrotation=25)
            ax.grid(alpha=0.3, axis="y")
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=Path, default=ROOT / "outputs" / "sweeps", help="folder of the sweep folders")
    args = parser.parse_args()
    for name, title in (("sensitivity_morris", "Morris screening (shrunk world, mean over 20 recorded epochs)"),
                        ("sensitivity_sobol", "Sobol indices (shrunk world, mean over 20 recorded epochs)")):
        indices = index_table(args.sweeps / name)
        if indices is None:
            print(f"{name}: no sensitivity.parquet yet\n")
            continue
        print(f"## {name}\n\n{markdown_indices(indices)}\n")
        print("figure:", *save(sensitivity_figure(indices, title), FIGURES, name), "\n")
    arms = args.sweeps / "sensitivity_arms"
    if (arms / "sweep.parquet").is_file():
        runs = per_run(arms)
        levels, diffs = arm_tables(runs)
        print(f"## arms\n\n{markdown_arms(levels, diffs)}\n")
        n_seeds = runs.index.get_level_values("replication").nunique()
        print("figure:", *save(arms_figure(levels, diffs, n_seeds), FIGURES, "sensitivity_arms"))


if __name__ == "__main__":
    main()

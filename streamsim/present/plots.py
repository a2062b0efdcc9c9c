"""Figures of a run, a sweep, or several runs side by side (matplotlib, Agg, no pyplot state).

Every figure is written as PNG and SVG under the folder's ``figures/``. Colours are fixed per
payout rule (:func:`rule_colours`) and assigned per scenario in the order given, so the same
scenario keeps its colour across the figures of one set.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from streamsim.core.registry import PAYOUT_RULES  # noqa: E402
from streamsim.measures.metrics import gini, lorenz, t_quantile  # noqa: E402
from streamsim.measures.registry import headline, label, recorded, unit  # noqa: E402

SCENARIO_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
                    "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
EPOCH_LABEL = "epoch (simulated week)"
__all__ = ["label", "unit", "headline"]


def rule_colours() -> dict[str, str]:
    """The fixed colour of every registered payout rule."""
    return {name: rule.colour for name, rule in PAYOUT_RULES.items()}


def time_series() -> dict[str, tuple[str, list[tuple[str, list[str]]]]]:
    """Time-series figures of a run: stem -> (title, [(panel title, [metric, ...])])."""
    rules = PAYOUT_RULES.names()
    return {
        "concentration": ("Concentration of payouts and streams", [
            ("Payout Gini by rule", [f"payout_gini_{r}" for r in rules]),
            ("Top-1 % artists' payout share by rule", [f"payout_top1_share_{r}" for r in rules]),
            ("Streams over artists", ["stream_gini_artists", "stream_top1_share_artists",
                                      "stream_top10_share_artists"]),
        ]),
        "small_artist_reach": ("Reach of emerging and new artists", [
            ("Shares of emerging and new artists", ["emerging_stream_share", "emerging_impression_share",
                                                    "new_artist_stream_share"]),
            ("Emerging artists' payout share by rule", [f"payout_emerging_share_{r}" for r in rules]),
            ("Unique listeners per emerging artist", ["emerging_mean_unique_listeners"]),
            ("New releases reaching 1,000 streams", ["new_releases_reaching_threshold"]),
        ]),
        "homogeneity": ("Homogeneity of consumption and supply", [
            ("Jaccard similarity of listeners' streams", ["jaccard_random_pairs", "jaccard_similar_pairs",
                                                          "jaccard_dissimilar_pairs"]),
            ("Effective number streamed", ["effective_artists", "effective_tracks"]),
            ("Style diversity", ["individual_diversity", "release_style_dispersion"]),
            ("Catalog coverage of recommendations", ["rec_coverage"]),
        ]),
        "welfare": ("Listener welfare", [
            ("Utility and satisfaction", ["mean_true_utility", "satisfaction_mean"]),
            ("Skips", ["skip_share_5s", "skip_share_30s", "skip_share_before_end"]),
            ("Churn", ["churn_rate"]),
            ("Active listeners", ["active_listeners"]),
        ]),
        "release_drift": ("Drift of new releases (Goodhart)", [
            ("Mean track length", ["release_mean_length_s"]),
            ("Mean time to the hook", ["release_mean_intro_s"]),
            ("Artists still releasing", ["active_artists"]),
            ("Artists above a living by rule", [f"artists_above_living_{r}" for r in rules]),
        ]),
    }


def metric_colour(metric: str, index: int) -> str:
    """A payout rule's colour for per-rule metrics, else a colour by position."""
    for rule, colour in rule_colours().items():
        if metric.endswith("_" + rule):
            return colour
    return SCENARIO_COLOURS[index % len(SCENARIO_COLOURS)]


def scenario_colours(labels: list[str]) -> dict[str, str]:
    """One colour per scenario or configuration, in the order given."""
    return {name: SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)] for i, name in enumerate(labels)}


def save(fig: Figure, folder: Path, stem: str) -> list[Path]:
    """Write a figure as PNG and SVG; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.png", folder / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=110)
    fig.savefig(paths[1])
    return paths


def _grid(n: int, ncols: int = 2, size: tuple[float, float] = (5.2, 3.4)) -> tuple[Figure, list[Any]]:
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _legend(ax: Any, **kwargs: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", **kwargs)


def _figure_legend(fig: Figure, ax: Any) -> None:
    """The legend of a multi-panel figure below its panels: long configuration labels (a sweep
    with several swept or zipped keys) would otherwise squeeze the first panel to nothing."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", fontsize="small", ncols=1, frameon=False)


# ---------------------------------------------------------------- Lorenz curves

def lorenz_figure(artists: pd.DataFrame, title: str = "") -> Figure | None:
    """Lorenz curves of each rule's payouts summed per artist over the whole run."""
    rules = [r for r in PAYOUT_RULES.names() if f"payout_{r}" in artists.columns]
    if not rules:
        return None
    totals = artists.groupby("artist_id")[[f"payout_{r}" for r in rules]].sum()
    fig = Figure(figsize=(6.2, 5.6), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="equality")
    for rule in rules:
        x, y = lorenz(totals[f"payout_{rule}"].to_numpy())
        ax.plot(x, y, color=PAYOUT_RULES[rule].colour, linewidth=1.8,
                label=f"{PAYOUT_RULES[rule].label} (Gini {gini(totals[f'payout_{rule}'].to_numpy()):.3f})")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="share of artists, poorest first (0-1)",
           ylabel="cumulative share of payouts (0-1)",
           title="Payout Lorenz curves over the whole run" + (f"\n{title}" if title else ""))
    _legend(ax, loc="upper left")
    ax.grid(alpha=0.3)
    return fig


# ---------------------------------------------------------------- reach by popularity decile

DECILE_PANELS = (("decile_stream_share_{k}", "Stream share of each decile", "share of streams (0-1)"),
                 ("decile_mean_listeners_{k}", "Unique listeners per artist", "listeners per week"))


def decile_figure(metrics: pd.DataFrame, title: str = "") -> Figure | None:
    """Small-artist reach by trailing-popularity decile: each decile's stream share and unique
    listeners per artist, mean over the run's epochs, whiskers the 5th-95th percentile of epochs."""
    deciles = [k for k in range(1, 11) if all(p.format(k=k) in metrics.columns for p, _, _ in DECILE_PANELS)]
    if not deciles:
        return None
    fig, axes = _grid(len(DECILE_PANELS), ncols=2, size=(5.6, 3.8))
    fig.suptitle("Reach by trailing-popularity decile (1 = least streamed tenth of artists)"
                 f"{': ' + title if title else ''}")
    for ax, (pattern, name, y_unit) in zip(axes, DECILE_PANELS):
        values = metrics[[pattern.format(k=k) for k in deciles]].to_numpy(dtype=float)
        mean = values.mean(axis=0)
        low, high = np.percentile(values, [5, 95], axis=0)
        ax.bar(deciles, mean, color=SCENARIO_COLOURS[0], yerr=[mean - low, high - mean], capsize=3)
        if (mean > 0).any():
            ax.set_yscale("log")
        ax.set(title=name, xlabel="trailing-popularity decile", ylabel=y_unit, xticks=deciles)
        ax.grid(alpha=0.3, axis="y")
    return fig


# ---------------------------------------------------------------- time series of one run

def time_series_figure(metrics: pd.DataFrame, title: str, panels: list[tuple[str, list[str]]]) -> Figure | None:
    """Panels of per-epoch metrics from one run (missing metrics are left out)."""
    present = [(name, [m for m in cols if m in metrics.columns]) for name, cols in panels]
    present = [(name, cols) for name, cols in present if cols]
    if not present:
        return None
    fig, axes = _grid(len(present))
    fig.suptitle(title)
    for ax, (name, cols) in zip(axes, present):
        for i, metric in enumerate(cols):
            ax.plot(metrics["epoch"], metrics[metric].astype(float), color=metric_colour(metric, i),
                    linewidth=1.6, label=label(metric))
        ax.set(title=name, xlabel=EPOCH_LABEL, ylabel=" / ".join(dict.fromkeys(unit(m) for m in cols)))
        ax.grid(alpha=0.3)
        _legend(ax)
    return fig


def plot_run(run_dir: str | Path, burn_in: bool = False) -> list[Path]:
    """Every figure of one run into ``<run>/figures/``; return the files written.

    Burn-in epochs are left out unless ``burn_in`` is true.
    """
    run_dir = Path(run_dir)
    keep = (lambda f: f) if burn_in else recorded
    metrics = keep(pd.read_parquet(run_dir / "metrics.parquet"))
    name = _run_name(run_dir)
    out = run_dir / "figures"
    written: list[Path] = []
    if (run_dir / "artists.parquet").is_file():
        fig = lorenz_figure(keep(pd.read_parquet(run_dir / "artists.parquet")), name)
        if fig is not None:
            written += save(fig, out, "lorenz")
    for stem, (title, panels) in time_series().items():
        fig = time_series_figure(metrics, f"{title}: {name}", panels)
        if fig is not None:
            written += save(fig, out, stem)
    fig = decile_figure(metrics, name)
    if fig is not None:
        written += save(fig, out, "reach_by_decile")
    return written


def _run_name(run_dir: Path) -> str:
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        return f"{manifest.get('scenario', run_dir.parent.name)} / {manifest.get('run_id', run_dir.name)}"
    except (OSError, ValueError):
        return run_dir.name


# ---------------------------------------------------------------- sweeps

def _x_positions(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """Numeric x for numeric parameters; positions with tick labels for categorical ones."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float), None
    cats = list(dict.fromkeys(values.astype(str)))
    return values.astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(dtype=float), cats


def sweep_param_figure(summary: pd.DataFrame, param: str, params: list[str], metrics: list[str],
                       sweep_name: str) -> Figure | None:
    """Each metric against one swept parameter: mean across seeds with its 95 % band.

    One line per combination of the other swept parameters.
    """
    metrics = [m for m in metrics if m in set(summary["metric"])]
    if not metrics:
        return None
    others = [p for p in params if p != param]
    fig, axes = _grid(len(metrics), ncols=3, size=(4.6, 3.3))
    fig.suptitle(f"{sweep_name}: final values against {param} (mean and 95 % interval across seeds)")
    groups = list(summary.groupby(others, sort=False)) if others else [((), summary)]
    colours = scenario_colours([_combo_label(others, key) for key, _ in groups])
    for ax, metric in zip(axes, metrics):
        for key, group in groups:
            rows = group[group["metric"] == metric].sort_values(param, kind="stable")
            x, ticks = _x_positions(rows[param])
            colour = colours[_combo_label(others, key)]
            ax.plot(x, rows["mean"], marker="o", color=colour, linewidth=1.6,
                    label=_combo_label(others, key) if others else "mean")
            ax.fill_between(x, rows["ci_low"].astype(float), rows["ci_high"].astype(float),
                            color=colour, alpha=0.2, linewidth=0)
            if ticks is not None:
                ax.set_xticks(range(len(ticks)), ticks, rotation=20)
            elif len(set(x)) <= 8:
                ax.set_xticks(sorted(set(x)), [f"{v:g}" for v in sorted(set(x))])
        ax.set(title=label(metric), xlabel=param, ylabel=unit(metric))
        ax.grid(alpha=0.3)
    _figure_legend(fig, axes[0])
    return fig


def _combo_label(keys: list[str], values: Any) -> str:
    if not keys:
        return "all"
    values = values if isinstance(values, tuple) else (values,)
    return ", ".join(f"{k}={v}" for k, v in zip(keys, values))


def sweep_time_figure(table: pd.DataFrame, params: list[str], metrics: list[str], sweep_name: str) -> Figure | None:
    """Each metric per epoch, one line per configuration (mean across seeds, 95 % band)."""
    metrics = [m for m in metrics if m in table.columns]
    if not metrics or table.empty:
        return None
    fig, axes = _grid(len(metrics), ncols=3, size=(4.6, 3.3))
    fig.suptitle(f"{sweep_name}: per-epoch means across seeds (95 % bands)")
    configs = table.drop_duplicates("config")
    names = {row["config"]: _combo_label(params, tuple(row[p] for p in params)) for _, row in configs.iterrows()}
    colours = scenario_colours(list(names.values()))
    for ax, metric in zip(axes, metrics):
        for config_index, group in table.groupby("config"):
            stats = group.groupby("epoch")[metric].agg(["mean", "std", "count"])
            half = _half_width(stats["std"], stats["count"])
            colour = colours[names[config_index]]
            ax.plot(stats.index, stats["mean"], color=colour, linewidth=1.4, label=names[config_index])
            ax.fill_between(stats.index, stats["mean"] - half, stats["mean"] + half, color=colour,
                            alpha=0.15, linewidth=0)
        ax.set(title=label(metric), xlabel=EPOCH_LABEL, ylabel=unit(metric))
        ax.grid(alpha=0.3)
    _figure_legend(fig, axes[0])
    return fig


def _half_width(sd: pd.Series, n: pd.Series) -> np.ndarray:
    t = np.array([t_quantile(int(k) - 1) for k in n])
    with np.errstate(invalid="ignore", divide="ignore"):
        half = t * sd.to_numpy(dtype=float) / np.sqrt(n.to_numpy(dtype=float))
    return np.nan_to_num(half, nan=0.0)


def sweep_params(sweep_dir: Path) -> list[str]:
    """The swept parameter columns of a sweep folder (from its runs table)."""
    runs = pd.read_parquet(sweep_dir / "runs.parquet")
    fixed = {"config", "replication", "seed", "run_id", "scenario", "status"}
    return [c for c in runs.columns if c not in fixed]


def sensitivity_figure(indices: pd.DataFrame, title: str) -> Figure | None:
    """One panel per output metric: each parameter's Morris mu* (or Sobol total index) with its
    95 % confidence, largest first."""
    if indices.empty:
        return None
    morris = "mu_star" in indices.columns and indices["mu_star"].notna().any()
    value, conf, axis = (("mu_star", "mu_star_conf", "Morris mu* (output units)") if morris
                         else ("ST", "ST_conf", "Sobol total index"))
    metrics = list(dict.fromkeys(indices["metric"]))
    fig, axes = _grid(len(metrics), size=(5.6, 0.45 * indices["param"].nunique() + 1.4))
    fig.suptitle(title)
    for ax, metric in zip(axes, metrics):
        rows = indices[indices["metric"] == metric].sort_values(value)
        ax.barh(rows["param"], rows[value], xerr=rows[conf], color=SCENARIO_COLOURS[0], capsize=3)
        if not morris and "S1" in rows:
            ax.scatter(rows["S1"], rows["param"], color=SCENARIO_COLOURS[1], zorder=3, label="first order S1")
            _legend(ax)
        ax.set(title=label(metric), xlabel=axis)
        ax.grid(alpha=0.3, axis="x")
    return fig


def plot_sweep(sweep_dir: str | Path) -> list[Path]:
    """Figures of a sweep: each headline metric against each swept parameter, and over time; for
    a sensitivity design, the indices of every analysed metric instead."""
    sweep_dir = Path(sweep_dir)
    out = sweep_dir / "figures"
    if (sweep_dir / "sensitivity.parquet").is_file():
        fig = sensitivity_figure(pd.read_parquet(sweep_dir / "sensitivity.parquet"),
                                 f"Sensitivity: {sweep_dir.name}")
        return save(fig, out, "sensitivity") if fig is not None else []
    summary = pd.read_parquet(sweep_dir / "summary.parquet")
    table = recorded(pd.read_parquet(sweep_dir / "sweep.parquet"))
    params = sweep_params(sweep_dir)
    written: list[Path] = []
    for param in params:
        fig = sweep_param_figure(summary, param, params, list(headline()), sweep_dir.name)
        if fig is not None:
            written += save(fig, out, f"sweep_{_slug(param)}")
    fig = sweep_time_figure(table, params, list(headline()), sweep_dir.name)
    if fig is not None:
        written += save(fig, out, "sweep_time_series")
    return written


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


# ---------------------------------------------------------------- folders and comparisons

def kind(folder: str | Path) -> str:
    """"run", "sweep" or "group" (a folder of runs, e.g. one scenario's); ValueError otherwise."""
    folder = Path(folder)
    if (folder / "sweep.parquet").is_file():
        return "sweep"
    if (folder / "metrics.parquet").is_file():
        return "run"
    if any((child / "metrics.parquet").is_file() for child in _children(folder)):
        return "group"
    raise ValueError(f"{folder} is not a run, sweep or scenario folder (no metrics.parquet or sweep.parquet)")


def _children(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(c for c in folder.iterdir() if c.is_dir() and not c.name.endswith(".partial"))


def plot_dir(folder: str | Path, burn_in: bool = False) -> list[Path]:
    """Figures of a run or a sweep folder (what ``streamsim plot`` does); a run's burn-in epochs
    only with ``burn_in``."""
    which = kind(folder)
    if which == "run":
        return plot_run(folder, burn_in)
    if which == "sweep":
        return plot_sweep(folder)
    raise ValueError(f"{folder} holds several runs: plot each, or use compare")


@dataclass
class Entry:
    """One column of a comparison: a run, a scenario's runs, or a sweep configuration."""

    label: str
    frames: list[pd.DataFrame] = field(default_factory=list)


def entries(folder: str | Path) -> list[Entry]:
    """The comparison entries a folder contributes."""
    folder = Path(folder)
    which = kind(folder)
    if which == "run":
        return [Entry(_run_name(folder).split(" / ")[0], [recorded(pd.read_parquet(folder / "metrics.parquet"))])]
    if which == "group":
        frames = [recorded(pd.read_parquet(c / "metrics.parquet")) for c in _children(folder)
                  if (c / "metrics.parquet").is_file()]
        return [Entry(folder.name, frames)]
    table = recorded(pd.read_parquet(folder / "sweep.parquet"))
    params = sweep_params(folder)
    out = []
    for _, group in table.groupby("config", sort=True):
        first = group.iloc[0]
        name = f"{folder.name}: {_combo_label(params, tuple(first[p] for p in params))}"
        out.append(Entry(name, [g.drop(columns=["config", *params, "replication", "seed", "run_id"])
                                for _, g in group.groupby("run_id", sort=True)]))
    return out


def unique_labels(items: list[Entry]) -> list[Entry]:
    """Suffix repeated labels with #2, #3, ... so that every entry is distinct."""
    seen: dict[str, int] = {}
    for item in items:
        seen[item.label] = seen.get(item.label, 0) + 1
        if seen[item.label] > 1:
            item.label = f"{item.label} #{seen[item.label]}"
    return items


def final_values(item: Entry, metric: str) -> np.ndarray:
    """The metric's final-epoch value in each run of an entry."""
    return np.array([f.sort_values("epoch")[metric].iloc[-1] for f in item.frames
                     if metric in f.columns and len(f)], dtype=float)


def compare_table(items: list[Entry], metrics: list[str] | None = None) -> pd.DataFrame:
    """Long table: entry, metric, runs, final-epoch mean and 95 % t-interval across runs."""
    rows = []
    for metric in metrics or headline():
        for item in items:
            values = final_values(item, metric)
            if not len(values):
                continue
            n, mean = len(values), float(values.mean())
            half = t_quantile(n - 1) * float(values.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
            rows.append({"metric": metric, "entry": item.label, "runs": n, "mean": mean,
                         "ci_low": mean - half, "ci_high": mean + half})
    return pd.DataFrame(rows, columns=["metric", "entry", "runs", "mean", "ci_low", "ci_high"])


def compare_figures(items: list[Entry], out: Path, metrics: list[str] | None = None) -> list[Path]:
    """Final values side by side (bars, 95 % intervals) and per-epoch lines, one colour per entry."""
    table = compare_table(items, metrics)
    metrics = [m for m in (metrics or headline()) if m in set(table["metric"])]
    if not metrics:
        return []
    colours = scenario_colours([i.label for i in items])
    written: list[Path] = []
    fig, axes = _grid(len(metrics), ncols=4, size=(4.2, 3.3))
    fig.suptitle("Final-epoch values (mean across runs, 95 % interval)")
    for ax, metric in zip(axes, metrics):
        rows = table[table["metric"] == metric]
        x = np.arange(len(rows))
        err = np.vstack([rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]])
        ax.bar(x, rows["mean"], color=[colours[e] for e in rows["entry"]],
               yerr=np.nan_to_num(err, nan=0.0), capsize=3)
        ax.set_xticks(x, [""] * len(x))
        ax.set(title=label(metric), ylabel=unit(metric))
        ax.grid(alpha=0.3, axis="y")
    handles = [Patch(color=colours[i.label], label=i.label) for i in items]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(items)), fontsize="small")
    written += save(fig, out, "compare_final")
    fig, axes = _grid(len(metrics), ncols=4, size=(4.2, 3.3))
    fig.suptitle("Per-epoch values (mean across runs)")
    for ax, metric in zip(axes, metrics):
        for item in items:
            frames = [f[["epoch", metric]] for f in item.frames if metric in f.columns]
            if not frames:
                continue
            mean = pd.concat(frames).groupby("epoch")[metric].mean()
            ax.plot(mean.index, mean.to_numpy(), color=colours[item.label], linewidth=1.5, label=item.label)
        ax.set(title=label(metric), xlabel=EPOCH_LABEL, ylabel=unit(metric))
        ax.grid(alpha=0.3)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(items)), fontsize="small")
    written += save(fig, out, "compare_time_series")
    return written


def compare(folders: list[str | Path], out: str | Path) -> tuple[pd.DataFrame, list[Path]]:
    """Compare runs, scenarios or sweeps: write compare.csv and the figures; return the table."""
    out = Path(out)
    items = unique_labels([e for folder in folders for e in entries(folder)])
    table = compare_table(items)
    out.mkdir(parents=True, exist_ok=True)
    wide = wide_table(table, [i.label for i in items])
    tmp = out / ".compare.csv.tmp"
    wide.to_csv(tmp, index=False)
    tmp.replace(out / "compare.csv")
    return table, compare_figures(items, out / "figures")


def wide_table(table: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """One row per metric; per entry its mean and the half-width of its 95 % interval."""
    rows = []
    for metric, group in table.groupby("metric", sort=False):
        row: dict[str, Any] = {"metric": metric}
        by_entry = group.set_index("entry")
        for name in labels:
            if name in by_entry.index:
                r = by_entry.loc[name]
                row[name] = r["mean"]
                row[f"{name} ±95%"] = (r["ci_high"] - r["mean"]) if r["runs"] > 1 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)

"""Tables and figures of the Goodhart study (issue 11.6), from a finished sweep of
scenarios/sweeps/goodhart.toml::

    python -m streamsim.present.goodhart_study outputs/sweeps/goodhart docs/figures

The grid is rule x adaptation (off, artists, artists + labels). With adaptation off nothing
reads the rule in force, so the sweep runs "off" once per seed (pro-rata in force) and each
rule's off cell reads that run: the same streams, and the rule's own columns
(``artists_above_living_<rule>``) settled on them. Every number is a per-run value over the
recorded epochs (burn-in left out), then the mean across seeds with the 95 % Student
t-interval. Writes ``goodhart_tables.md`` beside the figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from streamsim.core.units import EPOCHS_PER_YEAR
from streamsim.measures.metrics import t_quantile
from streamsim.measures.view import DECILES
from streamsim.present.plots import rule_colours, save

RULE = "payouts.active"
RULES = ("pro_rata", "user_centric", "artist_centric", "threshold", "duration")
LEVELS = ("off", "artists", "artists+labels")
FORM = {"release_mean_length_s": "length of new releases (s)",
        "release_mean_intro_s": "intro of new releases (s)",
        "release_style_dispersion": "style dispersion of new releases",
        "hit_mean_length_s": "length of top-decile hits (s)",
        "hit_mean_intro_s": "intro of top-decile hits (s)",
        "hit_style_dispersion": "style dispersion of top-decile hits"}
OUTCOMES = {"bottom_half_stream_share": "stream share of the bottom half of artists (deciles 1-5)",
            "decile_stream_share_9": "stream share of decile 9",
            "decile_stream_share_10": "stream share of decile 10 (top tenth)",
            "decile_mean_listeners_5": "weekly listeners of a decile-5 artist",
            "living": "artists above the living bar (rule in force)",
            "active_artists": "active artists",
            "satisfaction_mean": "listener satisfaction",
            "mean_true_utility": "mean true utility of plays",
            "revenue": "revenue (USD a week)"}
SHORT = {"release_mean_length_s": "release length (s)", "release_mean_intro_s": "release intro (s)",
         "release_style_dispersion": "release style dispersion", "hit_mean_length_s": "hit length (s)",
         "hit_mean_intro_s": "hit intro (s)", "hit_style_dispersion": "hit style dispersion",
         "living": "artists above living bar", "bottom_half_stream_share": "bottom-half stream share",
         "satisfaction_mean": "satisfaction", "revenue": "revenue (USD/week)"}
LOG_FLOOR = 0.05
"""Lower error bars reaching below this share of the mean are cut there (log axes)."""
QUARTER = 13
"""Weeks averaged into one point of the trajectories."""
RELEASE_COLUMNS = ("release_mean_length_s", "release_mean_intro_s")


def level(table: pd.DataFrame) -> pd.Series:
    """Adaptation level of each row: off, artists alone, or artists and acting labels."""
    adapt = table["artists.adaptation.adaptive_share"].astype(float) > 0
    labels = table["artists.labels.act"].astype(bool)
    return pd.Series(np.where(~adapt, "off", np.where(labels, "artists+labels", "artists")), index=table.index)


def cells(table: pd.DataFrame) -> pd.DataFrame:
    """The recorded epochs of every (rule, level) cell of the grid, with ``living`` the count of
    artists above the living bar under the cell's rule; the off run stands for every rule."""
    table = table[table["burn_in"] == 0].copy()
    table["level"] = level(table)
    week = table["epoch"] - table["epoch"].min()
    table["year"] = week // EPOCHS_PER_YEAR
    table["quarter"] = (week // QUARTER) * QUARTER / EPOCHS_PER_YEAR + QUARTER / EPOCHS_PER_YEAR / 2
    table["bottom_half_stream_share"] = table[[f"decile_stream_share_{k}" for k in range(1, 6)]].sum(axis=1)
    parts = []
    for rule in RULES:
        own = table[(table[RULE] == rule) & (table["level"] != "off")]
        off = table[table["level"] == "off"]
        for part in (own, off):
            part = part.assign(rule=rule, living=part[f"artists_above_living_{rule}"])
            parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    # an epoch without releases has no release length or intro (written 0), nor dispersion (< 2)
    for column in RELEASE_COLUMNS:
        out.loc[out["new_tracks"] < 1, column] = np.nan
    out.loc[out["new_tracks"] < 2, "release_style_dispersion"] = np.nan
    return out


def per_run(table: pd.DataFrame, columns: list[str], last_years: int | None = None) -> pd.DataFrame:
    """Each run's mean of the columns over its recorded epochs (or its last years)."""
    if last_years:
        table = table[table["year"] >= table["year"].max() - last_years + 1]
    return table.groupby(["rule", "level", "replication"])[columns].mean()


def interval(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean across seeds with the 95 % t-interval's half-width, per cell and column."""
    g = runs.groupby(["rule", "level"])
    n = g.size()
    half = g.std().mul([t_quantile(int(k) - 1) for k in n], axis=0).div(np.sqrt(n), axis=0)
    return pd.concat({"mean": g.mean(), "half": half}, axis=1)


def paired(runs: pd.DataFrame, columns: list[str], against: str = "rule") -> pd.DataFrame:
    """Each cell minus pro-rata at the same level and seed (``against="rule"``), or minus the off
    arm under the same rule and seed (``against="level"``), with 95 % intervals (common random
    numbers: replication r has the same seed in every cell)."""
    if against == "rule":
        base = runs.xs("pro_rata", level="rule")
        diff = runs.groupby("rule", group_keys=True).apply(lambda g: g.droplevel("rule") - base)
        diff = diff.drop(index="off", level="level")
    else:
        base = runs.xs("off", level="level")
        diff = runs.groupby("level", group_keys=True).apply(lambda g: g.droplevel("level") - base)
        diff = diff.drop(index="off", level="level").reorder_levels(["rule", "level", "replication"])
    return interval(diff[columns])


def _fmt(mean: float, half: float, digits: int) -> str:
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def markdown(stats: pd.DataFrame, names: dict[str, str], digits: dict[str, int]) -> str:
    """One row per cell, one column per metric: 'mean ± half-width'."""
    head = "| rule | adaptation | " + " | ".join(names[c] for c in names) + " |"
    lines = [head, "|" + "---|" * (len(names) + 2)]
    for rule in RULES:
        for lev in LEVELS:
            if (rule, lev) not in stats.index:
                continue
            row = stats.loc[(rule, lev)]
            values = [_fmt(row[("mean", c)], row[("half", c)], digits.get(c, 3)) for c in names]
            lines.append(f"| {rule} | {lev} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def _band(ax, frame: pd.DataFrame, x: str, column: str, colour: str, label: str, style: str = "-") -> None:
    runs = frame.groupby([x, "replication"])[column].mean().unstack("replication")
    mean, n = runs.mean(axis=1), runs.count(axis=1)
    half = runs.std(axis=1) * np.array([t_quantile(int(k) - 1) for k in n]) / np.sqrt(n)
    ax.plot(mean.index, mean, style, color=colour, linewidth=1.4, label=label)
    ax.fill_between(mean.index, mean - half, mean + half, color=colour, alpha=0.12, linewidth=0)


def trajectory_figure(table: pd.DataFrame, columns: list[str], title: str) -> Figure:
    """Quarterly means of the columns (rows) per adaptation level (columns of panels), one line per
    rule, 95 % band across seeds; the off level is one run for every rule (drawn once)."""
    colours = rule_colours()
    fig = Figure(figsize=(15.0, 3.2 * len(columns)), layout="constrained")
    axes = fig.subplots(len(columns), len(LEVELS), squeeze=False, sharey="row")
    fig.suptitle(title)
    for i, column in enumerate(columns):
        for j, lev in enumerate(LEVELS):
            ax = axes[i][j]
            for rule in (("pro_rata",) if lev == "off" else RULES):
                frame = table[(table["rule"] == rule) & (table["level"] == lev)]
                _band(ax, frame, "quarter", column, "grey" if lev == "off" else colours[rule],
                      "every rule (same streams)" if lev == "off" else rule)
            if i == 0:
                ax.set_title(f"adaptation: {lev}")
            if j == 0:
                ax.set_ylabel(SHORT.get(column, column))
            ax.set_xlabel("year after burn-in")
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small", frameon=False)
    return fig


def reach_figure(stats: pd.DataFrame) -> Figure:
    """Stream share and weekly listeners by trailing-popularity decile, per rule and level."""
    colours = rule_colours()
    fig = Figure(figsize=(15.0, 7.0), layout="constrained")
    axes = fig.subplots(2, len(LEVELS), sharey="row")
    fig.suptitle("Reach by trailing-popularity decile (1 = least streamed tenth), mean over the recorded years, "
                 "95 % intervals across seeds (lower bars reaching 0 cut at 5 % of the mean)")
    k = np.arange(1, DECILES + 1)
    for j, lev in enumerate(LEVELS):
        for row, (prefix, what) in enumerate((("decile_stream_share_", "share of streams"),
                                              ("decile_mean_listeners_", "listeners a week per artist"))):
            ax = axes[row][j]
            for rule in (("pro_rata",) if lev == "off" else RULES):
                cols = [f"{prefix}{d}" for d in k]
                mean = stats.loc[(rule, lev), [("mean", c) for c in cols]].to_numpy(float)
                half = stats.loc[(rule, lev), [("half", c) for c in cols]].to_numpy(float)
                low = np.minimum(half, mean * (1 - LOG_FLOOR))   # a t-interval below 0: cut on the log axis
                ax.errorbar(k, mean, yerr=[low, half], marker="o", markersize=3, capsize=2, linewidth=1.2,
                            color="grey" if lev == "off" else colours[rule],
                            label="every rule (same streams)" if lev == "off" else rule)
            ax.set(yscale="log", title=f"{what}, adaptation {lev}", xlabel="trailing-popularity decile",
                   ylabel=what, xticks=k)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize="small", frameon=False)
    return fig


def main(argv: list[str]) -> list[Path]:
    """``SWEEP_DIR [OUT_DIR]``: write the study's figures and goodhart_tables.md (default SWEEP_DIR/figures)."""
    sweep_dir = Path(argv[0])
    out = Path(argv[1]) if len(argv) > 1 else sweep_dir / "figures"
    table = cells(pd.read_parquet(sweep_dir / "sweep.parquet"))
    deciles = [f"decile_{m}_{d}" for m in ("stream_share", "mean_listeners") for d in range(1, DECILES + 1)]
    columns = list(FORM) + [c for c in OUTCOMES if c not in deciles] + deciles
    whole = interval(per_run(table, columns))
    last = interval(per_run(table, list(FORM), last_years=1))
    final = per_run(table, list(FORM), last_years=1)
    diff, moved = paired(final, list(FORM)), paired(final, list(FORM), against="level")
    digits = {c: 1 for c in FORM if c.endswith("_s")} | {"revenue": 1, "active_artists": 1, "living": 2,
                                                         "decile_mean_listeners_5": 2}
    n = int(table.groupby(["rule", "level"])["replication"].nunique().min())
    years = int(table["year"].max()) + 1
    text = [f"{n} seeds, {years} recorded years per run; mean ± 95 % t half-width across seeds.", "",
            f"### Form, mean over the {years} years", "", markdown(whole, FORM, digits), "",
            "### Form, final year", "", markdown(last, FORM, digits), "",
            "### Form, final year: rule minus pro-rata, same adaptation and seed (paired)", "",
            markdown(diff.drop(index="pro_rata", level="rule"), FORM, digits), "",
            "### Form, final year: adapted minus off, same rule and seed (paired)", "",
            markdown(moved, FORM, digits), "",
            f"### Reach, living, listeners and money, mean over the {years} years", "",
            markdown(whole, {c: OUTCOMES[c] for c in OUTCOMES}, digits), ""]
    out.mkdir(parents=True, exist_ok=True)
    (out / "goodhart_tables.md").write_text("\n".join(text), encoding="utf-8")
    paths = [out / "goodhart_tables.md"]
    paths += save(trajectory_figure(table, list(FORM)[:3], "New releases: quarterly means, 95 % bands across seeds"),
                  out, "goodhart_releases")
    paths += save(trajectory_figure(table, list(FORM)[3:], "Top-decile hits: quarterly means, 95 % bands across seeds"),
                  out, "goodhart_hits")
    paths += save(reach_figure(whole), out, "goodhart_reach")
    paths += save(trajectory_figure(table, ["living", "bottom_half_stream_share", "satisfaction_mean", "revenue"],
                                    "Artists above the living bar, small-artist reach, listeners and revenue: "
                                    "quarterly means, 95 % bands"), out, "goodhart_outcomes")
    return paths


if __name__ == "__main__":
    for path in main(sys.argv[1:]):
        print(path)

"""A self-contained HTML report of a run or a sweep: opens in a browser with no server.

Figures are embedded as base64 PNG; the resolved config, the calibration table (if the run
folder holds ``calibration.json``) and the headline table are inline.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from streamsim.measures.registry import recorded
from streamsim.present import plots

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: .9em; margin: .5em 0; }
.wide { overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.pass { color: #1a7f37; font-weight: bold; } .fail { color: #c62828; font-weight: bold; }
.other { color: #a66a00; font-weight: bold; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: .85em; }
figure { margin: 1.2em 0; } img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9em; }
"""


def _fmt(x: Any) -> str:
    if isinstance(x, str):
        return x
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(x):
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.4g}"


def table_html(frame: pd.DataFrame) -> str:
    """A plain HTML table of a data frame, every cell escaped."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def figure_html(path: Path) -> str:
    """An embedded figure: the PNG as a base64 data URI, named by its file."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.stem)
    return (f'<figure id="fig-{name}"><img alt="{name}" src="data:image/png;base64,{data}">'
            f"<figcaption>{name}</figcaption></figure>")


def calibration_html(folder: Path) -> str:
    """The calibration table if ``calibration.json`` exists (rows: id, what, value, band, status)."""
    path = folder / "calibration.json"
    if not path.is_file():
        return ""
    rows = json.loads(path.read_text(encoding="utf-8"))
    rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
    out = ["<h2>Calibration</h2><table><thead><tr><th>id</th><th>what</th><th>value</th><th>band</th>"
           "<th>status</th></tr></thead><tbody>"]
    for r in rows:
        status = str(r.get("status", ""))
        cls = "pass" if status == "pass" else ("fail" if "out" in status or "fail" in status else "other")
        value = r.get("value", r.get("measured", ""))
        out.append("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in
                                     (r.get("id", ""), r.get("what", ""), value, r.get("band", "")))
                   + f'<td class="{cls}">{html.escape(status)}</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def run_headline(metrics: pd.DataFrame) -> pd.DataFrame:
    """Headline metrics of a run: first epoch, final epoch and mean over epochs."""
    rows = []
    for metric in plots.headline():
        if metric in metrics.columns and len(metrics):
            col = metrics.sort_values("epoch")[metric].astype(float)
            rows.append({"metric": plots.label(metric), "unit": plots.unit(metric), "first epoch": col.iloc[0],
                         "final epoch": col.iloc[-1], "mean over epochs": col.mean()})
    return pd.DataFrame(rows)


def sweep_configs(summary: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """One row per configuration: its number and the swept values."""
    configs = summary.drop_duplicates("config")[["config", *params]].reset_index(drop=True)
    return configs.assign(config=configs["config"].astype(int).astype(str))


def sweep_headline(summary: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """Headline metrics (rows) per configuration (columns): mean and 95 % interval across
    replications. One column per configuration, so a sweep with many swept keys stays readable
    (the keys are in the configurations table)."""
    rows = summary[summary["metric"].isin(plots.headline())]
    cell = [f"{_fmt(m)} [{_fmt(lo)}, {_fmt(hi)}]" for m, lo, hi in zip(rows["mean"], rows["ci_low"], rows["ci_high"])]
    wide = (rows.assign(cell=cell, metric=rows["metric"].map(plots.label))
            .pivot(index="metric", columns="config", values="cell"))
    order = [plots.label(m) for m in plots.headline() if plots.label(m) in wide.index]
    wide = wide.loc[order]
    wide.columns = [f"config {c}" for c in wide.columns]
    runs = int(rows["n"].max()) if len(rows) else 0
    return wide.reset_index().rename(columns={"metric": f"metric: mean [95 % interval], {runs} runs each"})


def _manifest_html(manifest: dict[str, Any]) -> str:
    keys = ("scenario", "run_id", "seed", "epochs", "git_commit", "started", "finished")
    rows = [(k, manifest[k]) for k in keys if k in manifest]
    seconds = manifest.get("seconds") or {}
    if seconds:
        rows.append(("seconds", ", ".join(f"{k} {_fmt(v)}" for k, v in seconds.items())))
    versions = manifest.get("versions") or {}
    if versions:
        rows.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    return table_html(pd.DataFrame(rows, columns=["field", "value"]))


def _page(title: str, sections: list[str]) -> str:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p>streamsim report, written {stamp}.</p>{''.join(sections)}</body></html>\n")


def run_report(folder: Path, figures: list[Path]) -> str:
    """The HTML of a run's report."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    metrics = recorded(pd.read_parquet(folder / "metrics.parquet"))
    config_text = (folder / "config.toml").read_text(encoding="utf-8") if (folder / "config.toml").is_file() else ""
    sections = ["<h2>Run</h2>", _manifest_html(manifest),
                "<h2>Headline metrics</h2>", table_html(run_headline(metrics)),
                calibration_html(folder), "<h2>Figures</h2>", *map(figure_html, figures),
                "<h2>Resolved configuration</h2>", f"<pre>{html.escape(config_text)}</pre>"]
    return _page(f"{manifest.get('scenario', folder.parent.name)} / {manifest.get('run_id', folder.name)}",
                 sections)


def sweep_report(folder: Path, figures: list[Path]) -> str:
    """The HTML of a sweep's report."""
    summary = pd.read_parquet(folder / "summary.parquet")
    runs = pd.read_parquet(folder / "runs.parquet")
    params = plots.sweep_params(folder)
    counts = runs["status"].value_counts().to_dict()
    sweep_text = (folder / "sweep.toml").read_text(encoding="utf-8") if (folder / "sweep.toml").is_file() else ""
    sections = ["<h2>Sweep</h2>",
                f"<p>{len(runs)} runs: " + ", ".join(f"{v} {html.escape(k)}" for k, v in counts.items()) + ". "
                "Values are each run's final epoch (or the mean of its last <code>summary_epochs</code>), "
                "averaged over replications with a 95 % t-interval.</p>",
                "<h2>Configurations</h2>", table_html(sweep_configs(summary, params)),
                "<h2>Headline metrics</h2>", table_html(sweep_headline(summary, params)),
                calibration_html(folder), "<h2>Figures</h2>", *map(figure_html, figures),
                "<h2>Runs</h2>", table_html(runs),
                "<h2>Sweep file (resolved)</h2>", f"<pre>{html.escape(sweep_text)}</pre>"]
    base = _first_config(folder)
    if base:
        sections += ["<h2>Resolved configuration of the first run</h2>", f"<pre>{html.escape(base)}</pre>"]
    return _page(f"sweep {folder.name}", sections)


def _first_config(folder: Path) -> str:
    for path in sorted((folder / "runs").glob("*/*/config.toml")):
        if not path.parent.name.endswith(".partial"):
            return path.read_text(encoding="utf-8")
    return ""


def report(folder: str | Path) -> Path:
    """(Re)draw the figures of a run or sweep folder and write its ``report.html``."""
    folder = Path(folder)
    figures = [p for p in plots.plot_dir(folder) if p.suffix == ".png"]
    text = run_report(folder, figures) if plots.kind(folder) == "run" else sweep_report(folder, figures)
    target = folder / "report.html"
    tmp = folder / f".report.html.{os.getpid()}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target

"""ALS against popularity against no recommender, once engagement follows satisfaction.

Runs ``scenarios/sweeps/engagement.toml`` (5 seeds per arm, common random numbers, 26 burn-in
epochs, then 52 recorded ones) through ``streamsim.sweep``, which resumes a killed study, then:

- prints each arm's mean over the recorded year of streams per listener, active listeners,
  premium share and revenue, and of satisfaction, churn, arrivals, two channel shares and nDCG
  (mean across seeds, 95 % t-interval), and the paired differences between arms (per seed,
  then the 95 % t-interval of the mean difference; in % of the second arm's mean for the four
  outcomes);
- draws the per-epoch means with 95 % bands to ``docs/figures/engagement_recommenders.png``.

    .venv/bin/python benchmarks/engagement_study.py [--out outputs/sweeps/engagement] [--workers 1]
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

import streamsim
from streamsim.measures.metrics import mean_interval as interval
from streamsim.present.plots import save, sweep_time_figure

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "scenarios" / "sweeps" / "engagement.toml"
FIGURES = ROOT / "docs" / "figures"
KIND = "recommender.kind"
METRICS = ["streams_per_listener", "active_listeners", "premium_share", "revenue"]
CONTEXT = ["satisfaction_mean", "churn_rate", "new_listeners", "channel_share_personalised", "channel_share_library",
           "rec_ndcg_at_k"]
PAIRS = [("als", "popularity"), ("als", "none"), ("popularity", "none")]


def run(out: Path, workers: int | None) -> pd.DataFrame:
    spec = tomllib.loads(SWEEP.read_text(encoding="utf-8"))
    tables = streamsim.sweep((SWEEP.parent / spec["base"]).resolve(), grid=spec["grid"], set=spec["set"],
                             replications=spec["replications"], summary_epochs=spec["summary_epochs"],
                             name=spec["name"], out=out, workers=workers)
    return tables.table[tables.table["burn_in"] == 0]


def report(table: pd.DataFrame) -> None:
    columns = METRICS + CONTEXT
    per_run = table.groupby([KIND, "replication"])[columns].mean()
    print("mean over the recorded year (mean across seeds ± 95 % half-width)")
    for kind, group in per_run.groupby(level=0):
        print(f"  {kind:11s}", "  ".join(f"{m} {interval(group[m])[0]:.4g} ± {interval(group[m])[1]:.2g}"
                                        for m in columns))
    last = table[table["epoch"] == table["epoch"].max()].groupby([KIND, "replication"])["active_listeners"].first()
    print("active listeners at the last epoch:",
          "  ".join(f"{k} {interval(last.loc[k])[0]:.0f} ± {interval(last.loc[k])[1]:.0f}" for k in last.index.unique(0)))
    print("paired differences (per seed, first arm minus second; % of the second arm's mean for the four "
          "outcomes, absolute for the rest; 95 % t-interval over seeds)")
    for a, b in PAIRS:
        cells = []
        for m in METRICS:
            x, y = per_run.loc[a, m], per_run.loc[b, m]
            mean, half = interval(100.0 * (x - y) / y.mean())
            cells.append(f"{m} {mean:+.2f} ± {half:.2f} %")
        for m in CONTEXT:
            mean, half = interval(per_run.loc[a, m] - per_run.loc[b, m])
            cells.append(f"{m} {mean:+.4g} ± {half:.2g}")
        print(f"  {a} - {b}:", "  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "sweeps" / "engagement")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    table = run(args.out, args.workers)
    report(table)
    fig = sweep_time_figure(table, [KIND], METRICS, "ALS, popularity, no recommender (5 seeds)")
    print("figure:", *save(fig, FIGURES, "engagement_recommenders"))


if __name__ == "__main__":
    main()

"""The incentives the model creates, and how releases drift under them (docs/MODEL.md, section 2).

Runs the small adaptive world of ``streamsim.testing.GOODHART_WORLD`` with pro-rata and with
the duration rule in force, for SEEDS seeds of EPOCHS weeks, and prints a markdown table: the t of
the slope of a release's relative income on its length and intro deviations under each rule
(pooled over every run), the paired gap duration minus pro-rata, and each run's drift of the
artists' target length and intro. tests/test_goodhart.py asserts on the same quantities.

    .venv/bin/python benchmarks/goodhart_incentives.py [SEEDS=5] [EPOCHS=40]
"""

from __future__ import annotations

import sys

import numpy as np

from streamsim.testing import FEATURES, GOODHART_RULES, goodhart_run, incentive_gap_t, incentive_t


def main(seeds: int, epochs: int) -> None:
    runs = {(rule, s): goodhart_run(rule, s, epochs) for s in range(seeds) for rule in GOODHART_RULES}
    every = list(runs.values())
    print(f"{seeds} seeds x {epochs} epochs, {len(every)} runs, "
          f"{sum(len(r.artist) for r in every):,} judged releases\n")
    print("| rule | t: income on length | t: income on intro | drift of length (s), per seed | "
          "drift of intro (s), per seed |")
    print("|---|---|---|---|---|")
    for rule in GOODHART_RULES:
        drifts = {f: [runs[(rule, s)].drift[f] for s in range(seeds)] for f in FEATURES}
        cells = [f"{incentive_t(every, rule, f):+.2f}" for f in FEATURES]
        cells += [", ".join(f"{d:+.1f}" for d in drifts[f]) + f" (mean {np.mean(drifts[f]):+.1f})" for f in FEATURES]
        print(f"| {rule} | " + " | ".join(cells) + " |")
    gaps = [runs[("duration", s)].drift["length"] - runs[("pro_rata", s)].drift["length"] for s in range(seeds)]
    print(f"| duration − pro-rata (paired) | {incentive_gap_t(every, 'length'):+.2f} | "
          f"{incentive_gap_t(every, 'intro'):+.2f} | " + ", ".join(f"{g:+.1f}" for g in gaps) + " | |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5, int(sys.argv[2]) if len(sys.argv) > 2 else 40)

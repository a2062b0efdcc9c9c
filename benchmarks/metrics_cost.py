"""Cost of the per-epoch metrics and payouts at scale: ``python benchmarks/metrics_cost.py``.

Builds synthetic inputs (100,000 listeners, ~10 M exposures by default) and prints the
seconds of ``measures.registry.collect``, ``measures.artists.artist_rows`` and ``rules.settle_all`` (best of
``--repeat`` runs, after one warm-up run that compiles the numba kernels).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from streamsim.economics import rules
from streamsim.measures.artists import artist_rows
from streamsim.measures.registry import collect
from streamsim.measures.view import EpochView
from streamsim.testing import synthetic_record


def best_of(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listeners", type=int, default=100_000)
    ap.add_argument("--tracks", type=int, default=200_000)
    ap.add_argument("--artists", type=int, default=20_000)
    ap.add_argument("--exposures", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    start = time.perf_counter()
    rec, scenario = synthetic_record(args.listeners, args.tracks, args.artists, args.exposures, seed=1)
    print(f"inputs: {args.listeners:,} listeners, {args.tracks:,} tracks, {args.artists:,} artists, "
          f"{args.exposures:,} exposures, {len(rec.table):,} (listener, track) stream rows "
          f"(built in {time.perf_counter() - start:.1f} s)")

    cfg = scenario.payouts
    trailing = rec.tracks.streams_total
    settle = best_of(lambda: rules.settle_all(rec.table, rec.revenue, args.tracks, args.artists, cfg,
                                                trailing, rec.scale), args.repeat)
    collect_s = best_of(lambda: collect(EpochView(rec, scenario)), args.repeat)
    rows = best_of(lambda: artist_rows(EpochView(rec, scenario)), args.repeat)
    row = collect(EpochView(rec, scenario))
    assert all(np.isfinite(v) for v in row.values())
    print(f"settle_all   {settle:7.3f} s")
    print(f"collect      {collect_s:7.3f} s")
    print(f"artist_rows  {rows:7.3f} s")


if __name__ == "__main__":
    main()

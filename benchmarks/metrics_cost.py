"""Cost of the per-epoch metrics and payouts at scale: ``python benchmarks/metrics_cost.py``.

Builds synthetic inputs (100,000 listeners, ~10 M exposures by default) and prints the
seconds of ``measures.registry.collect``, ``measures.artists.artist_rows`` and ``rules.settle_all`` (best of
``--repeat`` runs, after one warm-up run that compiles the numba kernels), and of the stream
table with and without seconds and one epoch of the artist-centric rule's rolling window
(``agents.trailing.DistinctPairs`` over four epochs), as ratios to the table without seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from streamsim.agents.trailing import DistinctPairs
from streamsim.economics import rules
from streamsim.economics.tables import StreamTable
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

    ev, art = rec.events, rec.tracks.artist
    stream, sought = ev.seconds >= 30, ev.channel % 2 == 0

    def table(seconds):
        return StreamTable.from_events(ev.listener, ev.track, stream, sought, art, args.tracks, seconds)

    plain = best_of(lambda: table(None), args.repeat)
    timed = best_of(lambda: table(ev.seconds), args.repeat)
    t = rec.table
    window = DistinctPairs(4)
    for _ in range(3):
        window.add(t.listener, t.artist)

    def one_epoch():
        window.add(t.listener, t.artist)
        window.groups_per_item(args.artists)

    pairs = best_of(one_epoch, args.repeat)
    print(f"table, no seconds   {plain:7.3f} s (1.00)")
    print(f"table with seconds  {timed:7.3f} s ({timed / plain:.2f})")
    print(f"artist window       {pairs:7.3f} s ({pairs / plain:.2f})")


if __name__ == "__main__":
    main()

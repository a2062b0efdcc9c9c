"""streamsim against T-RECS 0.2.1 on T-RECS's ImplicitMF workload (scenarios/trecs_workload.toml).

    python benchmarks/peers.py                         # 10,000 users x 5,000 items x 20 steps
    python benchmarks/peers.py --set listeners.count=1000 --epochs 5    # a quick look

T-RECS 0.2.1 on the same workload (2-core machine): 534 s wall, 484 s in its simulation loop,
5.4 GB peak memory. Prints our wall time, the time in the epoch loop (setup excluded), the
peak resident memory of this process (getrusage maxrss) and the speed-up ratios. The goal is
at least 100x. A shrunk workload (--set / --epochs) is not comparable: the ratio is printed
only for the full workload.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from streamsim.core import config
from streamsim.studies import runner

ROOT = Path(__file__).resolve().parents[1]
TRECS_WALL_S = 534.0
TRECS_LOOP_S = 484.0
TRECS_PEAK_GB = 5.4
GOAL = 100.0


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports maxrss in KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / (1024**3 if sys.platform == "darwin" else 1024**2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "trecs_workload.toml"))
    parser.add_argument("--epochs", type=int, default=None, help="override run.epochs")
    parser.add_argument("--set", action="append", default=[], dest="sets", help="section.key=value")
    parser.add_argument("--threads", type=int, default=None, help="numba threads (default: all cores)")
    args = parser.parse_args()
    overrides = list(args.sets) + ([f"run.epochs={args.epochs}"] if args.epochs else [])
    scenario = config.load(args.scenario, overrides)
    full = not overrides and Path(args.scenario).resolve() == (ROOT / "scenarios" / "trecs_workload.toml")

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_dir = runner.run(scenario, out_root=tmp, n_threads=args.threads)
        wall = time.perf_counter() - start
        data = runner.load_run(run_dir)
    seconds = data["manifest"]["seconds"]
    loop = seconds.get("total", wall) - seconds.get("setup", 0.0)
    catalog = int(data["metrics"]["catalog_tracks"].iloc[-1]) if "catalog_tracks" in data["metrics"] else -1
    peak = peak_rss_gb()

    print(f"workload {scenario.run.name}: {scenario.listeners.count:,} listeners, catalog {catalog:,} tracks at "
          f"the end, slate {scenario.channels.slate_size}, {scenario.recommender.factors} factors, "
          f"{scenario.recommender.warm_iterations} ALS iterations per step, {scenario.run.epochs} steps")
    print(f"streamsim: wall {wall:.2f} s, loop {loop:.2f} s (setup {seconds.get('setup', 0.0):.2f} s), "
          f"peak memory {peak:.2f} GB")
    print("phases (s): " + ", ".join(f"{k} {v:.2f}" for k, v in seconds.items()))
    if full:
        ratio = TRECS_WALL_S / wall
        print(f"T-RECS 0.2.1: wall {TRECS_WALL_S:.0f} s, loop {TRECS_LOOP_S:.0f} s, peak {TRECS_PEAK_GB} GB")
        print(f"speed-up: wall {ratio:.0f}x, loop {TRECS_LOOP_S / loop:.0f}x; memory {TRECS_PEAK_GB / peak:.1f}x "
              f"less; goal >= {GOAL:.0f}x: {'met' if ratio >= GOAL else 'NOT met'}")
    else:
        print("shrunk workload: not comparable with T-RECS, no ratio printed")


if __name__ == "__main__":
    main()

"""Time a scenario (default: the baseline) and print seconds per epoch by phase.

    python benchmarks/run_baseline.py                       # scenarios/baseline.toml, 10 epochs
    python benchmarks/run_baseline.py --set listeners.count=100000 --epochs 5

The first epoch includes numba compilation when the cache is cold; the table reports it apart.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from streamsim.core import config
from streamsim.studies import runner

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "baseline.toml"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--set", action="append", default=[], dest="sets", help="section.key=value")
    args = parser.parse_args()
    scenario = config.load(args.scenario, [*args.sets, f"run.epochs={args.epochs}"])

    epoch_times: list[float] = []
    last = [time.perf_counter()]

    class Tick:
        def on_record(self, record) -> None:
            now = time.perf_counter()
            epoch_times.append(now - last[0])
            last[0] = now

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_dir = runner.run(scenario, out_root=tmp, observers=(Tick(),))
        total = time.perf_counter() - start
        seconds = runner.load_run(run_dir)["manifest"]["seconds"]

    n = scenario.run.epochs
    print(f"scenario {scenario.run.name}: {scenario.listeners.count:,} listeners, "
          f"{scenario.artists.count:,} artists, {n} epochs, recommender {scenario.recommender.kind}")
    print(f"setup (world, back catalog, populations): {seconds['setup']:.2f} s")
    print(f"first epoch (includes numba compilation if the cache is cold): {epoch_times[0]:.2f} s")
    if n > 1:
        steady = sum(epoch_times[1:]) / (n - 1)
        print(f"later epochs: {steady:.3f} s per epoch")
    per_epoch = {k: v / n for k, v in seconds.items() if k not in ("setup", "total")}
    epoch_total = sum(per_epoch.values())
    print(f"{'phase':<10} {'s/epoch':>9} {'share':>7}")
    for phase, secs in per_epoch.items():
        print(f"{phase:<10} {secs:9.3f} {100 * secs / epoch_total:6.1f} %")
    print(f"{'all':<10} {epoch_total:9.3f}")
    print(f"wall time {total:.1f} s")


if __name__ == "__main__":
    main()

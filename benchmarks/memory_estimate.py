"""The memory guard's estimate against the measured peak resident memory of whole runs.

Each size runs as its own ``streamsim run`` process, one after the other (never concurrently:
the peaks must not share the machine's memory); the peak is the child's maximum resident set
size (``getrusage(RUSAGE_CHILDREN).ru_maxrss``, what ``/usr/bin/time -v`` reports). Prints
one row per size: the estimate by ``streamsim.sim.memory``, the measured peak and their ratio.
Update ``memory.COEFFICIENTS`` when the ratios leave 0.7-1.3.

    .venv/bin/python benchmarks/memory_estimate.py                       # 5k, 20k, 100k listeners
    .venv/bin/python benchmarks/memory_estimate.py --sizes 5000 --epochs 2
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from streamsim.core import config
from streamsim.sim import memory

ROOT = Path(__file__).resolve().parents[1]
MEASURE = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
           "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def scenario_for(listeners: int, epochs: int) -> tuple[str, list[str]]:
    """The baseline at ``listeners`` with one artist per ten listeners; large.toml at 100,000."""
    if listeners == 100_000:
        return "scenarios/large.toml", [f"run.epochs={epochs}"]
    return "scenarios/baseline.toml", [f"listeners.count={listeners}", f"artists.count={listeners // 10}",
                                       f"run.epochs={epochs}"]


def measure(path: str, sets: list[str], out: Path) -> tuple[float, float]:
    """(peak resident bytes, wall seconds) of one run as a whole process."""
    args = [sys.executable, "-m", "streamsim", "run", path, "--quiet", "--force", "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True, cwd=ROOT,
                          check=True)
    seconds = time.perf_counter() - start
    rc, kib = proc.stdout.split()[-2:]
    if rc != "0":
        raise SystemExit(f"run failed: {' '.join(args)}")
    return int(kib) * 1024.0, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 100000], help="listeners")
    parser.add_argument("--epochs", type=int, nargs="+", default=[3], help="epochs, one per size or one for all")
    args = parser.parse_args()
    epochs = args.epochs * len(args.sizes) if len(args.epochs) == 1 else args.epochs
    print(f"{'scenario':<36} {'epochs':>6} {'estimate GiB':>12} {'measured GiB':>12} {'ratio':>6} {'wall s':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for n, e in zip(args.sizes, epochs, strict=True):
            path, sets = scenario_for(n, e)
            est = memory.estimate(config.load(ROOT / path, sets)).total
            peak, seconds = measure(path, sets, Path(tmp))
            label = f"{Path(path).stem} {n:,} listeners"
            print(f"{label:<36} {e:>6} {est / memory.GB:>12.3f} {peak / memory.GB:>12.3f} {est / peak:>6.2f} "
                  f"{seconds:>7.0f}", flush=True)


if __name__ == "__main__":
    main()

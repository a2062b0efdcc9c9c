"""How long `streamsim validate` takes as a whole process (interpreter start, imports, checking).

Prints the median wall time and CPU time (user + system) of ``--repeat`` runs, the machine's
load average (wall time on a loaded machine measures the queue, CPU time does not), and the
heavy libraries the command imported (none is the goal: validating needs none of them).

    .venv/bin/python benchmarks/cli_startup.py
    .venv/bin/python benchmarks/cli_startup.py --repeat 20 scenarios/xl.toml
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numba", "llvmlite", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "mesa", "SALib", "dask")
IMPORTED = ("import sys; from streamsim.cli import app\n"
            "try:\n    app(['validate', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
            f"print('heavy:', *(m for m in {HEAVY!r} if m in sys.modules))")


def timed(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", nargs="?", default="scenarios/baseline.toml")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    exe = Path(sys.executable).with_name("streamsim")
    command = [str(exe), "validate", args.scenario]
    timed(command)  # warm the file cache
    walls, cpus = zip(*(timed(command) for _ in range(args.repeat)))
    heavy = subprocess.run([sys.executable, "-c", IMPORTED, args.scenario], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.splitlines()[-1].removeprefix("heavy:").strip()
    print(f"streamsim validate {args.scenario}: median wall {statistics.median(walls):.3f} s "
          f"(min {min(walls):.3f}), median CPU {statistics.median(cpus):.3f} s over {args.repeat} runs; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"heavy libraries imported: {heavy or 'none'}")


if __name__ == "__main__":
    main()

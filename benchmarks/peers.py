"""streamsim against T-RECS 0.2.1 on T-RECS's ImplicitMF workload, both timed as whole processes.

    .venv/bin/python benchmarks/peers.py --trecs-python /tmp/trecs/bin/python
    .venv/bin/python benchmarks/peers.py                 # streamsim only; T-RECS's last measured figure

The workload is scenarios/trecs_workload.toml for streamsim and benchmarks/trecs_workload.py
for T-RECS (10,000 users x 5,000 items, slate 10, 10 factors, 20 ALS iterations per step, 20
steps). Each side is one child process, timed from its start to its exit (interpreter start-up,
imports and compilation included), with its peak resident memory from wait4's rusage:

- streamsim cold: `streamsim run` with an empty numba cache (NUMBA_CACHE_DIR in a fresh folder),
  so every kernel is compiled: what a first run after install costs;
- streamsim warm: the same with the cache the cold run filled: every later run;
- T-RECS: `python benchmarks/trecs_workload.py` in an environment with T-RECS 0.2.1
  (``python3.8 -m venv /tmp/trecs && /tmp/trecs/bin/pip install trecs==0.2.1 "numpy<1.24"``;
  it pins pandas 1.0.5, and numpy 1.24 removed an alias it uses).

The ratios are T-RECS's wall time over each of streamsim's. Run on a quiet machine: the load
average before and after is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRECS_MEASURED = {"wall": 432.9, "peak_gb": 5.57, "when": "2026-11-30, 2-core machine, side by side"}
GOAL = 100.0


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak resident GiB, exit code) of one child process."""
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env if env is not None else dict(os.environ))
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 2**20, os.waitstatus_to_exitcode(status)


def streamsim_argv(out: str, sets: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "streamsim", "run", str(ROOT / "scenarios" / "trecs_workload.toml"),
            "--out", out, "--quiet"]
    for s in sets:
        argv += ["--set", s]
    return argv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trecs-python", type=Path, default=None,
                        help="python of an environment with trecs 0.2.1 (omit: print T-RECS's last measured figure)")
    parser.add_argument("--warm-runs", type=int, default=2, help="warm streamsim runs (the median is reported)")
    parser.add_argument("--set", action="append", default=[], dest="sets",
                        help="section.key=value for streamsim (a changed workload is not comparable)")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba-cache")}
        wall, peak, code = timed(streamsim_argv(str(Path(tmp) / "cold"), args.sets), env)
        if code != 0:
            sys.exit(f"streamsim failed (exit {code})")
        rows.append(("streamsim, cold numba cache", wall, peak))
        warm = []
        for r in range(args.warm_runs):
            wall, peak, code = timed(streamsim_argv(str(Path(tmp) / f"warm{r}"), args.sets), env)
            warm.append((wall, peak))
        warm.sort()
        rows.append(("streamsim, warm numba cache", *warm[len(warm) // 2]))
    if args.trecs_python is not None:
        script = str(ROOT / "benchmarks" / "trecs_workload.py")
        wall, peak, code = timed([str(args.trecs_python), script])
        if code != 0:
            sys.exit(f"T-RECS failed (exit {code})")
        trecs = ("T-RECS 0.2.1, measured now", wall, peak)
    else:
        trecs = (f"T-RECS 0.2.1 ({TRECS_MEASURED['when']})", TRECS_MEASURED["wall"], TRECS_MEASURED["peak_gb"])
    rows.append(trecs)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n{'process':<38} {'wall s':>8} {'peak GiB':>9} {'T-RECS / this':>14}")
    for name, wall, peak in rows:
        print(f"{name:<38} {wall:8.1f} {peak:9.2f} {trecs[1] / wall:13.1f}x")
    if args.sets:
        print("streamsim ran a changed workload (--set): the ratios are not comparable")
    best = trecs[1] / rows[1][1]
    print(f"\nwarm: {best:.0f}x, cold: {trecs[1] / rows[0][1]:.0f}x faster than T-RECS as whole processes "
          f"(goal {GOAL:.0f}x: {'met' if best >= GOAL else 'NOT met'}); memory {trecs[2] / rows[1][2]:.1f}x less")


if __name__ == "__main__":
    main()

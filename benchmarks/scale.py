"""How cost grows with platform size: seconds per epoch by phase, peak memory, and exponents.

    .venv/bin/python benchmarks/scale.py                        # 10k, 100k and 1M listeners
    .venv/bin/python benchmarks/scale.py --sizes 10000,100000   # the sizes that fit in a hurry
    .venv/bin/python benchmarks/scale.py --sizes 10000 --epochs 3 --set recommender.kind=popularity
    .venv/bin/python benchmarks/scale.py --results scale.json   # keep each size; rerun adds the missing ones

Each size is the baseline with listeners and artists scaled together (10,000 listeners per
1,000 artists, as scenarios/baseline.toml, large.toml and xl.toml), without burn-in and
without keeping the epoch's events (``outputs.keep_events = false``, as large and xl), run as
its own process (a StreamingModel stepped epoch by epoch, each record's metrics collected as a
run does: the "measures" column) so that its peak resident memory is its own. For each
size the table gives the model's seconds per phase divided by the epochs run, the same
for the steady epochs only (from the third on: epoch 0 fits an empty matrix and epoch 1 is
the cold fit, and the first epoch of a process may compile numba kernels), the peak resident
memory (getrusage of the child), the peak within each phase (the child's VmHWM, reset through
/proc/self/clear_refs as each phase starts) and, between consecutive sizes, the exponent b of
``cost ~ listeners^b`` per phase (1 = linear). A watchdog kills a run whose resident memory
passes ``--max-gb`` (default 20) rather than let the kernel's OOM killer take the machine.
The machine (CPU, cores, memory) and its load average before and after are printed, since
the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {10_000: "baseline.toml", 100_000: "large.toml", 1_000_000: "xl.toml"}
DEFAULT_EPOCHS = {10_000: 6, 100_000: 4, 1_000_000: 3}

CHILD = r"""
import contextlib, json, resource, sys, time
from streamsim.core import config
from streamsim.measures.registry import collect
from streamsim.measures.view import EpochView
from streamsim.sim.model import StreamingModel
path, sets = sys.argv[1], json.loads(sys.argv[2])
scenario = config.load(path, sets)
peaks = {}
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 2**20
    return float("nan")
phase = StreamingModel._phase
@contextlib.contextmanager
def watched(self, name):
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")            # the peak resident memory starts again from the current
    except OSError:
        pass
    with phase(self, name):
        yield
    peaks[name] = max(peaks.get(name, 0.0), hwm())
StreamingModel._phase = watched
t0 = time.perf_counter()
model = StreamingModel(scenario)
setup = time.perf_counter() - t0
per_epoch, last = [], {}
for _ in range(scenario.run.total_epochs):
    record = model.step()
    start = time.perf_counter()
    collect(EpochView(record, scenario))
    now = {**model.timings, "measures": last.get("measures", 0.0) + time.perf_counter() - start}
    per_epoch.append({k: v - last.get(k, 0.0) for k, v in now.items()})
    last = now
    print(f"epoch {model.epoch - 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in per_epoch[-1].items()),
          file=sys.stderr, flush=True)
print(json.dumps({"seconds": {"setup": setup, **last}, "per_epoch": per_epoch, "phase_peak_gb": peaks,
                  "wall": time.perf_counter() - t0,
                  # the kernel's maxrss restarts with each VmHWM reset: the peak is the larger of both
                  "maxrss_gb": max([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                                    *peaks.values()])}))
"""


def machine() -> str:
    """CPU model, logical cores and memory of this machine."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines()
                          if l.startswith("MemTotal")).split()[1])
        mem = f"{mem_kb / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "unknown memory"
    return f"{cpu}, {os.cpu_count()} logical cores, {mem}, Python {platform.python_version()}"


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def run_size(n: int, epochs: int, sets: list[str], max_gb: float) -> dict | None:
    """Run one size in a child process under a memory watchdog; None if it failed."""
    import psutil

    scenario = ROOT / "scenarios" / SCENARIOS.get(n, "baseline.toml")
    overrides = [f"listeners.count={n}", f"artists.count={max(n // 10, 1)}", f"run.epochs={epochs}",
                 "run.burn_in_epochs=0", "outputs.keep_events=false", *sets]
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(scenario), json.dumps(overrides)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    watched = psutil.Process(proc.pid)
    peak = 0.0
    while proc.poll() is None:
        try:
            rss = watched.memory_info().rss / 2**30
        except psutil.Error:
            break
        peak = max(peak, rss)
        if rss > max_gb:
            proc.kill()
            print(f"{n:,} listeners: killed at {rss:.1f} GiB resident (--max-gb {max_gb})", file=sys.stderr)
            proc.wait()
            return None
        time.sleep(0.5)
    out = proc.stdout.read()
    if proc.wait() != 0:
        print(f"{n:,} listeners: the run failed (exit {proc.returncode})", file=sys.stderr)
        return None
    res = json.loads(out.strip().splitlines()[-1])
    res["epochs"] = epochs
    return res


def exponent(c1: float, c2: float, n1: int, n2: int) -> float:
    return math.log(c2 / c1) / math.log(n2 / n1) if c1 > 0 and c2 > 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="listener counts, comma-separated")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per size (default 6, 4, 3)")
    parser.add_argument("--set", action="append", default=[], dest="sets", help="section.key=value")
    parser.add_argument("--max-gb", type=float, default=20.0, help="kill a run above this resident memory")
    parser.add_argument("--results", type=Path, default=None,
                        help="JSON file of measured sizes: sizes already in it are not run again, new "
                             "ones are added, and the table covers all of them (e.g. 1M in its own session)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {machine()}")
    print(f"load average before: {load()}")
    saved = json.loads(args.results.read_text()) if args.results and args.results.is_file() else {}
    results = {int(n): res for n, res in saved.items()}
    for n in sizes:
        if n in results:
            print(f"{n:,} listeners: measured before, from {args.results}", file=sys.stderr)
            continue
        epochs = args.epochs or DEFAULT_EPOCHS.get(n, 3)
        res = run_size(n, epochs, args.sets, args.max_gb)
        if res is not None:
            res["machine"], res["sets"] = machine(), args.sets
            results[n] = res
            if args.results:
                args.results.write_text(json.dumps({str(k): v for k, v in sorted(results.items())}, indent=1))
    results = dict(sorted(results.items()))
    for res in results.values():         # results saved before the peak took the phases' into account
        res["maxrss_gb"] = max([res["maxrss_gb"], *res.get("phase_peak_gb", {}).values()])
    print(f"load average after: {load()}")
    phases = []
    for res in results.values():
        phases += [k for k in res["seconds"] if k not in ("setup", "total") and k not in phases]

    def steady(res: dict, phase: str) -> float:
        rows = res["per_epoch"][2:] or res["per_epoch"][-1:]
        return sum(r.get(phase, 0.0) for r in rows) / len(rows)

    print(f"\n{'listeners':>10} {'epochs':>6} {'peak GiB':>8} {'s/epoch':>8} {'steady':>8}  "
          + " ".join(f"{p:>8}" for p in phases))
    for n, res in results.items():
        sec = res["seconds"]
        total = sum(sec.get(p, 0.0) for p in phases) / res["epochs"]
        st = sum(steady(res, p) for p in phases)
        print(f"{n:>10,} {res['epochs']:>6} {res['maxrss_gb']:8.2f} {total:8.2f} {st:8.2f}  "
              + " ".join(f"{sec.get(p, 0.0) / res['epochs']:8.2f}" for p in phases))
    print("(phase columns: manifest seconds / epochs; steady: mean of epochs 2 and later)")
    print("\npeak resident GiB within each phase (VmHWM, reset as the phase starts)")
    for n, res in results.items():
        peaks = res.get("phase_peak_gb", {})
        print(f"{n:>10,} " + " ".join(f"{p} {peaks[p]:.2f}" for p in phases if p in peaks))
    print("\nsteady seconds per epoch by phase")
    for n, res in results.items():
        print(f"{n:>10,} " + " ".join(f"{p} {steady(res, p):.2f}" for p in phases))
    ns = list(results)
    for a, b in zip(ns, ns[1:]):
        ra, rb = results[a], results[b]
        tot_a = sum(steady(ra, p) for p in phases)
        tot_b = sum(steady(rb, p) for p in phases)
        print(f"\nexponent b of cost ~ listeners^b, {a:,} -> {b:,} (steady epochs): all {exponent(tot_a, tot_b, a, b):.2f}; "
              + ", ".join(f"{p} {exponent(steady(ra, p), steady(rb, p), a, b):.2f}" for p in phases
                          if steady(ra, p) > 0.01 or steady(rb, p) > 0.01)
              + f"; peak memory {exponent(ra['maxrss_gb'], rb['maxrss_gb'], a, b):.2f}")


if __name__ == "__main__":
    main()

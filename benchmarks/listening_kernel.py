"""Throughput of the listening kernel, and the calibration figures C1, C2, C4.

    python benchmarks/listening_kernel.py                     # 100,000 listeners, exposures per second
    python benchmarks/listening_kernel.py --listeners 20000 --tracks 20000
    python benchmarks/listening_kernel.py --calibrate         # C1/C2/C4 beside their bands
    python benchmarks/listening_kernel.py --against OLD.py    # per-exposure time against another kernel

``--against`` loads a ``listen`` function from a file (e.g. an earlier listening.py, saved with
``git show COMMIT:streamsim/agents/listening.py > /tmp/old_listening.py``) and times it and the
current kernel alternately on the same inputs, in the same process: the ratio of their times per
exposure is what a shared or busy machine still measures reliably.

Set NUMBA_NUM_THREADS to choose the thread count. The timing excludes numba compilation (a
warm-up epoch runs first). It covers what the engine runs: ``listen_blocks``, block after block
of 65,536 listeners, each block dropped once counted (the kernel, the rerun of listeners that
overflow their slot, each block's compaction). ``--against`` times whole ``listen`` calls
(blocks joined into one Events table), the only entry point older kernels have.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time

import mesa
import numba
import numpy as np

from streamsim.agents.channels import Playlists, build_slates
from streamsim.agents.listeners import ListenerPopulation
from streamsim.agents.listening import listen, listen_blocks
from streamsim.studies.calibration import BANDS
from streamsim.testing import FakeLedger, calibration_run, synthetic_catalog
from streamsim.agents.world import World
from streamsim.core.config import Scenario


class CheapRecommender:
    """Slates drawn from the 2,000 most popular allowed tracks; radio = random tracks of the same genre.

    Only the kernel is being timed, so the stand-in recommender just has to be fast.
    """

    def __init__(self, catalog, popularity, rng):
        self.catalog, self.pop, self.rng = catalog, popularity, rng

    def recommend(self, users, k, exclude=None, allowed=None):
        ids = np.flatnonzero(allowed) if allowed is not None else np.arange(len(self.catalog))
        top = ids[np.argsort(-self.pop[ids], kind="stable")[:2000]]
        pick = self.rng.integers(0, len(top), (len(users), k))
        return top[pick].astype(np.int32), np.zeros((len(users), k), np.float32)

    def similar_items(self, items, k, allowed=None):
        genre = self.catalog.genre
        order = np.argsort(genre, kind="stable")
        starts = np.searchsorted(genre[order], np.arange(genre.max() + 2))
        g = genre[items].astype(np.int64)
        size = starts[g + 1] - starts[g]
        off = (self.rng.random((len(items), k)) * size[:, None]).astype(np.int64)
        return order[starts[g][:, None] + off].astype(np.int32), np.zeros((len(items), k), np.float32)


def load_listen(path: str):
    """The ``listen`` function of a kernel module given as a file."""
    spec = importlib.util.spec_from_file_location("reference_listening", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module       # numba's cache finds the module of a cached kernel by name
    spec.loader.exec_module(module)
    return module.listen


def throughput(n_listeners: int, n_tracks: int, epochs: int, seed: int, against: str | None = None) -> None:
    sc = Scenario().replace(**{"listeners.count": n_listeners})
    rng = np.random.default_rng(seed)
    world = World.generate(sc, rng)
    t0 = time.perf_counter()
    catalog, prior = synthetic_catalog(sc, world, n_tracks, rng)
    pop = ListenerPopulation(mesa.Model(rng=np.random.default_rng(seed)), sc, world, np.random.default_rng(seed))
    rec = CheapRecommender(catalog, prior, np.random.default_rng(seed))
    ledger = FakeLedger(prior)
    G, cap = world.n_genres, sc.channels.editorial_capacity
    items = np.full((G, cap), -1, np.int32)
    for g in range(G):
        ids = np.flatnonzero(catalog.genre == g)
        ids = ids[np.argsort(-prior[ids], kind="stable")][:cap]
        items[g, :len(ids)] = ids
    playlists = Playlists(items, np.arange(G, dtype=np.int16))
    pop.plays_total[:] = sc.listeners.cf_min_interactions   # warm listeners: the common path
    pop.seed_libraries(catalog, rng, prior.astype(np.float64))
    slates = build_slates(pop, catalog, world, ledger, rec, playlists, sc, 0, rng)
    print(f"inputs: {n_listeners:,} listeners, {n_tracks:,} tracks, built in {time.perf_counter() - t0:.1f} s; "
          f"numba threads {numba.get_num_threads()}")

    t0 = time.perf_counter()
    listen(pop, slates, catalog, sc, 0, seed)
    print(f"first call (compilation or cache load included): {time.perf_counter() - t0:.2f} s")
    if against:
        compare(load_listen(against), pop, slates, catalog, sc, epochs, seed)
        return
    rates, cpu_rates = [], []
    threads = numba.get_num_threads()
    for epoch in range(1, epochs + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        n = sum(len(block) for block in listen_blocks(pop, slates, catalog, sc, epoch, seed))
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        rates.append(n / dt)
        cpu_rates.append(n / dc * threads)
        print(f"epoch {epoch}: {n:,} exposures in {dt:.3f} s wall, {dc:.3f} s CPU = "
              f"{n / dt / 1e6:.1f} M exposures/s wall; {n / dc / 1e6:.1f} M per CPU-second "
              f"({n / n_listeners:.0f} per listener)")
    print(f"median: {np.median(rates) / 1e6:.1f} M exposures/s wall clock on {threads} threads; "
          f"{np.median(cpu_rates) / 1e6:.1f} M/s if the {threads} threads had their cores to themselves "
          f"(CPU-time based; the machine may be shared)")


def compare(reference, pop, slates, catalog, sc, epochs: int, seed: int) -> None:
    """Time the reference kernel and the current one alternately; print ns per exposure and the ratio."""
    reference(pop, slates, catalog, sc, 0, seed)          # compile or load the reference
    wall = {"reference": [], "current": []}
    cpu = {"reference": [], "current": []}
    for epoch in range(1, epochs + 1):
        for name, fn in (("reference", reference), ("current", listen)):
            t0, c0 = time.perf_counter(), time.process_time()
            ev = fn(pop, slates, catalog, sc, epoch, seed)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            wall[name].append(dt / len(ev) * 1e9)
            cpu[name].append(dc / len(ev) * 1e9)
            print(f"epoch {epoch} {name:9s}: {len(ev):,} exposures in {dt:.3f} s wall, {dc:.3f} s CPU = "
                  f"{wall[name][-1]:.1f} ns each wall, {cpu[name][-1]:.1f} CPU")
    for label, t in (("wall", wall), ("CPU", cpu)):
        ref, cur = np.median(t["reference"]), np.median(t["current"])
        print(f"median {label} ns per exposure: reference {ref:.1f}, current {cur:.1f}; "
              f"current / reference = {cur / ref:.3f} on {numba.get_num_threads()} threads")


def calibrate(n_listeners: int, n_tracks: int, epochs: int, seed: int) -> None:
    rows = calibration_run(Scenario(), n_listeners=n_listeners, n_tracks=n_tracks, epochs=epochs, seed=seed)
    last = rows[-1]
    print(f"calibration after {epochs} epochs ({n_listeners:,} listeners, {n_tracks:,} tracks, "
          f"noisy-oracle recommender); epoch 0 is the cold start")
    print(f"{'figure':28s} {'epoch 0':>9s} {'last':>9s}   band")
    for key in last:
        if key == "epoch":
            continue
        band = BANDS.get(key)
        mark = "" if band is None else ("ok" if band[0] <= last[key] <= band[1] else "OUT")
        band_s = "" if band is None else f"{band[0]:g}-{band[1]:g} {mark}"
        print(f"{key:28s} {rows[0][key]:9.3f} {last[key]:9.3f}   {band_s}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listeners", type=int, default=None)
    ap.add_argument("--tracks", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--calibrate", action="store_true", help="print C1, C2, C4 beside their bands")
    ap.add_argument("--against", default=None, help="a listening.py to time alternately with the current kernel")
    a = ap.parse_args()
    if a.calibrate:
        calibrate(a.listeners or 5000, a.tracks or 20000, a.epochs or 12, a.seed)
    else:
        throughput(a.listeners or 100_000, a.tracks or 50_000, a.epochs or 3, a.seed, a.against)


if __name__ == "__main__":
    main()

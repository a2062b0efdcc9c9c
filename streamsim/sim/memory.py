"""The memory guard: a run's peak resident memory, estimated from the scenario before anything is allocated.

The estimate is a documented formula (docs/MODEL.md section 1, "Memory"): expected sizes
(listeners, artists and tracks at the end of the run, exposures per epoch, interaction pairs),
each times the bytes it costs. The bytes per unit are in :class:`Coefficients`; the ones that
follow from dtypes are derived there, the rest (the fixed base and the per-exposure cost of
an epoch's temporaries) were fitted to measured peaks with ``benchmarks/memory_estimate.py``,
which prints estimate against measurement. When the engine's memory changes, re-run
that script and update :data:`COEFFICIENTS`.

This module is pure Python arithmetic, imported by ``streamsim validate`` without numpy.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from streamsim.core.config import Scenario
from streamsim.core.units import EPOCHS_PER_YEAR

GB = 1024.0 ** 3
AVAILABLE_ENV = "STREAMSIM_MEMORY_AVAILABLE"
"""Environment variable that overrides the memory treated as available (bytes, or with a unit:
``8G``, ``512M``), e.g. on a machine shared with other jobs."""


def _c(value: float, unit: str, doc: str) -> Any:
    return field(default=value, metadata={"unit": unit, "doc": doc})


@dataclass(frozen=True)
class Coefficients:
    """Bytes per unit of each size, and the measured rates behind the sizes.

    Each field documents itself (``metadata["doc"]``); docs/MODEL.md holds the table that
    :func:`coefficient_table` renders (a test checks it is current).
    """

    base: float = _c(310e6, "B", "the interpreter, numpy, scipy, numba, pandas, pyarrow and the compiled "
                                  "kernels: the peak of a 100-listener run")
    listener: float = _c(120.0, "B/listener", "a listener row besides taste and slates: budget, openness, "
                                              "attention, mix (population and slates), satisfaction, flags, tallies")
    taste_float: float = _c(4.0, "B/listener/dim", "taste, float32 per style dimension")
    slate_item: float = _c(16.0, "B/listener/slot", "personalised slate: item int32 + score float32, this "
                                                    "epoch's and last epoch's")
    library_item: float = _c(40.0, "B/saved track", "the library CSR (int32 + float32) and the slates' copy "
                                                    "with cumulative weights (int32 + float64), two epochs")
    track: float = _c(100.0, "B/track", "a catalog row besides style, audio and tags: lengths, quality, ids, "
                                        "flags, the ledger's six int64 tallies")
    track_float: float = _c(4.0, "B/track/dim", "style and audio embeddings, float32 per dimension")
    tag: float = _c(2.0, "B/track/tag", "culture tags, int16")
    neighbour: float = _c(8.0, "B/track/neighbour", "radio neighbour lists (int32 item and row index)")
    factor: float = _c(16.0, "B/row/factor", "latent factors of listeners and tracks (float32): the fit's, "
                                            "the previous fit's, the transposed item factors, serving buffers")
    pair: float = _c(32.0, "B/pair", "a stored (listener, track) interaction: the decayed matrix (float32 + "
                                     "int32), the fit's weighted copy and transpose, the ledger's copies")
    heard_pair: float = _c(24.0, "B/pair", "a pair heard within exclude_heard_epochs: the last-heard matrix "
                                           "and the exclusion mask built from it")
    window_track: float = _c(16.0, "B/track/epoch", "the threshold window: streamed track id + count (int64) "
                                                    "per epoch of the window")
    slot: float = _c(14.0, "B/slot", "the listening kernel's first-pass buffers (int32 track, int8 channel, "
                                     "float32 seconds and utility, bool saved), kept between epochs; their "
                                     "spare 25 % is never written, so never resident")
    slot_seconds: float = _c(60.0, "s", "budget seconds per slot (agents/listening.py SLOT_SECONDS)")
    slot_extra: float = _c(16.0, "slots/listener", "extra slots per listener (agents/listening.py SLOT_EXTRA)")
    slot_block: float = _c(65_536, "listeners", "listeners per kernel call (agents/listening.py BLOCK)")
    exposure: float = _c(28.0, "B/exposure", "an epoch's exposures at any size: the events the ledger keeps "
                                             "(18 B) and derives (6 B), and the share of the peak phase's "
                                             "temporaries the allocator returns; fitted")
    exposure_heap: float = _c(62.0, "B/exposure", "temporaries of the peak phase (compaction, the ledger's sparse "
                                                  "updates, stream table, metrics) that stay in the heap, for the "
                                                  "first heap_exposures exposures; fitted")
    heap_exposures: float = _c(32 * 2 ** 20 / 4, "exposures", "glibc serves a freed block's size from the heap "
                                                              "up to 32 MiB (its largest mmap threshold): "
                                                              "4-byte columns of more exposures are mmapped "
                                                              "and returned to the system when freed")
    epoch_pair: float = _c(28.0, "B/pair", "a (listener, track) pair of the epoch before it is merged into the "
                                           "matrices: listener, track, signal, streams and sought (4 B each) "
                                           "and streamed seconds (8 B); held whole when the events are not")
    seconds_per_exposure: float = _c(124.0, "s", "budget an exposure uses on average (skips short, "
                                                 "completions long); baseline")
    pairs_per_exposure: float = _c(0.23, "pairs/exposure", "interaction pairs after one epoch; baseline")
    pairs_growth: float = _c(0.48, "", "pairs after E epochs grow as E^pairs_growth; baseline year")
    heard_per_exposure: float = _c(0.37, "pairs/exposure", "pairs heard in one epoch; baseline")
    heard_growth: float = _c(0.52, "", "heard pairs over E <= exclude_heard_epochs epochs grow as "
                                       "E^heard_growth; baseline")
    saves_per_exposure: float = _c(0.009, "saves/exposure", "tracks saved to libraries; baseline year")
    streamed_track_share: float = _c(0.7, "", "share of the catalog streamed in an epoch; baseline")


def coefficient_table(co: Coefficients | None = None) -> str:
    """The coefficients as a markdown table (docs/MODEL.md, "Memory")."""
    co = co or COEFFICIENTS
    lines = ["| coefficient | value | unit | what it counts |", "|---|---|---|---|"]
    for f in fields(Coefficients):
        lines.append(f"| `{f.name}` | {getattr(co, f.name):g} | {f.metadata['unit']} | {f.metadata['doc']} |")
    return "\n".join(lines) + "\n"


COEFFICIENTS = Coefficients()
"""The coefficients in use; update them from ``benchmarks/memory_estimate.py``."""

FACTOR_MODELS = ("als", "bpr")


@dataclass(frozen=True)
class Sizes:
    """Expected sizes of a run (means, not bounds), from the scenario alone."""

    epochs: int
    listeners: float          # rows at the end (arrivals and bots included; churned rows stay)
    active_listeners: float   # listening in an epoch
    artists: float
    tracks: float             # at the end of the run
    exposures: float          # per epoch
    slots: float              # the kernel's first-pass buffer
    pairs: float              # stored interactions at the end
    heard_pairs: float
    library_items: float


@dataclass(frozen=True)
class MemoryEstimate:
    """A run's estimated peak resident memory, by part (bytes)."""

    sizes: Sizes
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.parts.values())


def expected_sizes(sc: Scenario, co: Coefficients = COEFFICIENTS) -> Sizes:
    """Expected listeners, artists, tracks, exposures and interaction pairs of a run.

    Listeners: ``count`` plus ``arrival_rate * count`` a week (churned rows stay) plus bots.
    Artists: ``count * (1 + entry_rate)^epochs``. Tracks: the back catalog, each artist
    releasing ``release_rate * (1 + fame_release_boost / fame_pareto_shape)`` a week (E[ln fame]
    is 1 / shape) over its active part of the window (ages are exponential at the entry rate),
    plus the releases of every epoch. Exposures: active listeners' mean budget
    ``median * exp(sigma^2 / 2)`` over ``seconds_per_exposure``, plus the bots' streams.
    """
    e = sc.run.total_epochs  # burn-in epochs run too
    lis, art, cat = sc.listeners, sc.artists, sc.catalog
    bots = sc.fraud.bots
    active = lis.count * (1.0 + lis.arrival_rate * e / 2.0)  # arrivals outpace churn (baseline year: +24 %)
    listeners = lis.count * (1.0 + lis.arrival_rate * e) + bots
    artists = art.count * (1.0 + art.entry_rate) ** e
    rate = art.release_rate * (1.0 + art.fame_release_boost / art.fame_pareto_shape)
    window = round(cat.back_catalog_years * EPOCHS_PER_YEAR)
    g = art.entry_rate
    age = (1.0 - math.exp(-g * window)) / g if g > 0 else float(window)
    per_epoch = art.releases_per_epoch if art.releases_per_epoch >= 0 else rate * (art.count + artists) / 2
    tracks = art.count * rate * age + per_epoch * e + (sc.fraud.tracks if bots else 0)
    budget_s = lis.budget_median_min * 60.0 * math.exp(lis.budget_sigma ** 2 / 2.0)
    if lis.choice == "slate_argmax":
        exposures = active
    else:
        exposures = active * budget_s / co.seconds_per_exposure
    exposures += bots * sc.fraud.streams_per_bot
    slots = min(active, co.slot_block) * (budget_s / co.slot_seconds + co.slot_extra)
    heard_epochs = min(e, max(sc.recommender.exclude_heard_epochs, 1))
    pairs = min(co.pairs_per_exposure * exposures * e ** co.pairs_growth, listeners * tracks)
    heard = min(co.heard_per_exposure * exposures * heard_epochs ** co.heard_growth, listeners * tracks)
    library = listeners * lis.initial_library + co.saves_per_exposure * exposures * e
    return Sizes(e, listeners, active, artists, tracks, exposures, slots, pairs, heard, library)


def estimate(sc: Scenario, co: Coefficients = COEFFICIENTS) -> MemoryEstimate:
    """The peak resident memory of running ``sc``, by part (docs/MODEL.md, "Memory")."""
    s = expected_sizes(sc, co)
    w, ch, rec = sc.world, sc.channels, sc.recommender
    factors = rec.factors if rec.kind in FACTOR_MODELS else 0
    window = min(s.epochs, sc.payouts.threshold.window_epochs)
    parts = {
        "base": co.base,
        "listeners": s.listeners * (co.listener + co.taste_float * w.d_style + co.slate_item * ch.slate_size),
        "library": s.library_items * co.library_item,
        "catalog": s.tracks * (co.track + co.track_float * (w.d_style + w.audio_dim)
                               + co.tag * sc.catalog.tags_per_track + co.neighbour * ch.radio_neighbours),
        "factors": (s.listeners + s.tracks) * factors * co.factor,
        "interactions": s.pairs * co.pair + s.heard_pairs * co.heard_pair,
        "threshold_window": s.tracks * co.streamed_track_share * window * co.window_track,
        "kernel_slots": s.slots * co.slot,
        "exposures": _exposures(s, sc.outputs.keep_events, co),
    }
    return MemoryEstimate(s, parts)


def _exposures(s: Sizes, keep_events: bool, co: Coefficients) -> float:
    """An epoch's exposures: all of them kept, or a block of listeners' in flight and the
    epoch's (listener, track) pairs (docs/MODEL.md, "Memory")."""
    if keep_events:
        return s.exposures * co.exposure + min(s.exposures, co.heap_exposures) * co.exposure_heap
    block = s.exposures * min(co.slot_block / max(s.active_listeners, 1.0), 1.0)
    return (block * co.exposure + min(block, co.heap_exposures) * co.exposure_heap
            + co.heard_per_exposure * s.exposures * co.epoch_pair)


def _parse_bytes(text: str) -> int:
    text = text.strip().upper().removesuffix("B")
    scale = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def available_bytes() -> int | None:
    """Memory available to a new run: ``$STREAMSIM_MEMORY_AVAILABLE`` if set, else the kernel's
    MemAvailable (/proc/meminfo), lowered to the cgroup v2 limit's headroom if one is set.
    None when neither can be read (not Linux)."""
    override = os.environ.get(AVAILABLE_ENV)
    if override:
        return _parse_bytes(override)
    try:
        meminfo = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    avail = next((int(line.split()[1]) * 1024 for line in meminfo.splitlines()
                  if line.startswith("MemAvailable:")), None)
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max" and avail is not None:
            avail = min(avail, int(limit) - used)
    except (OSError, ValueError):
        pass
    return avail


def describe(est: MemoryEstimate, available: int | None) -> str:
    """A few words: the estimate, and the memory available when known."""
    text = f"peak memory about {est.total / GB:.1f} GiB"
    if available is not None:
        text += f" of {available / GB:.1f} GiB available"
        if est.total > available:
            text += ": too much, `run` refuses it without --force"
    return text


if __name__ == "__main__":
    print(coefficient_table(), end="")

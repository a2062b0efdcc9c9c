"""One epoch of exposures as equal-length columns: what the listening kernel emits."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numba as nb
import numpy as np


@dataclass
class Events:
    """Exposures of one epoch.

    Attributes:
        listener: listener id of each exposure.
        track: track id.
        channel: index into ``sim.config.CHANNELS``.
        seconds: seconds played.
        utility: realised true utility (noise included).
        saved: the play added the track to the listener's library.
    """

    listener: np.ndarray
    track: np.ndarray
    channel: np.ndarray
    seconds: np.ndarray
    utility: np.ndarray
    saved: np.ndarray

    DTYPES = {"listener": np.int32, "track": np.int32, "channel": np.int8,
              "seconds": np.float32, "utility": np.float32, "saved": np.bool_}

    def __post_init__(self) -> None:
        n = len(self.listener)
        for f in fields(self):
            col = np.asarray(getattr(self, f.name), dtype=self.DTYPES[f.name])
            if col.shape != (n,):
                raise ValueError(f"Events.{f.name}: shape {col.shape}, expected ({n},)")
            setattr(self, f.name, col)

    def __len__(self) -> int:
        return len(self.listener)

    @classmethod
    def empty(cls) -> Events:
        return cls(**{name: np.zeros(0, dtype) for name, dtype in cls.DTYPES.items()})

    @classmethod
    def concat(cls, parts: list[Events]) -> Events:
        if not parts:
            return cls.empty()
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in cls.DTYPES})


@nb.njit(cache=True)
def aggregate_pairs(listener, track, signal, streams, sought, n_listeners):
    """Sum signal (float32), streams and sought (int8 or int32) per (listener, track) pair.

    A counting sort by listener, then a stable sort of each listener's tracks, so float sums
    run in event order: linear in exposures. Returns (listener int32, track int32, signal
    float32, streams int32, sought int32), rows sorted by listener, then track.
    """
    n = len(listener)
    start = np.zeros(n_listeners + 1, np.int64)
    for i in range(n):
        start[listener[i] + 1] += 1
    for g in range(n_listeners):
        start[g + 1] += start[g]
    pos = start[:-1].copy()
    by = np.empty(n, np.int64)
    for i in range(n):
        by[pos[listener[i]]] = i
        pos[listener[i]] += 1
    out_l = np.empty(n, np.int32)
    out_t = np.empty(n, np.int32)
    out_v = np.zeros(n, np.float32)
    out_s = np.zeros(n, np.int32)
    out_q = np.zeros(n, np.int32)
    m = 0
    for g in range(n_listeners):
        a, b = start[g], start[g + 1]
        if a == b:
            continue
        seg = by[a:b]
        order = np.argsort(track[seg], kind="mergesort")
        prev = -1
        for o in order:
            i = seg[o]
            t = track[i]
            if t != prev:
                out_l[m] = g
                out_t[m] = t
                m += 1
                prev = t
            out_v[m - 1] += signal[i]
            out_s[m - 1] += streams[i]
            out_q[m - 1] += sought[i]
    return out_l[:m].copy(), out_t[:m].copy(), out_v[:m].copy(), out_s[:m].copy(), out_q[:m].copy()

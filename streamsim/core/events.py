"""One epoch of exposures as equal-length columns: what the listening kernel emits."""

from __future__ import annotations

from dataclasses import dataclass, fields

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

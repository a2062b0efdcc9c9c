"""The catalog: every track ever released, as growing columns (struct of arrays).

Track ids are row numbers and never change; tracks are only ever appended. Columns are
numpy arrays sliced to the live length, so ``catalog.length_s[ids]`` is a plain gather.
"""

from __future__ import annotations

import numpy as np

from streamsim.agents.columns import Columns

# name -> (dtype, trailing shape key); the shape key names an attribute giving the width.
_COLUMNS: dict[str, tuple[type, str | None]] = {
    "artist": (np.int32, None),
    "genre": (np.int16, None),
    "style": (np.float32, "d_style"),
    "quality": (np.float32, None),
    "length_s": (np.float32, None),
    "intro_s": (np.float32, None),
    "release_epoch": (np.int32, None),
    "audio": (np.float32, "audio_dim"),
    "tags": (np.int16, "tags_per_track"),
    "explicit": (np.bool_, None),
    "regions": (np.uint32, None),
    "fraud": (np.bool_, None),
}


class Catalog:
    """Growing columnar store of tracks.

    Attributes (each sliced to ``len(catalog)``):
        artist: artist id of each track.
        genre: genre of the track's artist at release.
        style: (n, d_style) unit vectors in the hidden style space.
        quality: intrinsic quality, in the units of artist talent.
        length_s: track length (seconds).
        intro_s: time to the hook (seconds).
        release_epoch: epoch of release; negative for the back catalog.
        audio: (n, audio_dim) what an audio model would see of the style.
        tags: (n, tags_per_track) culture-tag ids.
        explicit: explicit-content flag.
        regions: bitmask of the regions where the track is available.
        fraud: track belongs to a stream farm.
    """

    def __init__(self, d_style: int, audio_dim: int, tags_per_track: int, capacity: int = 1024):
        self.d_style = d_style
        self.audio_dim = audio_dim
        self.tags_per_track = tags_per_track
        spec = {name: (dtype, () if width is None else (getattr(self, width),))
                for name, (dtype, width) in _COLUMNS.items()}
        self._store = Columns(spec, capacity)

    def __len__(self) -> int:
        return self._store.n

    def __getattr__(self, name: str) -> np.ndarray:
        store = self.__dict__.get("_store")
        if store is not None and name in store:
            return store[name]
        raise AttributeError(name)

    def append(self, **columns: np.ndarray) -> np.ndarray:
        """Append tracks given as equal-length columns; return their new ids.

        Every column of the catalog must be given, so no track is ever half-described.
        """
        missing = set(_COLUMNS) - set(columns)
        extra = set(columns) - set(_COLUMNS)
        if missing or extra:
            raise ValueError(f"catalog.append: missing {sorted(missing)}, unknown {sorted(extra)}")
        return self._store.append(columns)

    def available(self, region: int) -> np.ndarray:
        """Boolean mask of tracks available in a region."""
        return (self.regions & np.uint32(1 << region)) != 0

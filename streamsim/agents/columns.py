"""Equal-length numpy columns that grow by appending: the storage of the catalog and the artists."""

from __future__ import annotations

import numpy as np


class Columns:
    """Named columns of one length, with spare capacity doubled when an append overflows.

    Args:
        spec: column name -> (dtype, trailing shape), e.g. ``{"style": (np.float32, (8,))}``.
        capacity: rows allocated at first.
    """

    def __init__(self, spec: dict[str, tuple[type, tuple[int, ...]]], capacity: int = 64):
        self.arrays = {name: np.zeros((capacity,) + tail, dtype=dtype) for name, (dtype, tail) in spec.items()}
        self.n = 0

    def __contains__(self, name: str) -> bool:
        return name in self.arrays

    def __getitem__(self, name: str) -> np.ndarray:
        """The live rows of a column (a view: writes go to the store)."""
        return self.arrays[name][: self.n]

    def append(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """Append rows given as equal-length columns (columns not given stay zero); return their ids."""
        sizes = {len(v) for v in columns.values()}
        if len(sizes) != 1:
            raise ValueError(f"append: columns of different lengths {sorted(sizes)}")
        start = self.n
        end = start + sizes.pop()
        capacity = len(next(iter(self.arrays.values())))
        if end > capacity:
            new_cap = max(end, 2 * capacity)
            for name, col in self.arrays.items():
                grown = np.zeros((new_cap,) + col.shape[1:], dtype=col.dtype)
                grown[:start] = col[:start]
                self.arrays[name] = grown
        for name, values in columns.items():
            self.arrays[name][start:end] = values
        self.n = end
        return np.arange(start, end, dtype=np.int32)

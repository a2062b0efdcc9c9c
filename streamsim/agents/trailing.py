"""Sums over a trailing window of epochs, per entity, for populations that only grow."""

from __future__ import annotations

from collections import deque

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _unique_keys_by_group(group, item, shift):
    """The sorted unique keys ``group << shift | item`` of pairs whose groups are non-decreasing:
    each group's items sorted on their own, so the cost is a sort per group, not one of all."""
    n = len(group)
    out = np.empty(n, np.int64)
    m = 0
    a = 0
    while a < n:
        b = a + 1
        while b < n and group[b] == group[a]:
            b += 1
        items = np.sort(item[a:b])
        hi = np.int64(group[a]) << shift
        for k in range(len(items)):
            if k == 0 or items[k] != items[k - 1]:
                out[m] = hi | np.int64(items[k])
                m += 1
        a = b
    return out[:m].copy()


class TrailingSum:
    """Per-entity sums of the last ``window`` epochs' values (entities only ever appended).

    Each epoch's values are kept sparsely (the entities with a non-zero value), so a window of
    52 weekly stream counts costs the non-zero entries, not 52 full arrays.

    Args:
        window: epochs in the window.
        dtype: dtype of the values and the sums.
    """

    def __init__(self, window: int, dtype: type = np.float64):
        self.window = window
        self.dtype = dtype
        self._epochs: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._total = np.zeros(0, dtype)

    @property
    def epochs(self) -> int:
        """Epochs held: the number added so far, at most the window."""
        return len(self._epochs)

    def add(self, values: np.ndarray) -> None:
        """Add one epoch's values (one per entity; entities beyond them count zero); drop the oldest."""
        values = np.asarray(values, self.dtype)
        self.grow(len(values))
        touched = np.flatnonzero(values)
        self._epochs.append((touched, values[touched]))
        self._total[touched] += values[touched]
        if len(self._epochs) > self.window:
            old, counts = self._epochs.popleft()
            self._total[old] -= counts

    def grow(self, n: int) -> None:
        """Make room for n entities (new ones start at zero)."""
        if len(self._total) < n:
            self._total = np.concatenate([self._total, np.zeros(n - len(self._total), self.dtype)])

    def total(self, n: int | None = None) -> np.ndarray:
        """The window's sum per entity (a copy), padded with zeros to n entities."""
        self.grow(n or 0)
        return self._total[: n if n is not None else len(self._total)].copy()


class DistinctPairs:
    """Distinct (group, item) pairs over the last ``window`` epochs, e.g. (listener, artist).

    Each epoch's pairs are kept as one sorted array of unique keys ``group << 32 | item``; their
    union over the window is a stable sort of the concatenated sorted runs (a merge) and a
    comparison of neighbours, so a group that met an item in several epochs counts once.
    """

    _SHIFT = np.int64(32)
    _MASK = np.int64(0xFFFFFFFF)

    def __init__(self, window: int):
        self.window = window
        self._epochs: deque[np.ndarray] = deque()

    @property
    def epochs(self) -> int:
        """Epochs held: the number added so far, at most the window."""
        return len(self._epochs)

    def add(self, group: np.ndarray, item: np.ndarray) -> None:
        """Add one epoch's pairs (duplicates allowed); drop the oldest epoch beyond the window."""
        group, item = np.asarray(group), np.asarray(item)
        if len(group) == 0 or np.all(group[1:] >= group[:-1]):      # a stream table: by listener
            self._epochs.append(_unique_keys_by_group(group, item, self._SHIFT))
        else:
            self._epochs.append(np.unique((group.astype(np.int64) << self._SHIFT) | item.astype(np.int64)))
        if len(self._epochs) > self.window:
            self._epochs.popleft()

    def groups_per_item(self, n_items: int) -> np.ndarray:
        """float64[n_items]: distinct groups that met each item within the window."""
        if not self._epochs:
            return np.zeros(n_items)
        keys = np.sort(np.concatenate(list(self._epochs)), kind="stable")
        keys = keys[np.concatenate([np.ones(min(len(keys), 1), bool), keys[1:] != keys[:-1]])]
        item = keys & self._MASK
        return np.bincount(item, minlength=n_items)[:n_items].astype(np.float64)

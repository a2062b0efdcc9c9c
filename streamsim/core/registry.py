"""Registries: named payout rules, recommenders and metrics, each declared in one place.

An entry is registered by the module that defines it (a decorator or ``add``). Built-in entries
live in modules above this bottom layer, so a registry imports them by name the first time it is
read; a plugin registers itself by being imported before the scenario is validated.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered mapping from names to entries of one kind.

    Args:
        kind: what the entries are, for error messages ("payout rule").
        builtins: modules that register the built-in entries when imported.
    """

    def __init__(self, kind: str, builtins: tuple[str, ...] = ()):
        self.kind = kind
        self._builtins = builtins
        self._loaded = not builtins
        self._entries: dict[str, T] = {}

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in self._builtins:
                importlib.import_module(module)

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` under ``name``; a name can be registered once. Built-ins are
        loaded first, so they keep their places ahead of plugins."""
        self._load()
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def register(self, name: str, **meta: Any) -> Callable[[Any], Any]:
        """Decorator form of :meth:`add`: ``entry_of(obj, name=name, **meta)`` is registered."""
        def wrap(obj: Any) -> Any:
            self.add(name, self.entry_of(obj, name=name, **meta))
            return obj
        return wrap

    def entry_of(self, obj: Any, **meta: Any) -> T:
        """What the decorator stores for ``obj`` (the object itself unless a subclass says)."""
        return obj

    def names(self) -> tuple[str, ...]:
        """Registered names, built-ins first, in registration order."""
        self._load()
        return tuple(self._entries)

    def __getitem__(self, name: str) -> T:
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; expected one of {', '.join(self._entries)}") from None

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def items(self) -> list[tuple[str, T]]:
        self._load()
        return list(self._entries.items())


PAYOUT_RULES: Registry[Any] = Registry("payout rule", builtins=("streamsim.economics.rules",))
"""Payout rules by name: ``PAYOUT_RULES[name]`` is a :class:`streamsim.economics.rules.Rule`."""

RECOMMENDERS: Registry[Any] = Registry("recommender", builtins=("streamsim.recommender.kinds",))
"""Recommender kinds by name: a factory ``(RecommenderConfig, SeedSequence) -> Recommender`` or
None (kind "none"), or a "module:attribute" string naming one, resolved when first built."""

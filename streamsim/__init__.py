"""streamsim: an agent-based simulator of a music-streaming ecosystem.

The public API (see :mod:`streamsim.api`)::

    import streamsim
    result = streamsim.simulate(streamsim.load("scenarios/baseline.toml", listeners__count=1000), epochs=3)

Names are imported on first use, so ``import streamsim`` stays quick.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Result", "Scenario", "ScenarioError", "SweepTables", "load", "open_run", "open_sweep", "run",
           "simulate", "sweep"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from streamsim import api

        return getattr(api, name)
    raise AttributeError(f"module 'streamsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

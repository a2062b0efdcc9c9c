"""Random streams: one seed per run, one child stream per named phase and epoch.

Every phase of an epoch draws from its own generator, keyed by (phase, epoch) under the run's
seed rather than by the order of calls. A mechanism that draws only when it is switched on
(adaptation, fraud, exploration) therefore never shifts the draws of another phase, so runs of
two configurations with the same seed share their random numbers wherever they can (the
common random numbers the sweeps rely on).
"""

from __future__ import annotations

import numpy as np

PHASES = ("history", "entry", "release", "drift", "editors", "libraries", "slates", "farm", "adapt",
          "update", "metrics")
"""The named phases. A phase's key is its position here: append new phases, never reorder."""


def phase_rng(root: np.random.SeedSequence, epoch: int, phase: str) -> np.random.Generator:
    """The generator of ``phase`` in ``epoch`` (epoch -1 for draws made before the first epoch)."""
    key = PHASES.index(phase) + 1
    seq = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, key, epoch + 1))
    return np.random.default_rng(seq)

"""A new payout rule in one file: "capped fan", pro-rata with at most 10 streams a week counted
per listener and artist, so one listener's loop of an artist cannot buy a bigger share.

Importing this module registers the rule: ``payouts.active = "capped_fan"`` validates, every
run settles it beside the built-in rules, and metrics.parquet gains its column family
(``payout_gini_capped_fan``, ...), artists.parquet a ``payout_capped_fan`` column.
"""

from __future__ import annotations

import numpy as np

from streamsim.economics.rules import RuleInputs, payout_rule
from streamsim.economics.tables import sum_by

CAP = 10.0
"""Streams per listener and artist per week that count (this example's own constant)."""


@payout_rule("capped_fan", label="capped fan", colour="#8c564b")
def capped_fan(x: RuleInputs) -> np.ndarray:
    t = x.table
    key = t.listener.astype(np.int64) * max(x.n_artists, 1) + t.artist
    pair, inverse = np.unique(key, return_inverse=True)
    per_pair = np.bincount(inverse, weights=t.streams, minlength=len(pair))
    counted = t.streams * np.minimum(1.0, CAP / np.maximum(per_pair[inverse], 1e-12))
    weights = sum_by(t.track, counted, x.n_tracks)
    total = weights.sum()
    return x.pool * weights / total if total > 0 else np.zeros(x.n_tracks)

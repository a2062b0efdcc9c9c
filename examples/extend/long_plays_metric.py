"""A new metric in one file: the share of plays heard to at least 90 % of the track.

Importing this module registers it: every run's metrics.parquet gains the column
``long_play_share``, and the plots, summaries and docs tables can name it.
"""

from __future__ import annotations

import numpy as np

from streamsim.measures.registry import metric


@metric("long_play_share", unit="share of plays (0-1)", label="plays heard to 90 %",
        doc="plays with seconds ≥ 0.9 · length / plays", group="Listeners")
def long_play_share(view) -> float:
    events = view.record.events
    if events is None:
        raise ValueError("long_play_share reads each exposure: set outputs.keep_events = true")
    if len(events) == 0:
        return 0.0
    length = np.asarray(view.record.tracks.length_s)[events.track]
    return float(np.mean(events.seconds >= 0.9 * length))

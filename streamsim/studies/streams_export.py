"""The streams export (``outputs.save_streams``): every epoch's settlement, to audit the payouts.

Four tables, one row group per epoch:

- ``streams``: the streams the rules settled, per (epoch, listener, track);
- ``listeners``: per (epoch, listener) who existed at settlement: plan, activity, bot flag,
  revenue and total streams;
- ``tracks``: per (epoch, track streamed that epoch): streams and trailing-window streams (the
  threshold rule);
- ``settlement``: one row per epoch: sizes, pool, scale and every rule's bars.

With them and ``config.toml`` each rule can be recomputed by the public functions of
``streamsim.economics`` (docs/MODEL.md section 5, "Auditing the payouts"). A run writes them
epoch by epoch (:class:`StreamsWriter`), so memory stays flat; :func:`streamsim.simulate`
keeps them in memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from streamsim.economics.rules import ArtistCentricBars, threshold_bar
from streamsim.economics.tables import sum_by

if TYPE_CHECKING:
    from streamsim.core.config import PayoutsConfig
    from streamsim.sim.record import EpochRecord

FILES = ("streams", "listeners", "tracks", "settlement")


def settlement_tables(record: EpochRecord, cfg: PayoutsConfig) -> dict[str, pa.Table]:
    """The four tables of one epoch (columns in docs/MODEL.md).

    Args:
        record: the epoch's record.
        cfg: the payouts section of the scenario that ran.
    """
    t = record.table
    n_l = len(record.revenue)
    n_t, n_a = len(record.tracks.artist), len(record.artists.tier)
    epoch = record.epoch
    streams = {
        "epoch": np.full(len(t), epoch, np.int32), "listener_id": t.listener, "track_id": t.track,
        "artist_id": t.artist, "streams": t.streams.astype(np.int32), "sought_streams": t.sought.astype(np.int32),
    }
    listeners = {
        "epoch": np.full(n_l, epoch, np.int32), "listener_id": np.arange(n_l, dtype=np.int32),
        "premium": np.asarray(record.listeners.premium[:n_l], bool), "active": record.settled_active[:n_l],
        "bot": np.asarray(record.listeners.is_bot[:n_l], bool), "revenue": record.revenue,
        "streams": sum_by(t.listener, t.streams, n_l).astype(np.int32),
    }
    per_track = sum_by(t.track, t.streams, n_t)
    ids = np.flatnonzero(per_track).astype(np.int32)
    tracks = {
        "epoch": np.full(len(ids), epoch, np.int32), "track_id": ids,
        "artist_id": np.asarray(record.tracks.artist, np.int32)[ids], "streams": per_track[ids].astype(np.int32),
        "trailing_streams": np.asarray(record.trailing_streams, np.int64)[ids],
    }
    sc = record.scale
    bars = ArtistCentricBars.of(cfg, sc)
    settlement = {
        "epoch": [epoch], "n_listeners": [n_l], "n_tracks": [n_t], "n_artists": [n_a],
        "revenue": [float(np.sum(record.revenue))], "pool": [record.pool],
        "scale_track": [sc.track], "scale_artist": [sc.artist], "history_epochs": [record.history_epochs],
        "threshold_bar": [threshold_bar(cfg, sc, record.history_epochs)],
        "artist_streams_bar": [bars.artist_streams], "artist_listeners_bar": [bars.artist_listeners],
        "listener_cap": [bars.listener_cap],
    }
    return {"streams": pa.table(streams), "listeners": pa.table(listeners), "tracks": pa.table(tracks),
            "settlement": pa.table(settlement)}


class StreamsWriter:
    """Appends each epoch's tables to ``<folder>/<name>.parquet.tmp``; :meth:`close` renames them.

    Args:
        folder: the run's (partial) folder.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._writers: dict[str, pq.ParquetWriter] = {}

    def write(self, tables: dict[str, pa.Table]) -> None:
        """Append one epoch's tables."""
        for name, table in tables.items():
            if name not in self._writers:
                self._writers[name] = pq.ParquetWriter(self._tmp(name), table.schema)
            self._writers[name].write_table(table)

    def close(self) -> None:
        """Finish every file (a run with no epoch writes none)."""
        for name, writer in self._writers.items():
            writer.close()
            os.replace(self._tmp(name), self.folder / f"{name}.parquet")
        self._writers = {}

    def _tmp(self, name: str) -> Path:
        return self.folder / f"{name}.parquet.tmp"

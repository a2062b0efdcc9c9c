"""The streams export (``outputs.save_streams``): every epoch's settlement, to audit the payouts.

Five tables, one row group per epoch:

- ``streams``: the streams the rules settled, per (epoch, listener, track), with their seconds
  (the duration rule);
- ``listeners``: per (epoch, listener) who existed at settlement: plan, activity, bot flag,
  revenue and total streams;
- ``tracks``: per (epoch, track streamed that epoch): streams, trailing-window streams and
  length (the threshold rule and its minimum length);
- ``artist_windows``: per (epoch, artist streamed within the artist-centric rule's rolling
  window): the window's streams and distinct listeners (the rule's bars);
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
from streamsim.economics.tables import ArtistWindow, sum_by

if TYPE_CHECKING:
    from streamsim.core.config import PayoutsConfig
    from streamsim.sim.record import EpochRecord

FILES = ("streams", "listeners", "tracks", "artist_windows", "settlement")


def settlement_tables(record: EpochRecord, cfg: PayoutsConfig) -> dict[str, pa.Table]:
    """The five tables of one epoch (columns in docs/MODEL.md).

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
        "seconds": t.seconds if t.seconds is not None else np.full(len(t), np.nan),
    }
    listeners = {
        "epoch": np.full(n_l, epoch, np.int32), "listener_id": np.arange(n_l, dtype=np.int32),
        "premium": np.asarray((record.listeners.premium if record.settled_premium is None
                               else record.settled_premium)[:n_l], bool), "active": record.settled_active[:n_l],
        "bot": np.asarray(record.listeners.is_bot[:n_l], bool),
        "ad_weight": np.ones(n_l) if record.ad_weight is None else np.asarray(record.ad_weight[:n_l], np.float64),
        "revenue": record.revenue,
        "streams": sum_by(t.listener, t.streams, n_l).astype(np.int32),
    }
    per_track = sum_by(t.track, t.streams, n_t)
    ids = np.flatnonzero(per_track).astype(np.int32)
    tracks = {
        "epoch": np.full(len(ids), epoch, np.int32), "track_id": ids,
        "artist_id": np.asarray(record.tracks.artist, np.int32)[ids], "streams": per_track[ids].astype(np.int32),
        "trailing_streams": np.asarray(record.trailing_streams, np.int64)[ids],
        "length_s": np.asarray(record.tracks.length_s, np.float64)[ids],
    }
    window = record.artist_window if record.artist_window is not None else ArtistWindow.of(t, n_a)
    in_window = np.flatnonzero(window.streams[:n_a]).astype(np.int32)
    artists = {
        "epoch": np.full(len(in_window), epoch, np.int32), "artist_id": in_window,
        "window_streams": window.streams[in_window], "window_listeners": window.listeners[in_window],
    }
    sc = record.scale
    bars = ArtistCentricBars.of(cfg, sc, window.epochs)
    settlement = {
        "epoch": [epoch], "n_listeners": [n_l], "n_tracks": [n_t], "n_artists": [n_a],
        "revenue": [float(np.sum(record.revenue))], "pool": [record.pool],
        "scale_track": [sc.track], "scale_artist": [sc.artist], "history_epochs": [record.history_epochs],
        "threshold_bar": [threshold_bar(cfg, sc, record.history_epochs)],
        "artist_streams_bar": [bars.artist_streams], "artist_listeners_bar": [bars.artist_listeners],
        "listener_cap": [bars.listener_cap], "artist_window_epochs": [window.epochs],
    }
    return {"streams": pa.table(streams), "listeners": pa.table(listeners), "tracks": pa.table(tracks),
            "artist_windows": pa.table(artists), "settlement": pa.table(settlement)}


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

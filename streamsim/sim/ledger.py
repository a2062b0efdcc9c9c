"""The ledger: the one record of what was played, and the tallies everything else reads.

Each epoch the ledger takes the exposures the listeners produced, derives streams and
completions, updates per-track and per-listener tallies, and folds the epoch into the decayed
interaction matrix ``R_t = decay * R_{t-1} + dR_t`` that the recommender trains on.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from streamsim.agents.catalog import Catalog
from streamsim.agents.trailing import DistinctPairs, TrailingSum
from streamsim.core.codes import SOUGHT
from streamsim.core.config import Scenario
from streamsim.core.events import Events
from streamsim.economics.tables import ArtistWindow, StreamTable, sum_by



def _grow(a: np.ndarray, n: int) -> np.ndarray:
    if len(a) >= n:
        return a
    out = np.zeros(n, dtype=a.dtype)
    out[: len(a)] = a
    return out


def _resize(m: sp.csr_matrix, shape: tuple[int, int]) -> sp.csr_matrix:
    if m.shape == shape:
        return m
    m = m.copy()
    m.resize(shape)
    return m


class Ledger:
    """Events, tallies and the decayed interaction matrix.

    Attributes:
        events: the last epoch's exposures.
        stream, completed, artist: per-exposure columns derived from ``events``.
        track_streams_total: streams of each track since epoch 0 (int64).
        track_streams_last: streams of each track in the last epoch.
        track_streams_prev: streams of each track in the epoch before.
        track_plays_last, track_early_skips_last: plays and early skips (< 30 s, not completed).
        listener_plays_total: plays of each listener since it joined.
        table: the last epoch's streams per (listener, track), with seconds.
    """

    def __init__(self, scenario: Scenario):
        self.decay = scenario.recommender.decay
        self.threshold_s = scenario.listeners.behaviour.stream_threshold_s
        self.skip_signal = scenario.listeners.behaviour.skip_signal
        self.heard_epochs = max(scenario.recommender.exclude_heard_epochs, 1)
        self.epoch = -1
        self.events = Events.empty()
        self.stream = np.zeros(0, bool)
        self.completed = np.zeros(0, bool)
        self.artist = np.zeros(0, np.int32)
        self.track_streams_total = np.zeros(0, np.int64)
        self.track_streams_last = np.zeros(0, np.int64)
        self.track_streams_prev = np.zeros(0, np.int64)
        self.track_plays_last = np.zeros(0, np.int64)
        self.track_early_skips_last = np.zeros(0, np.int64)
        self.listener_plays_total = np.zeros(0, np.int64)
        self._R = sp.csr_matrix((0, 0), dtype=np.float32)
        self._last_heard = sp.csr_matrix((0, 0), dtype=np.float32)  # epoch + 1 of the last play
        self._track_window = TrailingSum(scenario.payouts.threshold.window_epochs, np.int64)
        window = scenario.payouts.artist_centric.window_epochs
        self._artist_streams = TrailingSum(window)
        self._artist_listeners = DistinctPairs(window)
        self.table = StreamTable.empty()

    def seed_history(self, track_streams: np.ndarray) -> None:
        """Start the per-track stream history from a prior (the pre-run back catalog's plays)."""
        counts = np.asarray(track_streams, dtype=np.int64)
        self.track_streams_total = _grow(self.track_streams_total, len(counts))
        self.track_streams_total[: len(counts)] += counts
        self.track_streams_last = _grow(self.track_streams_last, len(counts))
        self.track_streams_last[: len(counts)] = counts
        self.track_streams_prev = self.track_streams_last.copy()

    def extend(self, n_listeners: int, n_tracks: int) -> None:
        """Grow the tallies to cover new listeners and tracks (zeros until they are played)."""
        for name in ("track_streams_total", "track_streams_last", "track_streams_prev",
                     "track_plays_last", "track_early_skips_last"):
            setattr(self, name, _grow(getattr(self, name), n_tracks))
        self._track_window.grow(n_tracks)
        self.listener_plays_total = _grow(self.listener_plays_total, n_listeners)

    def record(self, events: Events, catalog: Catalog, n_listeners: int, epoch: int) -> None:
        """Take one epoch of exposures: derive streams, update tallies and the matrix."""
        n_tracks = len(catalog)
        self.epoch = epoch
        self.events = events
        length = catalog.length_s[events.track]
        self.stream = events.seconds >= self.threshold_s
        self.completed = events.seconds >= length
        self.artist = catalog.artist[events.track]

        self.extend(n_listeners, n_tracks)
        self.track_streams_prev = self.track_streams_last.copy()
        self.track_streams_last = np.bincount(events.track[self.stream], minlength=n_tracks).astype(np.int64)
        self.track_streams_total += self.track_streams_last
        self.track_plays_last = np.bincount(events.track, minlength=n_tracks).astype(np.int64)
        early = (events.seconds < self.threshold_s) & ~self.completed
        self.track_early_skips_last = np.bincount(events.track[early], minlength=n_tracks).astype(np.int64)
        self.listener_plays_total += np.bincount(events.listener, minlength=n_listeners).astype(np.int64)

        self._track_window.add(self.track_streams_last)
        self.table = StreamTable.from_events(events.listener, events.track, self.stream,
                                             np.isin(events.channel, SOUGHT), catalog.artist, n_tracks,
                                             events.seconds)
        self._remember_artist_pairs(catalog.artist)

        signal = np.where(self.stream, np.minimum(events.seconds / np.maximum(length, 1.0), 1.0),
                          np.float32(self.skip_signal)).astype(np.float32)
        keep = signal != 0
        shape = (n_listeners, n_tracks)
        delta = sp.csr_matrix((signal[keep], (events.listener[keep], events.track[keep])), shape=shape,
                              dtype=np.float32)
        R = _resize(self._R, shape) * np.float32(self.decay) + delta
        R.data[R.data < 0] = 0
        R.eliminate_zeros()
        R.sort_indices()
        self._R = R.astype(np.float32)
        heard = sp.csr_matrix((np.ones(len(events), np.float32), (events.listener, events.track)), shape=shape)
        heard.sum_duplicates()
        heard.data[:] = epoch + 1
        last = _resize(self._last_heard, shape).maximum(heard).tocsr()
        last.data[last.data <= epoch + 1 - self.heard_epochs] = 0
        last.eliminate_zeros()
        self._last_heard = last

    def interactions(self, n_listeners: int | None = None, n_tracks: int | None = None) -> sp.csr_matrix:
        """The decayed listener x track matrix (float32, entries > 0), padded to the given shape."""
        shape = (n_listeners or self._R.shape[0], n_tracks or self._R.shape[1])
        return _resize(self._R, shape)

    def recent_heard(self, n_listeners: int, n_tracks: int, epochs: int | None = None) -> sp.csr_matrix:
        """Listener x track pairs played within the last ``epochs`` epochs (boolean CSR).

        ``epochs`` is at most ``exclude_heard_epochs`` (the memory the ledger keeps).
        """
        epochs = min(epochs or self.heard_epochs, self.heard_epochs)
        last = _resize(self._last_heard, (n_listeners, n_tracks))
        if epochs < self.heard_epochs:
            last = last.copy()
            last.data[last.data <= self.epoch + 1 - epochs] = 0
            last.eliminate_zeros()
        return last.astype(bool)

    def track_streams_window(self, n_tracks: int | None = None) -> np.ndarray:
        """Streams of each track over the trailing payout window (threshold rule)."""
        return self._track_window.total(n_tracks)

    def streams_table(self) -> StreamTable:
        """The last epoch's streams aggregated per (listener, track), with seconds, for the payout rules."""
        return self.table

    def _remember_artist_pairs(self, track_artist: np.ndarray) -> None:
        t = self.table
        self._artist_streams.add(sum_by(t.artist, t.streams, int(track_artist.max(initial=-1)) + 1))
        streamed = t.streams > 0
        self._artist_listeners.add(t.listener[streamed], t.artist[streamed])

    def artist_window(self, n_artists: int) -> ArtistWindow:
        """Streams and distinct listeners of each artist over the artist-centric rule's rolling
        window (a listener who streamed an artist in several weeks counts once)."""
        return ArtistWindow(self._artist_streams.total(n_artists), self._artist_listeners.groups_per_item(n_artists),
                            self._artist_listeners.epochs)

"""The ledger: the one record of what was played, and the tallies everything else reads.

Each epoch the ledger takes the exposures the listeners produced, derives streams and
completions, updates per-track and per-listener tallies, and folds the epoch into the decayed
interaction matrix ``R_t = decay * R_{t-1} + dR_t`` that the recommender trains on. Entries that
decay below ``recommender.prune_below`` are dropped, so the matrix stays bounded.

An epoch can be taken whole (`record`) or in chunks as the listening kernel produces them
(`begin`, `add` per chunk, `finish`): between chunks the ledger keeps only per-track and
per-listener tallies and the epoch's (listener, track) pairs, aggregated, never the exposures
themselves (unless asked to, for the per-exposure readers of today: `keep_events`).

Memory, by dtype (L listeners, T tracks, E exposures in a chunk, P distinct pairs of the epoch,
N stored entries of the matrix):

- per-track tallies: 6 x int64[T]; per-listener: int64[L];
- the matrix: float32 data and int32 indices (int64 beyond 2**31 entries) [N], int32/int64 indptr [L+1];
- the last-heard matrix: uint16 epochs (run.epochs <= 10,000) over the pairs heard within
  ``exclude_heard_epochs``;
- one chunk in flight: its events plus bool stream/completed, int32 artist and a float32 signal [E];
- the epoch's pairs: int32 listener, int32 track, float32 signal, int32 streams, int32 sought,
  float64 seconds [P];
- the payout windows: the nonzero per-track and per-artist stream counts and the distinct
  (listener, artist) pairs of the last ``window_epochs`` epochs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
import scipy.sparse as sp

from streamsim.agents.catalog import Catalog
from streamsim.agents.trailing import DistinctPairs, TrailingSum
from streamsim.core.codes import SOUGHT
from streamsim.core.config import Scenario
from streamsim.core.events import Events
from streamsim.economics.counting import aggregate_pairs
from streamsim.economics.tables import ArtistWindow, StreamTable, sum_by


def _grow(a: np.ndarray, n: int) -> np.ndarray:
    if len(a) >= n:
        return a
    out = np.zeros(n, dtype=a.dtype)
    out[: len(a)] = a
    return out


def pad_rows(m: sp.csr_matrix, shape: tuple[int, int]) -> sp.csr_matrix:
    """``m`` seen with more rows and/or columns (empty), sharing its data and indices: no copy."""
    if m.shape == shape:
        return m
    if shape[0] < m.shape[0] or shape[1] < m.shape[1]:
        m = m[: shape[0], : shape[1]]
        if m.shape == shape:
            return m
    indptr = m.indptr
    if shape[0] > m.shape[0]:
        indptr = np.concatenate([indptr, np.full(shape[0] - m.shape[0], indptr[-1], indptr.dtype)])
    return sp.csr_matrix((m.data, m.indices, indptr), shape=shape, copy=False)


@dataclass
class Derived:
    """Per-exposure columns the ledger derives from a chunk of events.

    Attributes:
        stream: bool, a royalty-bearing stream (seconds >= stream_threshold_s).
        completed: bool, played to the end (seconds >= the track's length).
        artist: int32 artist of the track.
    """

    stream: np.ndarray
    completed: np.ndarray
    artist: np.ndarray


@nb.njit(inline="always")
def _merge_row(r, indptr, indices, data, scale, p_ptr, p_idx, p_val, replace, keep_from, out_idx, out_val,
               k, write):
    """Row r of `_merge` from position k of the output; returns the position after it."""
    n_old = len(indptr) - 1
    a = indptr[r] if r < n_old else 0
    b = indptr[r + 1] if r < n_old else 0
    c, d = p_ptr[r], p_ptr[r + 1]
    while a < b or c < d:
        if c >= d or (a < b and indices[a] < p_idx[c]):
            j = indices[a]
            v = scale * data[a]
            a += 1
        elif a < b and indices[a] == p_idx[c]:
            j = indices[a]
            v = p_val[c] if replace else scale * data[a] + p_val[c]
            a += 1
            c += 1
        else:
            j = p_idx[c]
            v = p_val[c]
            c += 1
        if v != 0 and abs(v) >= keep_from:
            if write:
                out_idx[k] = j
                out_val[k] = v
            k += 1
    return k


@nb.njit(parallel=True, cache=True)
def _merge(indptr, indices, data, scale, p_ptr, p_idx, p_val, replace, keep_from):
    """Merge a CSR matrix with sorted pairs row by row: ``scale * old + new`` (``new`` where a
    pair is present, if `replace`), keeping nonzero entries with magnitude >= keep_from.

    Two passes over the rows, in parallel (count, then fill) so the result is allocated once
    at its exact size; each row is computed alone, so threads do not change it.
    """
    n_rows = len(p_ptr) - 1
    counts = np.zeros(n_rows + 1, np.int64)
    out_idx = np.empty(0, indices.dtype)
    out_val = np.empty(0, data.dtype)
    for r in nb.prange(n_rows):
        counts[r + 1] = _merge_row(r, indptr, indices, data, scale, p_ptr, p_idx, p_val, replace, keep_from,
                                   out_idx, out_val, 0, False)
    for r in range(n_rows):
        counts[r + 1] += counts[r]
    out_idx = np.empty(counts[n_rows], indices.dtype)
    out_val = np.empty(counts[n_rows], data.dtype)
    for r in nb.prange(n_rows):
        _merge_row(r, indptr, indices, data, scale, p_ptr, p_idx, p_val, replace, keep_from,
                   out_idx, out_val, counts[r], True)
    return counts, out_idx, out_val


@nb.njit(cache=True)
def _derive(listener, track, channel, seconds, length_s, track_artist, threshold_s, skip_signal, sought_channel,
            track_streams, track_plays, track_early_skips, listener_plays):
    """One pass over a chunk of exposures: each one's stream and completion flags, artist, the
    matrix signal (the played fraction, or ``skip_signal`` for an early skip), sought stream
    flag and streamed seconds; the per-track and per-listener tallies are added in place."""
    n = len(track)
    stream = np.empty(n, np.bool_)
    completed = np.empty(n, np.bool_)
    artist = np.empty(n, np.int32)
    signal = np.empty(n, np.float32)
    sought = np.empty(n, np.int8)
    streamed = np.empty(n, np.float64)
    for i in range(n):
        t = track[i]
        s = seconds[i]
        length = length_s[t]
        st = s >= threshold_s
        done = s >= length
        stream[i] = st
        completed[i] = done
        artist[i] = track_artist[t]
        track_plays[t] += 1
        listener_plays[listener[i]] += 1
        if st:
            track_streams[t] += 1
            streamed[i] = s
        else:
            streamed[i] = 0.0
        if not st and not done:
            track_early_skips[t] += 1
            signal[i] = skip_signal
        else:
            signal[i] = min(s / max(length, np.float32(1.0)), np.float32(1.0))
        sought[i] = 1 if st and sought_channel[channel[i]] else 0
    return stream, completed, artist, signal, sought, streamed


def merge_pairs(m: sp.csr_matrix, n_rows: int, p_listener: np.ndarray, p_track: np.ndarray,
                p_value: np.ndarray, scale: float, replace: bool, keep_from: float,
                shape: tuple[int, int]) -> sp.csr_matrix:
    """``scale * m + pairs`` (or the pair's value where present if `replace`), dropping entries
    of magnitude below `keep_from` and zeros; pairs sorted by (row, column), unique."""
    p_ptr = np.zeros(n_rows + 1, np.int64)
    np.cumsum(np.bincount(p_listener, minlength=n_rows), out=p_ptr[1:])
    idx_dtype = m.indices.dtype if len(m.indices) else np.int32
    if m.nnz + len(p_track) >= 2**31:
        idx_dtype = np.int64
    dt = m.data.dtype.type
    counts, idx, val = _merge(m.indptr.astype(np.int64, copy=False), m.indices.astype(idx_dtype, copy=False),
                              m.data, dt(scale), p_ptr, p_track.astype(idx_dtype, copy=False),
                              p_value.astype(m.data.dtype, copy=False), replace, dt(keep_from))
    return sp.csr_matrix((val, idx, counts.astype(idx_dtype)), shape=shape, copy=False)


class Ledger:
    """Events, tallies and the decayed interaction matrix.

    Attributes:
        events: the last epoch's exposures (kept only by `record`, or `begin(keep_events=True)`).
        stream, completed, artist: per-exposure columns derived from ``events`` (idem).
        track_streams_total: streams of each track since epoch 0 (int64).
        track_streams_last: streams of each track in the last epoch.
        track_streams_prev: streams of each track in the epoch before.
        track_plays_last, track_early_skips_last: plays and early skips (before the stream
            threshold and not completed).
        listener_plays_total: plays of each listener since it joined.
        n_exposures: exposures of the last epoch.
        touched_listeners, touched_tracks: int32 rows and columns of the interaction matrix
            that the last epoch added to (None before the first epoch): what a warm fit re-solves.
    """

    def __init__(self, scenario: Scenario):
        rc = scenario.recommender
        self.decay = rc.decay
        self.prune_below = rc.prune_below
        self.threshold_s = scenario.listeners.behaviour.stream_threshold_s
        self.skip_signal = scenario.listeners.behaviour.skip_signal
        self.heard_epochs = max(rc.exclude_heard_epochs, 1)
        self.epoch = -1
        self.events = Events.empty()
        self.stream = np.zeros(0, bool)
        self.completed = np.zeros(0, bool)
        self.artist = np.zeros(0, np.int32)
        self.n_exposures = 0
        self.touched_listeners: np.ndarray | None = None
        self.touched_tracks: np.ndarray | None = None
        self.track_streams_total = np.zeros(0, np.int64)
        self.track_streams_last = np.zeros(0, np.int64)
        self.track_streams_prev = np.zeros(0, np.int64)
        self.track_plays_last = np.zeros(0, np.int64)
        self.track_early_skips_last = np.zeros(0, np.int64)
        self.listener_plays_total = np.zeros(0, np.int64)
        self._R = sp.csr_matrix((0, 0), dtype=np.float32)
        self._last_heard = sp.csr_matrix((0, 0), dtype=np.uint16)  # epoch + 1 of the last play
        self._track_window = TrailingSum(scenario.payouts.threshold.window_epochs, np.int64)
        window = scenario.payouts.artist_centric.window_epochs
        self._artist_streams = TrailingSum(window)
        self._artist_listeners = DistinctPairs(window)
        self._artist_streams_last = np.zeros(0)
        self._table = StreamTable.empty()
        self._open = False

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

    # -- one epoch, whole or in chunks ---------------------------------------------------------
    def record(self, events: Events, catalog: Catalog, n_listeners: int, epoch: int) -> None:
        """Take one whole epoch of exposures (keeps them: ``events``, ``stream``, ...)."""
        self.begin(catalog, n_listeners, epoch, keep_events=True)
        self.add(events)
        self.finish()

    def begin(self, catalog: Catalog, n_listeners: int, epoch: int, keep_events: bool = False) -> None:
        """Open an epoch; `add` then takes its exposures in any number of chunks.

        Args:
            catalog: the catalog (track lengths and artists), complete for the epoch.
            n_listeners: listeners (rows of the matrix) this epoch.
            epoch: the epoch number.
            keep_events: also keep the exposures and their derived columns (``events``,
                ``stream``, ``completed``, ``artist``) for readers that need them whole.
        """
        if self._open:
            raise RuntimeError("Ledger.begin: the previous epoch was not finished")
        self._open = True
        self._catalog = catalog
        self._n_listeners = n_listeners
        self._n_tracks = len(catalog)
        self._keep = keep_events
        self._chunks: list[tuple[Events, Derived]] = []
        self._pairs: list[tuple[np.ndarray, ...]] = []
        self.epoch = epoch
        self.n_exposures = 0
        self.extend(n_listeners, self._n_tracks)
        self.track_streams_prev = self.track_streams_last
        n_t = self._n_tracks
        self.track_streams_last = np.zeros(n_t, np.int64)
        self.track_plays_last = np.zeros(n_t, np.int64)
        self.track_early_skips_last = np.zeros(n_t, np.int64)

    def add(self, events: Events) -> Derived:
        """Take one chunk of the open epoch's exposures; returns its derived columns.

        Chunks may come in any order and split listeners anyhow; blocks of whole listeners in
        increasing id (as the listening kernel makes them) are the cheapest to finish.
        """
        if not self._open:
            raise RuntimeError("Ledger.add: no open epoch (call begin first)")
        cat = self._catalog
        sought_channel = np.zeros(max(int(events.channel.max(initial=0)), max(SOUGHT)) + 1, np.bool_)
        sought_channel[list(SOUGHT)] = True
        stream, completed, artist, signal, sought, seconds = _derive(
            events.listener, events.track, events.channel, events.seconds, cat.length_s, cat.artist,
            np.float32(self.threshold_s), np.float32(self.skip_signal), sought_channel,
            self.track_streams_last, self.track_plays_last, self.track_early_skips_last, self.listener_plays_total)
        derived = Derived(stream, completed, artist)
        self.n_exposures += len(events)
        self._pairs.append(aggregate_pairs(events.listener, events.track, signal, stream.view(np.int8),
                                            sought, seconds, self._n_listeners))
        if self._keep:
            self._chunks.append((events, derived))
        return derived

    def finish(self) -> None:
        """Close the epoch: fold its pairs into the matrices, the payout window and the stream table."""
        if not self._open:
            raise RuntimeError("Ledger.finish: no open epoch")
        n_l, n_t, epoch = self._n_listeners, self._n_tracks, self.epoch
        self.track_streams_total += self.track_streams_last
        self._track_window.add(self.track_streams_last)

        lis, trk, sig, streams, sought, seconds = self._epoch_pairs()
        shape = (n_l, n_t)
        nz = sig != 0
        self.touched_listeners = np.flatnonzero(np.bincount(lis[nz], minlength=n_l)).astype(lis.dtype)
        self.touched_tracks = np.flatnonzero(np.bincount(trk[nz], minlength=n_t)).astype(trk.dtype)
        self._R = merge_pairs(pad_rows(self._R, shape), n_l, lis[nz], trk[nz], sig[nz],
                              self.decay, False, self.prune_below, shape)
        heard_value = np.full(len(lis), epoch + 1, np.uint16)
        self._last_heard = merge_pairs(pad_rows(self._last_heard, shape), n_l, lis, trk, heard_value,
                                       1, True, max(epoch + 2 - self.heard_epochs, 0), shape)
        st = streams > 0
        self._table = StreamTable(lis[st], trk[st], self._catalog.artist[trk[st]], streams[st], sought[st],
                                  seconds[st])
        self._remember_artist_pairs(self._catalog.artist)
        if self._keep:
            parts = self._chunks
            self.events = Events.concat([e for e, _ in parts])
            self.stream = np.concatenate([d.stream for _, d in parts]) if parts else np.zeros(0, bool)
            self.completed = np.concatenate([d.completed for _, d in parts]) if parts else np.zeros(0, bool)
            self.artist = np.concatenate([d.artist for _, d in parts]) if parts else np.zeros(0, np.int32)
        else:
            self.events = Events.empty()
            self.stream = self.completed = np.zeros(0, bool)
            self.artist = np.zeros(0, np.int32)
        self._chunks, self._pairs, self._catalog = [], [], None
        self._open = False

    def _epoch_pairs(self) -> tuple[np.ndarray, ...]:
        """The epoch's (listener, track) pairs with summed signal, streams, sought streams and
        streamed seconds."""
        parts = self._pairs
        if not parts:
            z = np.zeros(0, np.int32)
            return z, z, np.zeros(0, np.float32), z, z, np.zeros(0)
        if len(parts) == 1:
            return parts[0]
        ordered = all(len(a[0]) == 0 or len(b[0]) == 0 or a[0][-1] < b[0][0] for a, b in zip(parts, parts[1:]))
        parts = [list(p) for p in parts]
        self._pairs = []
        cols = []
        for c in range(6):             # column by column, each block's copy let go once joined
            cols.append(np.concatenate([p[c] for p in parts]))
            for p in parts:
                p[c] = None
        lis = cols[0]
        if ordered and np.all(lis[1:] >= lis[:-1]):
            return tuple(cols)                 # listener blocks in order: already unique and sorted
        return aggregate_pairs(*cols, self._n_listeners)

    # -- readers ---------------------------------------------------------------------------------
    def interactions(self, n_listeners: int | None = None, n_tracks: int | None = None) -> sp.csr_matrix:
        """The decayed listener x track matrix (float32), padded to the given shape: a view
        sharing the ledger's arrays, do not modify it.

        Entries > 0 are plays; entries < 0 are pairs whose early skips (``skip_signal`` < 0
        each) outweigh their decayed plays: dislikes, in `implicit`'s sense (preference 0,
        confidence from the magnitude). With ``skip_signal`` = 0 every entry is > 0.
        """
        shape = (n_listeners or self._R.shape[0], n_tracks or self._R.shape[1])
        return pad_rows(self._R, shape)

    def recent_heard(self, n_listeners: int, n_tracks: int, epochs: int | None = None) -> sp.csr_matrix:
        """Listener x track pairs played within the last ``epochs`` epochs (boolean CSR sharing the
        ledger's index arrays: do not modify it).

        ``epochs`` is at most ``exclude_heard_epochs`` (the memory the ledger keeps).
        """
        epochs = min(epochs or self.heard_epochs, self.heard_epochs)
        last = pad_rows(self._last_heard, (n_listeners, n_tracks))
        if epochs < self.heard_epochs:
            last = last.copy()
            last.data[last.data <= self.epoch + 1 - epochs] = 0
            last.eliminate_zeros()
        return sp.csr_matrix((last.data.astype(bool), last.indices, last.indptr), shape=last.shape,
                             copy=False)      # the index arrays shared, not copied

    def track_streams_window(self, n_tracks: int | None = None) -> np.ndarray:
        """Streams of each track over the trailing payout window (threshold rule)."""
        return self._track_window.total(n_tracks)

    def streams_table(self) -> StreamTable:
        """The last epoch's streams aggregated per (listener, track), with seconds, for the payout rules."""
        return self._table

    def _remember_artist_pairs(self, track_artist: np.ndarray) -> None:
        t = self._table
        self._artist_streams_last = sum_by(t.artist, t.streams, int(track_artist.max(initial=-1)) + 1)
        self._artist_streams.add(self._artist_streams_last)
        self._artist_listeners.add(t.listener, t.artist)

    def artist_streams_last(self, n_artists: int) -> np.ndarray:
        """Streams of each artist in the last epoch (float64), padded with zeros to n_artists."""
        return _grow(self._artist_streams_last, n_artists)[:n_artists].copy()

    def artist_window(self, n_artists: int) -> ArtistWindow:
        """Streams and distinct listeners of each artist over the artist-centric rule's rolling
        window (a listener who streamed an artist in several weeks counts once)."""
        return ArtistWindow(self._artist_streams.total(n_artists), self._artist_listeners.groups_per_item(n_artists),
                            self._artist_listeners.epochs)

    def memory(self) -> dict[str, int]:
        """Bytes held by the ledger's matrices and tallies (for benchmarks and the run manifest)."""
        def csr(m: sp.csr_matrix) -> int:
            return m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
        tallies = sum(getattr(self, n).nbytes for n in (
            "track_streams_total", "track_streams_last", "track_streams_prev", "track_plays_last",
            "track_early_skips_last", "listener_plays_total")) + self._track_window._total.nbytes
        table = sum(getattr(self._table, c).nbytes for c in ("listener", "track", "artist", "streams", "sought", "seconds"))
        kept = sum(getattr(self.events, c).nbytes for c in Events.DTYPES) + self.stream.nbytes \
            + self.completed.nbytes + self.artist.nbytes
        return {"interactions": csr(self._R), "interactions_nnz": self._R.nnz,
                "last_heard": csr(self._last_heard), "tallies": tallies, "stream_table": table,
                "kept_events": kept}

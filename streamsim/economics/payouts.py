"""Revenue, the rights-holder pool and the four payout rules, as pure functions.

Every rule settles the same epoch of streams and returns a payout per track (float64, USD);
per-artist totals are ``np.bincount(track_artist, payout, minlength=n_artists)``.

Money is conserved in this sense: for every rule, either the payouts sum to the pool (to float
rounding) or, when the rule has no stream it may pay (nobody streamed; or, under the threshold
rule, no streamed track is eligible), every payout is zero and the whole pool is *unpaid*:
it is not carried to the next epoch (see :func:`unpaid`). No payout is ever negative.

The rules and the platform-size scale are documented in docs/MODEL.md (section 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from streamsim.core.config import RULES, PayoutsConfig
from streamsim.core.events import aggregate_pairs

EPOCHS_PER_MONTH = 52.0 / 12.0
"""One epoch is a week; a month is 52/12 epochs. Monthly money and bars are divided by this."""

REAL_STREAMS_PER_YEAR = 4.1e12
"""Global on-demand audio streams in 2023 (Luminate 2023 Year-End Music Report)."""

REAL_TRACKS = 152.2e6 / 0.827
"""Audio ISRCs tracked by Luminate in 2023: 152.2 M tracks had < 1,000 streams, 82.7 % of all."""

REAL_ARTISTS = 10.0e6
"""Artists who have uploaded at least one track (Spotify, Loud & Clear 2024: "more than ten million")."""

REAL_STREAMS_PER_TRACK_EPOCH = REAL_STREAMS_PER_YEAR / REAL_TRACKS / 52.0
"""About 428.5 streams per track per week on a real platform."""

REAL_STREAMS_PER_ARTIST_EPOCH = REAL_STREAMS_PER_YEAR / REAL_ARTISTS / 52.0
"""About 7,900 streams per artist per week on a real platform."""


@dataclass
class StreamTable:
    """One epoch of royalty-bearing streams, aggregated per (listener, track).

    Rows are grouped by listener (sorted by listener, then track, when built by
    :meth:`from_events`); __post_init__ sorts them stably by listener if they are not.

    Attributes:
        listener: int32 listener id of each row.
        track: int32 track id.
        artist: int32 artist id of the track.
        streams: float64 streams of the track by the listener this epoch (>= 0).
        sought: float64 of which actively sought (library or search channel), 0 <= sought <= streams.
    """

    listener: np.ndarray
    track: np.ndarray
    artist: np.ndarray
    streams: np.ndarray
    sought: np.ndarray

    def __post_init__(self) -> None:
        self.listener = np.ascontiguousarray(self.listener, dtype=np.int32)
        self.track = np.ascontiguousarray(self.track, dtype=np.int32)
        self.artist = np.ascontiguousarray(self.artist, dtype=np.int32)
        self.streams = np.ascontiguousarray(self.streams, dtype=np.float64)
        self.sought = np.ascontiguousarray(self.sought, dtype=np.float64)
        n = len(self.listener)
        for name in ("track", "artist", "streams", "sought"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"StreamTable.{name}: shape {getattr(self, name).shape}, expected ({n},)")
        if n > 1 and np.any(self.listener[1:] < self.listener[:-1]):
            order = np.argsort(self.listener, kind="stable")
            for name in ("listener", "track", "artist", "streams", "sought"):
                setattr(self, name, getattr(self, name)[order])

    def __len__(self) -> int:
        return len(self.listener)

    @classmethod
    def empty(cls) -> StreamTable:
        """A table with no rows (an epoch in which nobody streamed)."""
        z = np.zeros(0)
        return cls(z, z, z, z, z)

    @classmethod
    def from_events(cls, listener: np.ndarray, track: np.ndarray, is_stream: np.ndarray,
                    sought: np.ndarray, track_artist: np.ndarray, n_tracks: int) -> StreamTable:
        """Aggregate an epoch's exposures into streams per (listener, track).

        A counting sort by listener and a small sort per listener: linear in exposures
        (about 0.6 s for 10 M), with rows grouped by listener and sorted by track.

        Args:
            listener, track: int ids of each exposure.
            is_stream: bool, the exposure is a royalty-bearing stream (seconds >= threshold).
            sought: bool, the exposure came from a sought channel (library or search).
            track_artist: int32[T] artist of every track.
            n_tracks: T, the number of tracks in the catalog.
        """
        keep = np.asarray(is_stream, dtype=bool)
        lis = np.ascontiguousarray(np.asarray(listener)[keep], dtype=np.int32)
        trk = np.ascontiguousarray(np.asarray(track)[keep], dtype=np.int32)
        if len(trk) and (trk.min() < 0 or trk.max() >= n_tracks or lis.min() < 0):
            raise ValueError(f"StreamTable.from_events: ids out of range (n_tracks={n_tracks})")
        sought = np.ascontiguousarray(np.asarray(sought, bool)[keep])
        lis, trk, _, streams, sought_n = aggregate_pairs(lis, trk, np.zeros(len(lis), np.float32),
                                                         np.ones(len(lis), np.int8), sought.view(np.int8),
                                                         int(lis.max(initial=-1)) + 1)
        return cls(lis, trk, np.asarray(track_artist)[trk], streams, sought_n)


@dataclass(frozen=True)
class Scale:
    """Multipliers that turn real-world stream and listener bars into simulated units.

    Attributes:
        track: for per-track bars (the threshold rule; "new releases reaching 1,000 streams").
        artist: for per-artist bars (the artist-centric streams and unique-listener bars).
    """

    track: float
    artist: float

    @classmethod
    def of(cls, scale: float | Scale, n_tracks: int, n_artists: int) -> Scale:
        """A Scale from the one platform-size number (a track scale), or a Scale as is.

        The artist scale is the track scale times the simulated tracks per artist over the
        real ones, i.e. the ratio of mean streams per artist when the track scale is the
        ratio of mean streams per track.
        """
        if isinstance(scale, Scale):
            return scale
        if n_artists <= 0:
            return cls(float(scale), float(scale))
        return cls(float(scale), float(scale) * (n_tracks / n_artists) / (REAL_TRACKS / REAL_ARTISTS))


def auto_scale(track_streams: np.ndarray, n_tracks: int) -> float:
    """The "auto" platform-size scale: simulated over real mean streams per track and epoch.

    A real-world per-track bar times this scale sits at the same multiple of the mean stream
    count as on the real platform (Luminate 2023: about 428.5 streams per track and week), so
    it excludes a comparable share of the catalog. Zero when nothing streamed.

    Args:
        track_streams: streams of each track in an epoch (this epoch's, or a trailing mean).
        n_tracks: tracks in the catalog.
    """
    if n_tracks <= 0:
        return 0.0
    return float(np.sum(track_streams, dtype=np.float64)) / n_tracks / REAL_STREAMS_PER_TRACK_EPOCH


def resolve_scale(cfg: PayoutsConfig, track_streams: np.ndarray, n_tracks: int, n_artists: int) -> Scale:
    """The Scale of a scenario: ``cfg.scale`` if a number, else :func:`auto_scale`."""
    value = auto_scale(track_streams, n_tracks) if cfg.scale == "auto" else float(cfg.scale)
    return Scale.of(value, n_tracks, n_artists)


def listener_revenue(premium: np.ndarray, active: np.ndarray, cfg: PayoutsConfig) -> np.ndarray:
    """Gross revenue of each listener this epoch (USD): the monthly fee or ad revenue over 52/12.

    Args:
        premium: bool[L], the listener is on a paid plan (else ad-supported).
        active: bool[L], the listener has not churned; inactive listeners pay nothing.
        cfg: the payouts section (monthly prices).
    Returns:
        float64[L] revenue per listener for one epoch.
    """
    monthly = np.where(np.asarray(premium, bool), cfg.premium_fee_month, cfg.ad_revenue_month)
    return monthly / EPOCHS_PER_MONTH * np.asarray(active, bool)


def pool_of(revenue: np.ndarray, cfg: PayoutsConfig) -> float:
    """The rights-holder pool of an epoch (USD): the rights share of total revenue."""
    return float(np.sum(revenue, dtype=np.float64)) * cfg.rights_share


def unpaid(paid: np.ndarray, pool: float) -> float:
    """The part of the pool a rule did not pay: 0 if it paid anything, else the whole pool."""
    return 0.0 if np.any(paid > 0) else float(pool)


def _share(weights: np.ndarray, pool: float) -> np.ndarray:
    """Split the pool in proportion to non-negative weights; all zeros if the weights are."""
    total = weights.sum()
    if total <= 0:
        return np.zeros(len(weights))
    return pool * (weights / total)


def sum_by(index: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """float64[n] sums of ``weights`` per ``index`` (a bincount that stays float when empty)."""
    return np.bincount(index, weights=weights, minlength=n)[:n].astype(np.float64, copy=False)


def _track_streams(table: StreamTable, n_tracks: int) -> np.ndarray:
    return sum_by(table.track, table.streams, n_tracks)


@numba.njit(cache=True)
def _distinct_counts(group: np.ndarray, item: np.ndarray, n_groups: int,
                     n_items: int) -> tuple[np.ndarray, np.ndarray]:
    per_item = np.zeros(n_items, np.int64)
    per_group = np.zeros(n_groups, np.int64)
    last = np.full(n_items, -1, np.int64)
    for r in range(len(group)):
        g, i = group[r], item[r]
        if last[i] != g:
            last[i] = g
            per_item[i] += 1
            per_group[g] += 1
    return per_item, per_group


def distinct_counts(group: np.ndarray, item: np.ndarray, n_groups: int,
                    n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct groups per item and distinct items per group, in one pass.

    Rows must be grouped by ``group`` (all rows of a group contiguous), as in a StreamTable
    with group = listener; duplicates are allowed. Example: unique listeners per artist and
    distinct artists per listener.

    Returns:
        (int64[n_items] distinct groups of each item, int64[n_groups] distinct items of each group).
    """
    return _distinct_counts(np.ascontiguousarray(group), np.ascontiguousarray(item), n_groups, n_items)


def pro_rata(table: StreamTable, pool: float, n_tracks: int) -> np.ndarray:
    """Each track's share of all streams, times the pool."""
    return _share(_track_streams(table, n_tracks), pool)


def user_centric(table: StreamTable, contribution: np.ndarray, n_tracks: int) -> np.ndarray:
    """Each listener's pool contribution split over the tracks they streamed, by streams.

    Contributions of paying listeners who streamed nothing are split pro rata over all
    streams, so the whole pool is paid whenever anyone streamed.

    Args:
        table: the epoch's streams.
        contribution: float64[L] each listener's share of the pool (revenue x rights share).
        n_tracks: tracks in the catalog.
    """
    if len(table.listener) and table.listener.max() >= len(contribution):
        raise ValueError("user_centric: a listener id in the table has no contribution entry")
    per_listener = sum_by(table.listener, table.streams, len(contribution))
    has = per_listener > 0
    rate = np.divide(contribution, per_listener, out=np.zeros(len(contribution)), where=has)
    paid = sum_by(table.track, rate[table.listener] * table.streams, n_tracks)
    idle = float(contribution[~has].sum())
    if idle > 0:
        paid += _share(_track_streams(table, n_tracks), idle)
    return paid


def artist_centric(table: StreamTable, pool: float, n_tracks: int, n_artists: int,
                   cfg: PayoutsConfig, scale: Scale) -> np.ndarray:
    """Deezer/UMG 2023: boosted artists and sought streams count more; heavy listeners are capped.

    A stream's weight is ``sought_boost`` if sought (else 1), times ``artist_boost`` if its
    artist reached both monthly bars this epoch (streams and unique listeners, scaled by
    ``scale.artist`` and divided by 52/12), times ``cap / s_l`` for a listener whose ``s_l``
    streams exceed the cap (monthly cap / (52/12), a per-account bar that is not platform-
    scaled), so such a listener's streams count as the cap. The pool is split by weight.
    """
    ac = cfg.artist_centric
    n_listeners = int(table.listener.max(initial=-1)) + 1
    art_streams = sum_by(table.artist, table.streams, n_artists)
    lis, art = table.listener, table.artist
    streamed = table.streams > 0
    if not streamed.all():
        lis, art = lis[streamed], art[streamed]
    art_listeners, _ = distinct_counts(lis, art, n_listeners, n_artists)
    boosted = ((art_streams >= ac.min_monthly_streams * scale.artist / EPOCHS_PER_MONTH)
               & (art_listeners >= ac.min_monthly_listeners * scale.artist / EPOCHS_PER_MONTH))
    weight = table.streams + (ac.sought_boost - 1.0) * table.sought
    weight = weight * np.where(boosted[table.artist], ac.artist_boost, 1.0)
    cap = ac.listener_cap / EPOCHS_PER_MONTH
    per_listener = sum_by(table.listener, table.streams, n_listeners)
    factor = np.minimum(1.0, np.divide(cap, per_listener, out=np.ones(len(per_listener)),
                                       where=per_listener > 0))
    weight = weight * factor[table.listener]
    return _share(sum_by(table.track, weight, n_tracks), pool)


def threshold_bar(cfg: PayoutsConfig, scale: Scale, history_epochs: int | None = None) -> float:
    """Trailing streams a track needs to earn under the threshold rule, in simulated units.

    The real-world bar times ``scale.track``; while fewer than ``window_epochs`` epochs of
    history exist (``history_epochs``), the bar is pro-rated to the history available.
    """
    window = cfg.threshold.window_epochs
    seen = window if history_epochs is None else min(max(history_epochs, 0), window)
    return cfg.threshold.min_streams * scale.track * seen / window


def threshold(table: StreamTable, pool: float, n_tracks: int, trailing_track_streams: np.ndarray,
              bar: float) -> np.ndarray:
    """Spotify 2024: tracks under ``bar`` trailing streams earn nothing; the rest share pro rata.

    Args:
        trailing_track_streams: float[T] streams of each track over the trailing window,
            this epoch included.
        bar: from :func:`threshold_bar`.
    """
    eligible = np.asarray(trailing_track_streams, np.float64)[:n_tracks] >= bar
    return _share(_track_streams(table, n_tracks) * eligible, pool)


def as_table(table) -> StreamTable:
    """A StreamTable from any object with its five columns (e.g. the ledger's), checked and grouped."""
    if isinstance(table, StreamTable):
        return table
    return StreamTable(table.listener, table.track, table.artist, table.streams, table.sought)


def settle(rule: str, table: StreamTable, revenue: np.ndarray, n_tracks: int, n_artists: int,
           cfg: PayoutsConfig, trailing_track_streams: np.ndarray, scale: float | Scale,
           history_epochs: int | None = None) -> np.ndarray:
    """Settle one rule on an epoch's streams.

    Args:
        rule: one of sim.config.RULES.
        table: the epoch's streams per (listener, track).
        revenue: float64[L] gross revenue per listener this epoch (:func:`listener_revenue`);
            every listener id in ``table`` must be < L.
        n_tracks, n_artists: catalog and artist population sizes.
        cfg: the payouts section.
        trailing_track_streams: float[T] streams per track over the threshold window,
            this epoch included (threshold rule only).
        scale: the platform-size scale: a number (:func:`auto_scale` or ``cfg.scale``; per-artist
            bars follow by :meth:`Scale.of`) or a Scale (:func:`resolve_scale`).
        history_epochs: epochs of history in ``trailing_track_streams`` (None = a full window).
    Returns:
        float64[n_tracks] payout per track (USD); sums to ``pool_of(revenue, cfg)`` or is all
        zeros (then :func:`unpaid` is the pool).
    """
    table = as_table(table)
    scale = Scale.of(scale, n_tracks, n_artists)
    pool = pool_of(revenue, cfg)
    if rule == "pro_rata":
        return pro_rata(table, pool, n_tracks)
    if rule == "user_centric":
        return user_centric(table, np.asarray(revenue, np.float64) * cfg.rights_share, n_tracks)
    if rule == "artist_centric":
        return artist_centric(table, pool, n_tracks, n_artists, cfg, scale)
    if rule == "threshold":
        bar = threshold_bar(cfg, scale, history_epochs)
        return threshold(table, pool, n_tracks, trailing_track_streams, bar)
    raise ValueError(f"unknown payout rule {rule!r}; expected one of {RULES}")


def settle_all(table: StreamTable, revenue: np.ndarray, n_tracks: int, n_artists: int,
               cfg: PayoutsConfig, trailing_track_streams: np.ndarray, scale: float | Scale,
               history_epochs: int | None = None) -> dict[str, np.ndarray]:
    """Every rule of sim.config.RULES on the same streams: ``{rule: float64[n_tracks]}``.

    Arguments as for :func:`settle`. The caller picks ``cfg.active`` out of the result.
    """
    table = as_table(table)
    return {rule: settle(rule, table, revenue, n_tracks, n_artists, cfg, trailing_track_streams,
                         scale, history_epochs) for rule in RULES}

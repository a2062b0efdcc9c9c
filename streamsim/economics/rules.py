"""The payout rules, registered by name, and the settlement of an epoch under each of them.

Every rule settles the same epoch of streams and returns a payout per track (float64, USD);
per-artist totals are ``np.bincount(track_artist, payout, minlength=n_artists)``.

Money is conserved in this sense: for every rule, either the payouts sum to the pool (to float
rounding) or, when the rule has no stream it may pay (nobody streamed; or, under the threshold
rule, no streamed track is eligible; or, under the duration rule, no second was played), every
payout is zero and the whole pool is *unpaid*:
it is not carried to the next epoch (see :func:`unpaid`). No payout is ever negative.

A new rule is one function of :class:`RuleInputs`, registered with :func:`payout_rule`; the
schema, the settlement, the metrics (one column family per rule) and the plots pick it up from
``streamsim.core.registry.PAYOUT_RULES``. The rules and the platform-size scale are
documented in docs/MODEL.md (section 5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from streamsim.core.registry import PAYOUT_RULES
from streamsim.core.units import EPOCHS_PER_MONTH
from streamsim.economics.revenue import Scale, pool_of
from streamsim.economics.tables import ArtistWindow, StreamTable, as_table, sum_by

if TYPE_CHECKING:
    from streamsim.core.config import PayoutsConfig


@dataclass(frozen=True)
class RuleInputs:
    """Everything a payout rule may read about one epoch.

    Attributes:
        table: the epoch's streams per (listener, track).
        revenue: float64[L] gross revenue per listener this epoch; every listener id in ``table``
            is < L.
        pool: the rights-holder pool (``pool_of(revenue, cfg)``).
        n_tracks, n_artists: catalog and artist population sizes.
        cfg: the payouts section of the scenario.
        trailing_track_streams: float[T] streams per track over the threshold window, this epoch
            included.
        scale: the platform-size scale of real-world bars.
        history_epochs: epochs of history in ``trailing_track_streams`` (None = a full window);
            each rule reads it up to its own window.
        track_length_s: float[T] length of every track (None = unknown; the threshold rule's
            minimum length then cannot apply).
        artist_window: streams and distinct listeners per artist over the artist-centric rule's
            rolling window (None = this epoch's table alone, a one-epoch window).
    """

    table: StreamTable
    revenue: np.ndarray
    pool: float
    n_tracks: int
    n_artists: int
    cfg: PayoutsConfig
    trailing_track_streams: np.ndarray
    scale: Scale
    history_epochs: int | None = None
    track_length_s: np.ndarray | None = None
    artist_window: ArtistWindow | None = None


@dataclass(frozen=True)
class Rule:
    """A registered payout rule: its settlement function and how figures show it."""

    name: str
    settle: Callable[[RuleInputs], np.ndarray]
    label: str
    colour: str


def payout_rule(name: str, label: str, colour: str) -> Callable:
    """Register ``fn(RuleInputs) -> float64[n_tracks]`` as the payout rule ``name``."""
    def wrap(fn: Callable[[RuleInputs], np.ndarray]) -> Callable[[RuleInputs], np.ndarray]:
        PAYOUT_RULES.add(name, Rule(name, fn, label, colour))
        return fn
    return wrap


def rule_names() -> tuple[str, ...]:
    """Registered payout rules, built-ins first."""
    return PAYOUT_RULES.names()


def unpaid(paid: np.ndarray, pool: float) -> float:
    """The part of the pool a rule did not pay: 0 if it paid anything, else the whole pool."""
    return 0.0 if np.any(paid > 0) else float(pool)


def _share(weights: np.ndarray, pool: float) -> np.ndarray:
    """Split the pool in proportion to non-negative weights; all zeros if the weights are."""
    total = weights.sum()
    if total <= 0:
        return np.zeros(len(weights))
    return pool * (weights / total)


def _track_streams(table: StreamTable, n_tracks: int) -> np.ndarray:
    return sum_by(table.track, table.streams, n_tracks)


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


@dataclass(frozen=True)
class ArtistCentricBars:
    """The artist-centric rule's bars in simulated units.

    Attributes:
        artist_streams: streams an artist needs over the rolling window to be boosted.
        artist_listeners: distinct listeners an artist needs over the rolling window to be boosted.
        listener_cap: streams of one listener this epoch above which their streams are scaled down.
    """

    artist_streams: float
    artist_listeners: float
    listener_cap: float

    @classmethod
    def of(cls, cfg: PayoutsConfig, scale: Scale, window_epochs: int = 1) -> ArtistCentricBars:
        """The monthly real-world bars of ``cfg.artist_centric`` on this platform.

        The artist bars are multiplied by ``scale.artist`` and pro-rated to the window's epochs
        held (at most ``window_epochs`` of the rule); the cap is per account and per epoch, and
        is not scaled.
        """
        ac = cfg.artist_centric
        months = min(max(window_epochs, 1), ac.window_epochs) / EPOCHS_PER_MONTH
        return cls(ac.min_monthly_streams * scale.artist * months,
                   ac.min_monthly_listeners * scale.artist * months,
                   ac.listener_cap / EPOCHS_PER_MONTH)


def artist_centric(table: StreamTable, pool: float, n_tracks: int, n_artists: int,
                   cfg: PayoutsConfig, scale: Scale, window: ArtistWindow | None = None) -> np.ndarray:
    """Deezer/UMG 2023: boosted artists and sought streams count more; heavy listeners are capped.

    A stream's weight is ``sought_boost`` if sought (else 1), times ``artist_boost`` if its
    artist reached both monthly bars over the rolling window (streams, and distinct listeners
    over the window), each scaled by ``scale.artist`` and pro-rated to the window's epochs over
    52/12, times ``cap / s_l`` for a listener whose ``s_l`` streams this epoch exceed the cap
    (monthly cap / (52/12), a per-account bar that is not platform-scaled), so such a
    listener's streams count as the cap. The pool is split by weight.

    Args:
        window: streams and distinct listeners per artist over the rolling window (None: this
            epoch's table, a one-epoch window).
    """
    ac = cfg.artist_centric
    n_listeners = int(table.listener.max(initial=-1)) + 1
    if window is None:
        window = ArtistWindow.of(table, n_artists)
    bars = ArtistCentricBars.of(cfg, scale, window.epochs)
    boosted = ((window.streams[:n_artists] >= bars.artist_streams)
               & (window.listeners[:n_artists] >= bars.artist_listeners))
    weight = table.streams + (ac.sought_boost - 1.0) * table.sought
    weight = weight * np.where(boosted[table.artist], ac.artist_boost, 1.0)
    per_listener = sum_by(table.listener, table.streams, n_listeners)
    factor = np.minimum(1.0, np.divide(bars.listener_cap, per_listener, out=np.ones(len(per_listener)),
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
              bar: float, track_length_s: np.ndarray | None = None, min_length_s: float = 0.0) -> np.ndarray:
    """Spotify 2024: tracks under ``bar`` trailing streams, or shorter than ``min_length_s``, earn
    nothing; the eligible tracks share the pool pro rata.

    Args:
        trailing_track_streams: float[T] streams of each track over the trailing window,
            this epoch included.
        bar: from :func:`threshold_bar`.
        track_length_s: float[T] track lengths (needed when ``min_length_s > 0``).
        min_length_s: the minimum length of a royalty-bearing track (0 = no condition).
    """
    eligible = np.asarray(trailing_track_streams, np.float64)[:n_tracks] >= bar
    if min_length_s > 0:
        if track_length_s is None:
            raise ValueError("threshold: payouts.threshold.min_length_s > 0 needs the tracks' lengths")
        eligible &= np.asarray(track_length_s, np.float64)[:n_tracks] >= min_length_s
    return _share(_track_streams(table, n_tracks) * eligible, pool)


def duration(table: StreamTable, pool: float, n_tracks: int, play_cap_s: float) -> np.ndarray:
    """The pool split by seconds streamed: ``paid_j = pool · x_j / Σ x``, where a row's seconds
    count up to ``play_cap_s`` per stream, ``x_j = Σ_l min(seconds_lj, play_cap_s · s_lj)``.

    Only royalty-bearing streams (the table's rows) count, so the stream threshold still decides
    what is paid; how long each of them was played decides how much.
    """
    if table.seconds is None:
        raise ValueError("duration: the stream table has no seconds per row")
    counted = np.minimum(table.seconds, play_cap_s * table.streams)
    return _share(sum_by(table.track, counted, n_tracks), pool)


@payout_rule("pro_rata", label="pro-rata", colour="#1f77b4")
def _pro_rata(x: RuleInputs) -> np.ndarray:
    return pro_rata(x.table, x.pool, x.n_tracks)


@payout_rule("user_centric", label="user-centric", colour="#ff7f0e")
def _user_centric(x: RuleInputs) -> np.ndarray:
    return user_centric(x.table, np.asarray(x.revenue, np.float64) * x.cfg.rights_share, x.n_tracks)


@payout_rule("artist_centric", label="artist-centric", colour="#2ca02c")
def _artist_centric(x: RuleInputs) -> np.ndarray:
    return artist_centric(x.table, x.pool, x.n_tracks, x.n_artists, x.cfg, x.scale, x.artist_window)


@payout_rule("threshold", label="threshold (2024)", colour="#d62728")
def _threshold(x: RuleInputs) -> np.ndarray:
    return threshold(x.table, x.pool, x.n_tracks, x.trailing_track_streams,
                     threshold_bar(x.cfg, x.scale, x.history_epochs), x.track_length_s,
                     x.cfg.threshold.min_length_s)


@payout_rule("duration", label="duration", colour="#9467bd")
def _duration(x: RuleInputs) -> np.ndarray:
    return duration(x.table, x.pool, x.n_tracks, x.cfg.duration.play_cap_s)


def settle(rule: str, table: StreamTable, revenue: np.ndarray, n_tracks: int, n_artists: int,
           cfg: PayoutsConfig, trailing_track_streams: np.ndarray, scale: float | Scale,
           history_epochs: int | None = None, track_length_s: np.ndarray | None = None,
           artist_window: ArtistWindow | None = None) -> np.ndarray:
    """Settle one registered rule on an epoch's streams.

    Args:
        rule: a name in ``PAYOUT_RULES``.
        table: the epoch's streams per (listener, track).
        revenue: float64[L] gross revenue per listener this epoch (:func:`listener_revenue`);
            every listener id in ``table`` must be < L.
        n_tracks, n_artists: catalog and artist population sizes.
        cfg: the payouts section.
        trailing_track_streams: float[T] streams per track over the threshold window,
            this epoch included (threshold rule only).
        scale: the platform-size scale: a number (:func:`auto_scale` or ``cfg.scale``; per-artist
            bars follow by :meth:`Scale.of`) or a Scale (:func:`resolve_scale`).
        history_epochs: epochs of history behind the trailing tallies (None = a full window).
        track_length_s: float[T] track lengths (the threshold rule's minimum length).
        artist_window: per-artist streams and distinct listeners over the artist-centric rule's
            rolling window (None = this epoch alone).
    Returns:
        float64[n_tracks] payout per track (USD); sums to ``pool_of(revenue, cfg)`` or is all
        zeros (then :func:`unpaid` is the pool).
    """
    return settle_all(table, revenue, n_tracks, n_artists, cfg, trailing_track_streams, scale,
                      history_epochs, rules=(rule,), track_length_s=track_length_s,
                      artist_window=artist_window)[rule]


def settle_all(table: StreamTable, revenue: np.ndarray, n_tracks: int, n_artists: int,
               cfg: PayoutsConfig, trailing_track_streams: np.ndarray, scale: float | Scale,
               history_epochs: int | None = None, rules: tuple[str, ...] | None = None,
               track_length_s: np.ndarray | None = None, artist_window: ArtistWindow | None = None,
               ) -> dict[str, np.ndarray]:
    """Every registered rule (or those named) on the same streams: ``{rule: float64[n_tracks]}``.

    Arguments as for :func:`settle`. The caller picks ``cfg.active`` out of the result.
    """
    inputs = RuleInputs(as_table(table), revenue, pool_of(revenue, cfg), n_tracks, n_artists, cfg,
                        trailing_track_streams, Scale.of(scale, n_tracks, n_artists), history_epochs,
                        track_length_s, artist_window)
    return {name: PAYOUT_RULES[name].settle(inputs) for name in (rules or rule_names())}

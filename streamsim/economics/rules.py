"""The payout rules, registered by name, and the settlement of an epoch under each of them.

Every rule settles the same epoch of streams and returns a payout per track (float64, USD);
per-artist totals are ``np.bincount(track_artist, payout, minlength=n_artists)``.

Money is conserved in this sense: for every rule, either the payouts sum to the pool (to float
rounding) or, when the rule has no stream it may pay (nobody streamed; or, under the threshold
rule, no streamed track is eligible), every payout is zero and the whole pool is *unpaid*:
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
from streamsim.economics.tables import StreamTable, as_table, distinct_counts, sum_by

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
        history_epochs: epochs of history in ``trailing_track_streams`` (None = a full window).
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
    """The artist-centric rule's bars for one epoch, in simulated units.

    Attributes:
        artist_streams: streams an artist needs this epoch to be boosted.
        artist_listeners: unique listeners an artist needs this epoch to be boosted.
        listener_cap: streams of one listener this epoch above which their streams are scaled down.
    """

    artist_streams: float
    artist_listeners: float
    listener_cap: float

    @classmethod
    def of(cls, cfg: PayoutsConfig, scale: Scale) -> ArtistCentricBars:
        """The monthly real-world bars of ``cfg.artist_centric`` for one epoch of this platform.

        The artist bars are multiplied by ``scale.artist``; the cap is per account and is not.
        """
        ac = cfg.artist_centric
        return cls(ac.min_monthly_streams * scale.artist / EPOCHS_PER_MONTH,
                   ac.min_monthly_listeners * scale.artist / EPOCHS_PER_MONTH,
                   ac.listener_cap / EPOCHS_PER_MONTH)


def artist_centric(table: StreamTable, pool: float, n_tracks: int, n_artists: int,
                   cfg: PayoutsConfig, scale: Scale) -> np.ndarray:
    """Deezer/UMG 2023: boosted artists and sought streams count more; heavy listeners are capped.

    A stream's weight is ``sought_boost`` if sought (else 1), times ``artist_boost`` if its
    artist reached both bars this epoch (:class:`ArtistCentricBars`: streams and unique
    listeners), times ``cap / s_l`` for a listener whose ``s_l`` streams exceed the cap, so
    such a listener's streams count as the cap. The pool is split by weight.
    """
    ac = cfg.artist_centric
    bars = ArtistCentricBars.of(cfg, scale)
    n_listeners = int(table.listener.max(initial=-1)) + 1
    art_streams = sum_by(table.artist, table.streams, n_artists)
    lis, art = table.listener, table.artist
    streamed = table.streams > 0
    if not streamed.all():
        lis, art = lis[streamed], art[streamed]
    art_listeners, _ = distinct_counts(lis, art, n_listeners, n_artists)
    boosted = (art_streams >= bars.artist_streams) & (art_listeners >= bars.artist_listeners)
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
              bar: float) -> np.ndarray:
    """Spotify 2024: tracks under ``bar`` trailing streams earn nothing; the rest share pro rata.

    Args:
        trailing_track_streams: float[T] streams of each track over the trailing window,
            this epoch included.
        bar: from :func:`threshold_bar`.
    """
    eligible = np.asarray(trailing_track_streams, np.float64)[:n_tracks] >= bar
    return _share(_track_streams(table, n_tracks) * eligible, pool)


@payout_rule("pro_rata", label="pro-rata", colour="#1f77b4")
def _pro_rata(x: RuleInputs) -> np.ndarray:
    return pro_rata(x.table, x.pool, x.n_tracks)


@payout_rule("user_centric", label="user-centric", colour="#ff7f0e")
def _user_centric(x: RuleInputs) -> np.ndarray:
    return user_centric(x.table, np.asarray(x.revenue, np.float64) * x.cfg.rights_share, x.n_tracks)


@payout_rule("artist_centric", label="artist-centric", colour="#2ca02c")
def _artist_centric(x: RuleInputs) -> np.ndarray:
    return artist_centric(x.table, x.pool, x.n_tracks, x.n_artists, x.cfg, x.scale)


@payout_rule("threshold", label="threshold (2024)", colour="#d62728")
def _threshold(x: RuleInputs) -> np.ndarray:
    return threshold(x.table, x.pool, x.n_tracks, x.trailing_track_streams,
                     threshold_bar(x.cfg, x.scale, x.history_epochs))


def settle(rule: str, table: StreamTable, revenue: np.ndarray, n_tracks: int, n_artists: int,
           cfg: PayoutsConfig, trailing_track_streams: np.ndarray, scale: float | Scale,
           history_epochs: int | None = None) -> np.ndarray:
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
        history_epochs: epochs of history in ``trailing_track_streams`` (None = a full window).
    Returns:
        float64[n_tracks] payout per track (USD); sums to ``pool_of(revenue, cfg)`` or is all
        zeros (then :func:`unpaid` is the pool).
    """
    return settle_all(table, revenue, n_tracks, n_artists, cfg, trailing_track_streams, scale,
                      history_epochs, rules=(rule,))[rule]


def settle_all(table: StreamTable, revenue: np.ndarray, n_tracks: int, n_artists: int,
               cfg: PayoutsConfig, trailing_track_streams: np.ndarray, scale: float | Scale,
               history_epochs: int | None = None, rules: tuple[str, ...] | None = None
               ) -> dict[str, np.ndarray]:
    """Every registered rule (or those named) on the same streams: ``{rule: float64[n_tracks]}``.

    Arguments as for :func:`settle`. The caller picks ``cfg.active`` out of the result.
    """
    inputs = RuleInputs(as_table(table), revenue, pool_of(revenue, cfg), n_tracks, n_artists, cfg,
                        trailing_track_streams, Scale.of(scale, n_tracks, n_artists), history_epochs)
    return {name: PAYOUT_RULES[name].settle(inputs) for name in (rules or rule_names())}

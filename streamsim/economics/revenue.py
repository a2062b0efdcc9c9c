"""Revenue, the rights-holder pool and the platform-size scale of real-world bars."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass

import numpy as np

from streamsim.core.units import (EPOCHS_PER_MONTH, REAL_ARTISTS, REAL_STREAMS_PER_TRACK_EPOCH,
                                  REAL_TRACKS, REAL_USD_PER_STREAM)

if TYPE_CHECKING:
    from streamsim.core.config import PayoutsConfig


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


def listener_revenue(premium: np.ndarray, active: np.ndarray, cfg: PayoutsConfig,
                     ad_weight: np.ndarray | None = None) -> np.ndarray:
    """Gross revenue of each listener this epoch (USD): the monthly fee or ad revenue over 52/12.

    Args:
        premium: bool[L], the listener is on a paid plan (else ad-supported).
        active: bool[L], the listener has not churned; inactive listeners pay nothing.
        cfg: the payouts section (monthly prices).
        ad_weight: float[L], multiplier of an ad-supported listener's ad revenue (ads are served
            per hour listened: the listener's budget over the one drawn at arrival); None = 1.
    Returns:
        float64[L] revenue per listener for one epoch.
    """
    ads = cfg.ad_revenue_month if ad_weight is None else cfg.ad_revenue_month * np.asarray(ad_weight, np.float64)
    monthly = np.where(np.asarray(premium, bool), cfg.premium_fee_month, ads)
    return monthly / EPOCHS_PER_MONTH * np.asarray(active, bool)


def pool_of(revenue: np.ndarray, cfg: PayoutsConfig) -> float:
    """The rights-holder pool of an epoch (USD): the rights share of total revenue."""
    return float(np.sum(revenue, dtype=np.float64)) * cfg.rights_share


def money_scale(scale: Scale, pool: float, streams: float) -> float:
    """Multiplier of real-world money bars per artist (a living, a reservation value).

    ``scale.artist · (pool / streams) / REAL_USD_PER_STREAM``: the artist scale of stream bars
    times the simulated per-stream value over the real one. With the auto scale this is exactly
    the simulated pool per artist over the real one, so a scaled bar sits at the same multiple
    of the mean artist's payout as the real bar. Zero when nothing streamed.
    """
    if streams <= 0:
        return 0.0
    return scale.artist * (pool / streams) / REAL_USD_PER_STREAM


def monthly_bar(usd_month: float, scale: Scale, pool: float, streams: float) -> float:
    """A real monthly money bar as simulated USD per epoch: ``usd_month / (52/12) · money_scale``."""
    return usd_month / EPOCHS_PER_MONTH * money_scale(scale, pool, streams)

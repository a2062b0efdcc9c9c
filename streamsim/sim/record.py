"""The record of one epoch: what happened, as returned by ``StreamingModel.step()``.

Metrics, the run recorder, calibration and the progress bar read records, never the model's
attributes. Per-entity state that later epochs change in place (listener activity, satisfaction
and taste, artist tiers, lifetime stream counts) is copied into the record, so a record stays
true after the model moves on. Track columns are views of the catalog, whose rows never change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from streamsim.core.events import Events
from streamsim.economics.revenue import Scale
from streamsim.economics.tables import ArtistWindow
from streamsim.economics.tables import StreamTable
from streamsim.sim.tally import Tally


@dataclass(frozen=True)
class Tracks:
    """The catalog's columns at the end of the epoch (T tracks)."""

    artist: np.ndarray
    release_epoch: np.ndarray
    length_s: np.ndarray
    intro_s: np.ndarray
    style: np.ndarray
    quality: np.ndarray
    fraud: np.ndarray
    streams_total: np.ndarray     # lifetime streams, this epoch included (a copy)


@dataclass(frozen=True)
class Artists:
    """Artist state at the end of the epoch (A artists; copies).

    ``tier`` is ranked on ``trailing_streams`` (streams over the tier window, the pre-run
    history filling epochs before the run); ``fame_tier`` is the tier given by fame at entry.
    The fields after ``entry_epoch`` may be left out (None: unknown) by hand-made records.
    """

    tier: np.ndarray
    major: np.ndarray
    entry_epoch: np.ndarray
    fame_tier: np.ndarray | None = None
    contract: np.ndarray | None = None      # streamsim.core.codes.Contract codes
    label: np.ndarray | None = None         # label id, -1 self-released
    active: np.ndarray | None = None        # still releasing
    fraud: np.ndarray | None = None         # stream-farm artists
    trailing_streams: np.ndarray | None = None
    release_rate: np.ndarray | None = None  # tracks per epoch


@dataclass(frozen=True)
class Listeners:
    """Listener state at the end of the epoch (L rows, bots included; copies)."""

    active: np.ndarray            # active humans after churn and arrivals
    is_bot: np.ndarray            # stream-farm accounts
    taste: np.ndarray
    satisfaction: np.ndarray
    premium: np.ndarray


@dataclass(frozen=True)
class Served:
    """Personalised slates: the listeners served and their slates in rank order (-1 padded),
    and the interaction matrix the recommender that made them was fitted on (None without a
    recommender): its nonzeros are the pairs the model has seen, left out of evaluation."""

    users: np.ndarray
    items: np.ndarray
    trained: sp.csr_matrix | None = None

    @classmethod
    def none(cls, k: int) -> Served:
        return cls(np.zeros(0, np.int32), np.zeros((0, k), np.int32))


@dataclass(frozen=True)
class IdealComparison:
    """This run beside its shadow ideal arm after one epoch (``metrics.chaney``).

    Attributes:
        consumed, ideal_consumed: (L x T) bool CSR, every (listener, track) consumed so far in
            this run and in the ideal arm.
        user_vectors: (m, f) this epoch's user representation of the run's recommender (the
            one its slates were served from), or None if it has none.
        utility, ideal_utility: mean true utility of the epoch's human plays in each run.
    """

    consumed: sp.csr_matrix
    ideal_consumed: sp.csr_matrix
    user_vectors: np.ndarray | None
    utility: float
    ideal_utility: float


@dataclass(frozen=True)
class EpochRecord:
    """Everything one epoch produced.

    Attributes:
        epoch: the epoch (week) number.
        events: every exposure, in listener order (bots' plays last); None when the run does not
            keep them (``outputs.keep_events = false``): read ``tally`` instead.
        stream, completed: per exposure, a royalty-bearing stream (seconds >= the stream
            threshold) and played to the end (seconds >= the track's length); None with ``events``.
        table: the streams per (listener, track) that every payout rule settled.
        settlement: {rule: float64[T]} payout per track under every registered rule.
        revenue: float64[L0] gross revenue this epoch of each listener who existed when the epoch
            was settled (this epoch's arrivals join after); pool: the rights-holder pool.
        settled_active: bool[L0] which of them were active (bots included) when settled: the
            revenue's input, before this epoch's churn.
        scale: the platform-size scale of real-world bars this epoch.
        trailing_streams: int64[T] streams of each track over the threshold rule's window, this
            epoch included; history_epochs: epochs of history behind it (the bar is pro-rated).
        fit_seconds, fit_loss: what the recommender's fit cost and reached (NaN before a fit).
        new_tracks: ids of this epoch's releases; new_artists: ids of this epoch's entrants.
        arrivals, churned: listeners who joined and who left in this epoch's update.
        served, served_before: this epoch's and the previous epoch's personalised slates.
        oracle_users, oracle_utility, served_utility: listeners sampled for regret (among those
            the recommender served) and, for each, the mean true utility of the oracle's top-k
            slate under the same filters and of the first k of the slate served, both at slate
            time (``streamsim.sim.evaluation``).
        metric_seed: seed of the sampled metrics (pairs, listeners).
        tracks, artists, listeners: state at the end of the epoch.
        ideal: with ``metrics.chaney``, what Chaney et al.'s measures compare (this run and its
            shadow ideal arm, ``streamsim.sim.ideal``); None otherwise.
        artist_window: each artist's streams and distinct listeners over the artist-centric
            rule's rolling window, this epoch included (None: a one-epoch window of ``table``).
        ad_weight: float64[L0] each listener's multiplier of ad revenue at settlement (its budget
            over the one drawn at arrival; ``economics.revenue.listener_revenue``), None = 1.
        settled_premium: bool[L0] each listener's plan at settlement (this epoch's upgrades and
            downgrades come after), None = ``listeners.premium``.
        tally: the epoch's exposures summed block by block (``streamsim.sim.tally``), what the
            built-in metrics read; None in hand-made records, whose ``events`` are summed instead.
    """

    epoch: int
    events: Events | None
    stream: np.ndarray | None
    completed: np.ndarray | None
    table: StreamTable
    settlement: dict[str, np.ndarray]
    revenue: np.ndarray
    settled_active: np.ndarray
    pool: float
    scale: Scale
    trailing_streams: np.ndarray
    history_epochs: int
    fit_seconds: float
    fit_loss: float
    new_tracks: np.ndarray
    new_artists: np.ndarray
    arrivals: int
    churned: int
    served: Served
    served_before: Served
    oracle_users: np.ndarray
    oracle_utility: np.ndarray
    served_utility: np.ndarray
    metric_seed: int
    tracks: Tracks
    artists: Artists
    listeners: Listeners
    ideal: IdealComparison | None = None
    artist_window: ArtistWindow | None = None
    ad_weight: np.ndarray | None = None
    settled_premium: np.ndarray | None = None
    tally: Tally | None = None

"""An epoch's record seen through its scenario: the quantities several metrics share, computed once."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from streamsim.core.config import Scenario
from streamsim.core.units import EPOCHS_PER_YEAR
from streamsim.economics.revenue import monthly_bar
from streamsim.economics.rules import threshold_bar
from streamsim.economics.splits import net_shares
from streamsim.economics.tables import distinct_counts, sum_by
from streamsim.measures.metrics import Consumption, random_pairs, taste_pairs
from streamsim.sim.record import EpochRecord
from streamsim.sim.tally import Tally

DECILES = 10
"""Popularity deciles, and the top tenth of tracks that makes the hits."""


def deciles(value: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Decile (0-9, ascending) of each member by ``value``, ordinal ranks with ties by position;
    -1 for non-members."""
    out = np.full(len(value), -1, np.int64)
    idx = np.flatnonzero(members)
    if len(idx):
        order = idx[np.lexsort((idx, np.asarray(value)[idx]))]
        out[order] = np.arange(len(order)) * DECILES // len(order)
    return out


def sample(candidates: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Up to n distinct candidates, sorted (all of them when there are at most n)."""
    c = np.asarray(candidates)
    if len(c) <= n:
        return c
    return np.sort(rng.choice(c, size=n, replace=False))


class EpochView:
    """A record and its scenario, with derived arrays cached for the metrics that share them.

    Args:
        record: what the epoch produced.
        scenario: the scenario it ran under (sample sizes, utility weights, payout bars).

    Attributes:
        new_window_epochs: an artist is new, and a release recent, for a year of epochs.
    """

    new_window_epochs = EPOCHS_PER_YEAR

    def __init__(self, record: EpochRecord, scenario: Scenario):
        self.record = record
        self.scenario = scenario
        self.mc = scenario.metrics

    # -- sizes and counts ------------------------------------------------------------------
    @cached_property
    def n_tracks(self) -> int:
        return len(self.record.tracks.artist)

    @cached_property
    def n_artists(self) -> int:
        return len(self.record.artists.tier)

    @cached_property
    def n_listeners(self) -> int:
        return len(self.record.listeners.active)

    @cached_property
    def tally(self) -> Tally:
        """The epoch's exposures summed (the record's tally, or its events summed)."""
        r = self.record
        if r.tally is not None:
            return r.tally
        return Tally.of(r.events, r.stream, r.completed, r.tracks.artist, r.listeners.is_bot, self.n_artists)

    @cached_property
    def plays(self) -> int:
        return self.tally.plays

    @cached_property
    def streams(self) -> int:
        return self.tally.streams

    @cached_property
    def active(self) -> int:
        return int(np.sum(self.record.listeners.active))

    @cached_property
    def at_start(self) -> int:
        """Listeners who could listen this epoch: active now, minus arrivals, plus the churned."""
        r = self.record
        return max(self.active - r.arrivals + r.churned, 0)

    @cached_property
    def emerging(self) -> np.ndarray:
        from streamsim.core.codes import Tier

        return np.asarray(self.record.artists.tier) == Tier.EMERGING

    @cached_property
    def released(self) -> np.ndarray:
        """This epoch's releases, as a mask over tracks."""
        return np.asarray(self.record.tracks.release_epoch) == self.record.epoch

    @cached_property
    def new_artist(self) -> np.ndarray:
        """Artists who entered within the last year, after the start (epoch > 0)."""
        return np.asarray(self.record.artists.entry_epoch) > max(self.record.epoch - self.new_window_epochs, 0)

    @cached_property
    def streams_per_track(self) -> np.ndarray:
        t = self.record.table
        return sum_by(t.track, t.streams, self.n_tracks)

    @cached_property
    def hits(self) -> np.ndarray:
        """This epoch's top-decile hits, as track ids: the ceil(10 %) most streamed of the tracks
        streamed this epoch (ties by id)."""
        streamed = np.flatnonzero(self.streams_per_track > 0)
        order = np.lexsort((streamed, -self.streams_per_track[streamed]))
        return streamed[order[:-(-len(streamed) // DECILES)]]

    # -- per artist ---------------------------------------------------------------------------
    @cached_property
    def artist_streams(self) -> np.ndarray:
        t = self.record.table
        return sum_by(t.artist, t.streams, self.n_artists)

    @cached_property
    def _distinct(self) -> tuple[np.ndarray, np.ndarray]:
        table = self.record.table
        lis, art = table.listener, table.artist
        streamed = table.streams > 0
        if not streamed.all():
            lis, art = lis[streamed], art[streamed]
        return distinct_counts(lis, art, max(self.n_listeners, int(table.listener.max(initial=-1)) + 1),
                               self.n_artists)

    @property
    def unique_listeners(self) -> np.ndarray:
        """Distinct listeners who streamed each artist this epoch."""
        return self._distinct[0]

    @property
    def artists_of_listener(self) -> np.ndarray:
        """Distinct artists each listener streamed this epoch."""
        return self._distinct[1]

    @cached_property
    def impressions(self) -> np.ndarray:
        """Exposures of each artist's tracks this epoch."""
        plays = self.tally.artist_plays[: self.n_artists]
        return np.concatenate([plays, np.zeros(self.n_artists - len(plays), np.int64)])

    def artist_payout(self, rule: str) -> np.ndarray:
        """Payout of each artist under ``rule`` this epoch (USD)."""
        cache = self.__dict__.setdefault("_artist_payout", {})
        if rule not in cache:
            cache[rule] = sum_by(self.record.tracks.artist, self.track_payout(rule), self.n_artists)
        return cache[rule]

    def track_payout(self, rule: str) -> np.ndarray:
        return np.asarray(self.record.settlement.get(rule, np.zeros(self.n_tracks)), np.float64)

    def artist_net(self, rule: str) -> np.ndarray:
        """Net income of each artist under ``rule`` this epoch: its payout times its contract's net
        share (economics.splits); artists of unknown contract count their whole payout."""
        return self.artist_payout(rule) * self.net_share

    @cached_property
    def net_share(self) -> np.ndarray:
        contract = self.record.artists.contract
        if contract is None:
            return np.ones(self.n_artists)
        return net_shares(contract, self.scenario.payouts.splits)

    # -- popularity deciles -------------------------------------------------------------------
    @cached_property
    def popularity_decile(self) -> np.ndarray:
        """Decile of each artist by trailing streams, 0 = the least streamed tenth (-1 for stream
        farms); ranks are ordinal, ties broken by artist id. Without trailing streams in the
        record, this epoch's streams rank the artists."""
        a = self.record.artists
        value = self.artist_streams if a.trailing_streams is None else np.asarray(a.trailing_streams, np.float64)
        organic = np.ones(self.n_artists, bool) if a.fraud is None else ~np.asarray(a.fraud, bool)
        return deciles(value, organic)

    # -- money bars ---------------------------------------------------------------------------
    @cached_property
    def living_usd_epoch(self) -> float:
        """Net income per epoch counted as a living: living_usd_month / (52/12), scaled to the
        platform by the money scale (economics.revenue.money_scale)."""
        r = self.record
        return monthly_bar(self.scenario.payouts.living_usd_month, r.scale, r.pool, self.streams)

    @cached_property
    def reach_streams(self) -> float:
        """Lifetime streams that count as "reaching 1,000 streams", in simulated units."""
        return threshold_bar(self.scenario.payouts, self.record.scale)

    # -- consumption sets and samples -----------------------------------------------------------
    @cached_property
    def sets(self) -> Consumption:
        table = self.record.table
        return Consumption.of(table, max(self.n_listeners, int(table.listener.max(initial=-1)) + 1),
                              self.n_tracks)

    @cached_property
    def streamers(self) -> np.ndarray:
        return np.flatnonzero(self.sets.sizes() > 0)

    @cached_property
    def samples(self) -> dict[str, np.ndarray]:
        """Every sampled set of the epoch's metrics, drawn in one fixed order from the metric seed:
        random pairs, similar and dissimilar taste pairs, listeners for diversity, and rows of the
        previous slates for precision. Fixed order: a row does not depend on which metrics run."""
        rng = np.random.default_rng(self.record.metric_seed)
        mc = self.mc
        pairs = random_pairs(self.streamers, mc.jaccard_pairs, rng)
        similar, dissimilar = taste_pairs(self.streamers, self.record.listeners.taste, mc.jaccard_pairs, rng)
        diversity = sample(self.streamers, mc.diversity_listeners, rng)
        before = sample(np.arange(len(self.record.served_before.users)), mc.eval_listeners, rng)
        return {"random_pairs": pairs, "similar_pairs": similar, "dissimilar_pairs": dissimilar,
                "diversity_listeners": diversity, "precision_rows": before}

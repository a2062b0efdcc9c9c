"""The streaming model: one Mesa model whose step is one epoch (one simulated week).

The model owns the populations, the catalog, the recommender and the ledger, and runs the
epoch in the order of DESIGN.md section 3. It only wires components together: behaviour lives
in ``agents``, learning in ``recommender``, money in ``economics``. Each step returns an
:class:`~streamsim.sim.record.EpochRecord`; measurement (``streamsim.measures``) reads records.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from contextlib import contextmanager

import mesa
import numpy as np

from streamsim import recommender as recommenders
from streamsim.agents.artists import ArtistPopulation
from streamsim.agents.catalog import Catalog
from streamsim.agents.channels import build_slates
from streamsim.agents.editors import Editors
from streamsim.agents.fraud import StreamFarm
from streamsim.agents.listeners import ListenerPopulation
from streamsim.agents.listening import listen_blocks
from streamsim.agents.world import World
from streamsim.core.config import Scenario
from streamsim.core.threads import blas
from streamsim.economics import revenue as money
from streamsim.economics.rules import settle_all
from streamsim.economics.splits import net_shares
from streamsim.recommender.base import FitContext, FitInfo
from streamsim.sim.evaluation import oracle_evaluation
from streamsim.sim.ideal import IdealArm
from streamsim.sim.ledger import Ledger
from streamsim.sim.record import Artists, EpochRecord, Listeners, Served, Tracks
from streamsim.sim.tally import Tally
from streamsim.sim.seeds import phase_rng


class StreamingModel(mesa.Model):
    """A music-streaming platform, its listeners and artists, one epoch (week) per ``step()``.

    Args:
        scenario: the validated scenario.
        n_threads: numba threads for the kernels (None: numba's default). Results do not depend on it.
        recommender: any object meeting the ``streamsim.recommender.base.Recommender`` contract
            (fit, recommend, similar_items, observe), used instead of the scenario's kind.
    """

    def __init__(self, scenario: Scenario, n_threads: int | None = None, recommender=None):
        seq = np.random.SeedSequence(scenario.run.seed)
        (mesa_seq, world_seq, artists_seq, listeners_seq, rec_seq, editors_seq,
         fraud_seq, kernel_seq, epoch_seq) = seq.spawn(9)
        super().__init__(rng=np.random.default_rng(mesa_seq))
        self.config = scenario  # not "scenario": mesa.Model reserves that name for its own Scenario class
        self.n_threads = n_threads
        self.epoch = 0
        self.timings: dict[str, float] = defaultdict(float)
        self._epoch_seq = epoch_seq
        self._kernel_seed = int(kernel_seq.generate_state(1, np.uint64)[0] >> np.uint64(1))

        self.world = World.generate(scenario, np.random.default_rng(world_seq))
        w, c = scenario.world, scenario.catalog
        self.catalog = Catalog(w.d_style, w.audio_dim, c.tags_per_track)
        self.artists = ArtistPopulation(self, scenario, self.world, self.catalog,
                                        np.random.default_rng(artists_seq))
        self.listeners = ListenerPopulation(self, scenario, self.world, np.random.default_rng(listeners_seq))
        self.editors = Editors(scenario, self.world, np.random.default_rng(editors_seq))
        self.farm = None
        self.bot_ids = np.zeros(0, np.int32)
        if scenario.fraud.bots > 0:
            fraud_rng = np.random.default_rng(fraud_seq)
            self.farm = StreamFarm(scenario, self.world, self.catalog, self.artists, fraud_rng)
            self.bot_ids = self.listeners.add_bots(scenario.fraud.bots, scenario.fraud.premium, 0)
        self.recommender = recommender if recommender is not None else recommenders.make(scenario, rec_seq)
        self.ledger = Ledger(scenario)
        self.ledger.seed_history(phase_rng(epoch_seq, -1, "history").poisson(
            self.artists.prior_track_popularity()))
        self.ledger.extend(self.listeners.n, len(self.catalog))
        self._served = Served.none(scenario.channels.slate_size)
        self._record: EpochRecord | None = None
        self.tally = Tally()     # the last epoch's exposures, summed
        self.ideal = IdealArm(type(self), scenario, n_threads) if scenario.metrics.chaney else None
        # Mesa replaces step() by a wrapper that advances its clock and returns nothing; wrap
        # that once more so that step() hands back the epoch's record.
        advance_clock = self.step

        def step() -> EpochRecord:
            advance_clock()
            return self._record

        self.step = step

    @contextmanager
    def _phase(self, name: str):
        start = time.perf_counter()
        yield
        self.timings[name] += time.perf_counter() - start

    def step(self) -> EpochRecord:
        """One epoch, in the order of DESIGN.md section 3; returns its record.

        BLAS runs single-threaded inside an epoch: the parallel work is in numba kernels, and
        BLAS threads spinning beside numba's made small matrix products ten times slower.
        """
        with blas().limit(limits=1, user_api="blas"):
            self._record = self._step()
        self.epoch += 1
        return self._record

    def _step(self) -> EpochRecord:
        sc = self.config
        t = self.epoch

        def rng(phase: str) -> np.random.Generator:
            return phase_rng(self._epoch_seq, t, phase)

        with self._phase("release"):
            new_artists = self.artists.enter(t, rng("entry"))
            new_tracks = self.artists.release(t, rng("release"))
            self.world.drift(rng("drift"))
            self.ledger.extend(self.listeners.n, len(self.catalog))
        fit = FitInfo(0.0, float("nan"))
        matrix = None
        with self._phase("fit"):
            if self.recommender is not None:
                ctx = FitContext(t, self.catalog, self.listeners.taste, sc.listeners.behaviour.w_taste,
                                 sc.listeners.behaviour.w_quality, self.n_threads,
                                 self.ledger.touched_listeners, self.ledger.touched_tracks)
                matrix = self.ledger.interactions(self.listeners.n, len(self.catalog))
                fit = self.recommender.fit(matrix, ctx)
        with self._phase("slates"):
            playlists = self.editors.curate(self.catalog, self.artists, self.ledger.track_streams_last,
                                            self.ledger.track_streams_prev, t, rng("editors"))
            if self.listeners.awaiting_collections:
                # the collections joiners bring, drawn from last epoch's plays (at epoch 0 the back
                # catalog's seeded history)
                pop = self.ledger.track_streams_last[: len(self.catalog)].astype(np.float64)
                self.listeners.seed_libraries(self.catalog, rng("libraries"), pop)
            slates = build_slates(self.listeners, self.catalog, self.world, self.ledger,
                                  self.recommender, playlists, sc, t, rng("slates"))
        with self._phase("metrics"):
            metric_seed = int(rng("metrics").integers(2**31 - 1))
            # before anyone listens: the oracle sees exactly what the served slates saw
            oracle_users, oracle_utility, served_utility = oracle_evaluation(self, slates, metric_seed)
            slates.exclude = None   # listeners x tracks heard: large, and not needed while listening
        tally = self.tally = self._listen(slates, t, rng("farm"))
        with self._phase("payouts"):
            settled_active = self.listeners.active.copy()   # churn and arrivals come after settlement
            ad_weight = self.listeners.ad_weight()
            settled_premium = self.listeners.premium.copy()      # tier moves, too, come after settlement
            revenue = money.listener_revenue(settled_premium, settled_active, sc.payouts, ad_weight)
            table = self.ledger.streams_table()
            n_tracks, n_artists = len(self.catalog), self.artists.n
            scale = money.Scale.of(self.payout_scale(), n_tracks, n_artists)
            trailing = self.ledger.track_streams_window(n_tracks)
            history = min(t + 1, sc.payouts.threshold.window_epochs)
            artist_window = self.ledger.artist_window(n_artists)
            settlement = settle_all(table, revenue, n_tracks, n_artists, sc.payouts, trailing, scale,
                                    history_epochs=history, track_length_s=self.catalog.length_s,
                                    artist_window=artist_window)
            pool = money.pool_of(revenue, sc.payouts)
            artist_streams = self.ledger.artist_streams_last(n_artists)
        with self._phase("adapt"):
            self.artists.observe(t, settlement[sc.payouts.active], artist_streams,
                                 money.money_scale(scale, pool, float(table.streams.sum())),
                                 net_shares(self.artists.contract, sc.payouts.splits))
            self.artists.adapt(t)
            self.artists.respond(t)
            self.artists.exit(t, rng("adapt"))
        with self._phase("update"):
            arrivals, churned = self.listeners.update(None, self.catalog, t, rng("update"))
        with self._phase("metrics"):
            keep = sc.outputs.keep_events
            served = Served(slates.personalised_users, slates.personalised_items, matrix)
            record = EpochRecord(
                epoch=t, events=self.ledger.events if keep else None, stream=self.ledger.stream if keep else None,
                completed=self.ledger.completed if keep else None, tally=tally,
                table=table, settlement=settlement, revenue=revenue, settled_active=settled_active,
                pool=pool, scale=scale, trailing_streams=trailing, history_epochs=history,
                artist_window=artist_window, ad_weight=ad_weight, settled_premium=settled_premium,
                fit_seconds=fit.seconds, fit_loss=fit.loss,
                new_tracks=new_tracks, new_artists=new_artists, arrivals=arrivals, churned=churned,
                served=served, served_before=self._served,
                oracle_users=oracle_users, oracle_utility=oracle_utility, served_utility=served_utility,
                metric_seed=metric_seed,
                tracks=self._tracks(), artists=self._artists(), listeners=self._listeners(),
                ideal=self.ideal.step(self) if self.ideal is not None else None)
            self._served = served
        return record

    def _listen(self, slates, t: int, farm_rng: np.random.Generator) -> Tally:
        """The epoch's listening, a block of listeners at a time: each block goes to the ledger,
        the recommender's online feedback, the listeners' tallies and the epoch's tally, and is
        then dropped (unless ``outputs.keep_events``). The stream farm's plays come last."""
        sc = self.config
        n_listeners, n_artists = self.listeners.n, self.artists.n
        tally = Tally()
        self.ledger.begin(self.catalog, n_listeners, t, keep_events=sc.outputs.keep_events)
        self.listeners.begin_epoch(self.catalog)
        blocks = listen_blocks(self.listeners, slates, self.catalog, sc, t, self._kernel_seed)
        if self.farm is not None:
            blocks = itertools.chain(blocks, [self.farm.stream(self.bot_ids, t, farm_rng)])
        while True:
            with self._phase("listen"):
                block = next(blocks, None)
            if block is None:
                break
            with self._phase("ledger"):
                derived = self.ledger.add(block)
                if self.recommender is not None:
                    self.recommender.observe(block.track, derived.completed)
                tally.add(block, derived.stream, derived.completed, derived.artist, self.listeners.is_bot,
                          n_artists)
            with self._phase("update"):
                self.listeners.absorb(block, self.catalog)
        with self._phase("ledger"):
            self.ledger.finish()
        return tally

    def _tracks(self) -> Tracks:
        cat = self.catalog
        return Tracks(cat.artist, cat.release_epoch, cat.length_s, cat.intro_s, cat.style, cat.quality,
                      cat.fraud, self.ledger.track_streams_total[: len(cat)].copy())

    def _artists(self) -> Artists:
        art = self.artists
        return Artists(art.tier.copy(), art.major.copy(), art.entry_epoch.copy(), fame_tier=art.fame_tier.copy(),
                       contract=art.contract.copy(), label=art.label.copy(), active=art.active.copy(),
                       fraud=art.is_fraud.copy(), trailing_streams=art.trailing_streams(),
                       release_rate=art.release_rate.copy())

    def _listeners(self) -> Listeners:
        lis = self.listeners
        return Listeners(lis.active & ~lis.is_bot, lis.is_bot.copy(), lis.taste.copy(), lis.satisfaction.copy(), lis.premium.copy())

    def payout_scale(self) -> float:
        """Multiplier of real-world stream thresholds for this platform's size (docs/MODEL.md)."""
        sc = self.config.payouts
        if sc.scale != "auto":
            return float(sc.scale)
        return money.auto_scale(self.ledger.track_streams_last, len(self.catalog))

    def run(self, epochs: int | None = None, on_record=None) -> None:
        """Step ``epochs`` epochs (default: the scenario's burn-in and recorded epochs), calling
        ``on_record(record)`` after each."""
        for _ in range(epochs or self.config.run.total_epochs):
            record = self.step()
            if on_record is not None:
                on_record(record)

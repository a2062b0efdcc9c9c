"""The streaming model: one Mesa model whose step is one epoch (one simulated week).

The model owns the populations, the catalog, the recommender and the ledger, and runs the
epoch in the order of DESIGN.md section 3. It only wires components together: behaviour lives
in ``agents``, learning in ``recommender``, money and measurement in ``sim.payouts`` and
``sim.metrics``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager

import mesa
import numpy as np
from threadpoolctl import threadpool_limits

from streamsim import recommender
from streamsim.agents.artists import ArtistPopulation
from streamsim.agents.catalog import Catalog
from streamsim.agents.channels import build_slates
from streamsim.agents.editors import Editors
from streamsim.agents.fraud import StreamFarm
from streamsim.agents.listeners import ListenerPopulation
from streamsim.agents.listening import listen
from streamsim.agents.world import World
from streamsim.recommender.base import FitContext, FitInfo
from streamsim.economics import payouts
from streamsim.core.config import Scenario
from streamsim.core.events import Events
from streamsim.measures.gather import epoch_inputs
from streamsim.sim.ledger import Ledger
from streamsim.measures.metrics import artist_rows, collect


class StreamingModel(mesa.Model):
    """A music-streaming platform, its listeners and artists, for ``scenario.run.epochs`` weeks.

    Args:
        scenario: the validated scenario.
        n_threads: numba threads for the kernels (None: numba's default). Results do not depend on it.
    """

    def __init__(self, scenario: Scenario, n_threads: int | None = None):
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
        self.recommender = recommender.make(scenario, rec_seq)
        self.ledger = Ledger(scenario)
        self.ledger.seed_history(np.random.default_rng(epoch_seq.spawn(1)[0]).poisson(
            self.artists.prior_track_popularity()))
        self.ledger.extend(self.listeners.n, len(self.catalog))

        self.fit_info = FitInfo(0.0, float("nan"))
        self.slates = None
        self.prev_slates = None
        self.new_tracks = np.zeros(0, np.int32)
        self.new_listeners = 0
        self.churned_listeners = 0
        self.settlement: dict[str, np.ndarray] = {}
        self.stream_table = payouts.StreamTable.empty()
        self.revenue = np.zeros(0)
        self.metrics_rows: list[dict[str, float]] = []
        self.artist_tables: list[dict[str, np.ndarray]] = []

    @contextmanager
    def _phase(self, name: str):
        start = time.perf_counter()
        yield
        self.timings[name] += time.perf_counter() - start

    def step(self) -> None:
        """One epoch, in the order of DESIGN.md section 3.

        BLAS runs single-threaded inside an epoch: the parallel work is in numba kernels, and
        BLAS threads spinning beside numba's made small matrix products ten times slower.
        """
        with threadpool_limits(limits=1, user_api="blas"):
            self._step()

    def _step(self) -> None:
        sc = self.config
        t = self.epoch
        rng = np.random.default_rng(self._epoch_seq.spawn(1)[0])
        with self._phase("release"):
            self.artists.enter(t, rng)
            self.new_tracks = self.artists.release(t, rng)
            self.world.drift(rng)
            self.ledger.extend(self.listeners.n, len(self.catalog))
        with self._phase("fit"):
            if self.recommender is not None:
                ctx = FitContext(t, self.catalog, self.listeners.taste, sc.listeners.behaviour.w_taste,
                                 sc.listeners.behaviour.w_quality, self.n_threads,
                                 self.ledger.touched_listeners, self.ledger.touched_tracks)
                matrix = self.ledger.interactions(self.listeners.n, len(self.catalog))
                self.fit_info = self.recommender.fit(matrix, ctx)
        with self._phase("slates"):
            playlists = self.editors.curate(self.catalog, self.artists, self.ledger.track_streams_last,
                                            self.ledger.track_streams_prev, t, rng)
            self.prev_slates = self.slates
            self.slates = build_slates(self.listeners, self.catalog, self.world, self.ledger,
                                       self.recommender, playlists, sc, t, rng)
        with self._phase("listen"):
            events = listen(self.listeners, self.slates, self.catalog, sc, t, self._kernel_seed)
            if self.farm is not None:
                events = Events.concat([events, self.farm.stream(self.bot_ids, t, rng)])
        with self._phase("ledger"):
            self.ledger.record(events, self.catalog, self.listeners.n, t)
            if self.recommender is not None:
                self.recommender.observe(events.track, self.ledger.completed)
        with self._phase("payouts"):
            self.revenue = payouts.listener_revenue(self.listeners.premium, self.listeners.active, sc.payouts)
            self.stream_table = self.ledger.streams_table()
            self.settlement = payouts.settle_all(self.stream_table, self.revenue, len(self.catalog),
                                                 self.artists.n, sc.payouts,
                                                 self.ledger.track_streams_window(len(self.catalog)),
                                                 self.payout_scale(),
                                                 history_epochs=min(t + 1, sc.payouts.threshold.window_epochs))
        with self._phase("adapt"):
            self.artists.adapt(t, self.settlement[sc.payouts.active], self.ledger.track_streams_last,
                               self.ledger.track_plays_last, self.ledger.track_early_skips_last, rng)
        with self._phase("update"):
            self.new_listeners, self.churned_listeners = self.listeners.update(events, self.catalog, t, rng)
        with self._phase("metrics"):
            inputs = epoch_inputs(self, rng)
            self.metrics_rows.append(collect(inputs))
            if sc.outputs.artists_table:
                self.artist_tables.append(artist_rows(inputs))
        self.epoch += 1

    def payout_scale(self) -> float:
        """Multiplier of real-world stream thresholds for this platform's size (docs/MODEL.md)."""
        sc = self.config.payouts
        if sc.scale != "auto":
            return float(sc.scale)
        return payouts.auto_scale(self.ledger.track_streams_last, len(self.catalog))

    def run(self, epochs: int | None = None, on_epoch=None) -> None:
        """Run ``epochs`` epochs (default: the scenario's), calling ``on_epoch(model)`` after each."""
        for _ in range(epochs or self.config.run.epochs):
            self.step()
            if on_epoch is not None:
                on_epoch(self)

"""Stream farms: bot accounts that stream a fraudulent artist's tracks just past the 30 s rule.

The farm owns one fraudulent artist and ``fraud.tracks`` short tracks. Its bots are ordinary
listener rows (created by the listener population); each epoch every bot plays
``streams_per_bot`` of the farm's tracks, each for just over the stream threshold, so every
play is a royalty-bearing stream paid like any other. Which payout rules resist this is what
the fraud scenario measures.
"""

from __future__ import annotations

import numpy as np

from streamsim.agents.artists import ArtistPopulation
from streamsim.agents.catalog import Catalog
from streamsim.agents.world import World
from streamsim.core.codes import Channel
from streamsim.core.config import Scenario
from streamsim.core.events import Events

OVERSHOOT_S = 2.0
"""Bots stop a uniform 0-2 s after the stream threshold."""


class StreamFarm:
    """A stream farm: one fraudulent artist, its tracks, and the bots' weekly plays.

    Args:
        scenario: the validated scenario (``fraud`` section; ``listeners.behaviour.stream_threshold_s``).
        world: the world.
        catalog: the catalog; the farm's tracks are appended with ``fraud = True``.
        artists: the artist population; the fraudulent artist is appended with ``is_fraud``.
        rng: generator of the artist and its tracks.

    Attributes:
        artist: id of the fraudulent artist.
        tracks: int32 ids of the farm's tracks.
    """

    def __init__(self, scenario: Scenario, world: World, catalog: Catalog, artists: ArtistPopulation,
                 rng: np.random.Generator):
        f = scenario.fraud
        self.cfg = f
        self.threshold_s = scenario.listeners.behaviour.stream_threshold_s
        self.artist = artists.add_fraud_artist(rng)
        ids = np.full(f.tracks, self.artist, np.int32)
        cols = artists.track_columns(ids, np.zeros(f.tracks, np.int32), rng)
        cols["length_s"] = np.full(f.tracks, f.track_length_s, np.float32)
        cols["intro_s"] = np.zeros(f.tracks, np.float32)
        cols["fraud"] = np.ones(f.tracks, bool)
        self.tracks = catalog.append(**cols)

    def stream(self, bot_ids: np.ndarray, epoch: int, rng: np.random.Generator) -> Events:
        """This epoch's bot plays: ``streams_per_bot`` per bot, uniform over the farm's tracks.

        Each play lasts ``threshold + U(0, 2)`` seconds: a stream, rarely more.
        """
        bots = np.asarray(bot_ids, dtype=np.int32)
        m = len(bots) * self.cfg.streams_per_bot
        if m == 0:
            return Events.empty()
        return Events(
            listener=np.repeat(bots, self.cfg.streams_per_bot),
            track=self.tracks[rng.integers(0, len(self.tracks), m)],
            channel=np.full(m, Channel.LIBRARY, np.int8),   # their own playlists: "sought" streams
            seconds=self.threshold_s + OVERSHOOT_S * rng.random(m),
            utility=np.zeros(m, np.float32),
            saved=np.zeros(m, bool),
        )

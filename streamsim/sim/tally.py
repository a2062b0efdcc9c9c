"""An epoch's exposures summed as they stream past: what the per-exposure metrics need.

The engine hands the listening kernel's output to the ledger, the listeners and the
recommender block by block and never needs the whole epoch at once (docs/ARCHITECTURE.md,
"One epoch in blocks"). The metrics that read exposures read this tally instead, so they
give the same numbers whether or not the epoch's events are kept (``outputs.keep_events``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np

from streamsim.core.codes import CHANNELS
from streamsim.core.events import Events
from streamsim.core.units import SKIP_WINDOWS_S


@nb.njit(cache=True)
def _count(listener, channel, seconds, utility, stream, completed, artist, is_bot, windows,
           channel_plays, channel_streams, skipped_within, artist_plays):
    """One pass over a block: the counts are added in place, the sums returned (float64, in
    event order)."""
    streams = 0
    skipped = 0
    total = 0.0
    human_plays = 0
    human_total = 0.0
    for i in range(len(listener)):
        c = channel[i]
        u = np.float64(utility[i])
        channel_plays[c] += 1
        artist_plays[artist[i]] += 1
        total += u
        if stream[i]:
            streams += 1
            channel_streams[c] += 1
        if not completed[i]:
            skipped += 1
            for w in range(len(windows)):
                if seconds[i] < windows[w]:
                    skipped_within[w] += 1
        if not is_bot[listener[i]]:
            human_plays += 1
            human_total += u
    return streams, skipped, total, human_plays, human_total


def _zeros(n: int = 0) -> np.ndarray:
    return np.zeros(n, np.int64)


@dataclass
class Tally:
    """Sums over an epoch's exposures (bots included unless a field says human).

    Attributes:
        plays, streams: exposures, and those that are royalty-bearing streams.
        channel_plays, channel_streams: the same per channel (index into ``CHANNELS``).
        skipped: plays not played to the end.
        skipped_within: per window of ``SKIP_WINDOWS_S``, plays not played to the end and
            stopped before the window's seconds.
        utility: summed realised utility of all plays (float64, summed block by block).
        human_plays, human_utility: the same for human listeners only.
        artist_plays: exposures of each artist's tracks.
    """

    plays: int = 0
    streams: int = 0
    channel_plays: np.ndarray = field(default_factory=lambda: _zeros(len(CHANNELS)))
    channel_streams: np.ndarray = field(default_factory=lambda: _zeros(len(CHANNELS)))
    skipped: int = 0
    skipped_within: np.ndarray = field(default_factory=lambda: _zeros(len(SKIP_WINDOWS_S)))
    utility: float = 0.0
    human_plays: int = 0
    human_utility: float = 0.0
    artist_plays: np.ndarray = field(default_factory=_zeros)

    def add(self, events: Events, stream: np.ndarray, completed: np.ndarray, artist: np.ndarray,
            is_bot: np.ndarray, n_artists: int) -> None:
        """Add one block of exposures with the columns the ledger derived for it."""
        if not len(events):
            return
        if int(events.listener.max()) >= len(is_bot) or int(events.channel.max()) >= len(CHANNELS):
            raise ValueError("Tally.add: a listener or channel id beyond the population or the channels")
        n_artists = max(n_artists, int(artist.max()) + 1)
        if len(self.artist_plays) < n_artists:
            self.artist_plays = np.concatenate([self.artist_plays, _zeros(n_artists - len(self.artist_plays))])
        windows = np.asarray(SKIP_WINDOWS_S, np.float32)
        streams, skipped, utility, human_plays, human_utility = _count(
            events.listener, events.channel, events.seconds, events.utility, stream, completed, artist, is_bot,
            windows, self.channel_plays, self.channel_streams, self.skipped_within, self.artist_plays)
        self.plays += len(events)
        self.streams += streams
        self.skipped += skipped
        self.utility += utility
        self.human_plays += human_plays
        self.human_utility += human_utility

    @classmethod
    def of(cls, events: Events, stream: np.ndarray, completed: np.ndarray, track_artist: np.ndarray,
           is_bot: np.ndarray, n_artists: int) -> Tally:
        """The tally of a whole epoch held at once (a hand-made record's)."""
        tally = cls()
        tally.add(events, np.asarray(stream, bool), np.asarray(completed, bool),
                  np.asarray(track_artist)[events.track], np.asarray(is_bot, bool), n_artists)
        return tally

    @property
    def mean_utility(self) -> float:
        """Mean realised utility of the epoch's plays (0.0 without plays)."""
        return self.utility / self.plays if self.plays else 0.0

    @property
    def human_mean_utility(self) -> float:
        """Mean realised utility of the epoch's human plays (0.0 without any)."""
        return self.human_utility / self.human_plays if self.human_plays else 0.0

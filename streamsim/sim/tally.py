"""An epoch's exposures summed as they stream past: what the per-exposure metrics need.

The engine hands the listening kernel's output to the ledger, the listeners and the
recommender block by block and never needs the whole epoch at once (docs/ARCHITECTURE.md,
"One epoch in blocks"). The metrics that read exposures read this tally instead, so they
give the same numbers whether or not the epoch's events are kept (``outputs.keep_events``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from streamsim.core.codes import CHANNELS
from streamsim.core.events import Events
from streamsim.core.units import SKIP_WINDOWS_S


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
        n_ch = len(CHANNELS)
        channel = events.channel.astype(np.intp)
        self.plays += len(events)
        self.streams += int(np.count_nonzero(stream))
        self.channel_plays += np.bincount(channel, minlength=n_ch)[:n_ch]
        self.channel_streams += np.bincount(channel[stream], minlength=n_ch)[:n_ch]
        skipped = ~completed
        self.skipped += int(np.count_nonzero(skipped))
        for i, window in enumerate(SKIP_WINDOWS_S):
            self.skipped_within[i] += int(np.count_nonzero(skipped & (events.seconds < window)))
        utility = events.utility.astype(np.float64)
        self.utility += float(utility.sum())
        human = ~is_bot[events.listener]
        self.human_plays += int(np.count_nonzero(human))
        self.human_utility += float(utility[human].sum())
        if len(self.artist_plays) < n_artists:
            self.artist_plays = np.concatenate([self.artist_plays, _zeros(n_artists - len(self.artist_plays))])
        self.artist_plays += np.bincount(artist, minlength=n_artists)[:n_artists]

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

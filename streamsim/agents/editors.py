"""Editors: per-genre editorial playlists, curated each epoch from trends and taste.

Each genre has ``editorial_playlists_per_genre`` playlists of at most ``editorial_capacity``
tracks. An editor ranks the genre's tracks by a score of standardised signals: popularity
(log streams last epoch; for this epoch's releases, their artist's mean per track; log fame
before any stream exists), growth (log streams last epoch over the epoch before), a noisy
reading of quality (editors hear the music but do not see the truth), the artist's standing
(lists are built around the names listeners know: its log fame, or with ``artist_signal =
"streams"`` the log of its mean streams per track last epoch), plus ``editorial_major_bias`` for
major-label tracks (label promotion). Editors pick from the tracks released within
``editorial_window_epochs``. Each playlist has its own editor, so playlists of a genre overlap
but differ.
"""

from __future__ import annotations

import numpy as np

from streamsim.agents.channels import Playlists
from streamsim.agents.world import World
from streamsim.core.config import EditorsConfig, Scenario


def _standardise(x: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """z-scores within groups (0 where a group has no spread)."""
    n = np.bincount(group, minlength=n_groups).astype(np.float64)
    safe = np.maximum(n, 1.0)
    mean = np.bincount(group, weights=x, minlength=n_groups) / safe
    var = np.bincount(group, weights=x * x, minlength=n_groups) / safe - mean ** 2
    sd = np.sqrt(np.maximum(var, 0.0))
    return np.divide(x - mean[group], sd[group], out=np.zeros_like(x), where=sd[group] > 1e-12)


def editor_scores(popularity: np.ndarray, growth: np.ndarray, quality_signal: np.ndarray,
                  major: np.ndarray, genre: np.ndarray, n_genres: int, major_bias: float,
                  artist_popularity: np.ndarray | None = None,
                  weights: EditorsConfig = EditorsConfig()) -> np.ndarray:
    """Score of each candidate track: standardised signals within its genre, weighted, plus the label bonus."""
    star = 0.0 if artist_popularity is None else weights.artist * _standardise(artist_popularity, genre, n_genres)
    return (star + weights.popularity * _standardise(popularity, genre, n_genres)
            + weights.growth * _standardise(growth, genre, n_genres)
            + weights.quality * _standardise(quality_signal, genre, n_genres)
            + major_bias * major)


def top_per_genre(score: np.ndarray, tracks: np.ndarray, genre: np.ndarray, n_genres: int,
                  capacity: int) -> np.ndarray:
    """(G, capacity) the best-scoring tracks of each genre, best first (ties by id), -1 padded."""
    out = np.full((n_genres, capacity), -1, dtype=np.int32)
    by_genre = np.argsort(genre, kind="stable")
    ends = np.cumsum(np.bincount(genre, minlength=n_genres))
    starts = ends - np.bincount(genre, minlength=n_genres)
    for g in range(n_genres):
        seg = by_genre[starts[g]:ends[g]]
        if len(seg) > capacity:
            seg = seg[np.argpartition(-score[seg], capacity - 1)[:capacity]]
        seg = seg[np.lexsort((tracks[seg], -score[seg]))]
        out[g, :len(seg)] = tracks[seg]
    return out


class Editors:
    """The platform's editors: one per editorial playlist.

    Args:
        scenario: the validated scenario (``channels.editorial_*``).
        world: the world (number of genres).
        rng: generator (kept for symmetry; curation draws from the rng passed each epoch).
    """

    def __init__(self, scenario: Scenario, world: World, rng: np.random.Generator):
        ch = scenario.channels
        self.per_genre = ch.editorial_playlists_per_genre
        self.capacity = ch.editorial_capacity
        self.window = ch.editorial_window_epochs
        self.major_bias = ch.editorial_major_bias
        self.weights = ch.editors
        self.n_genres = world.n_genres
        self.rng = rng

    def curate(self, catalog, artists, track_streams_last: np.ndarray, track_streams_prev: np.ndarray,
               epoch: int, rng: np.random.Generator) -> Playlists:
        """This epoch's editorial playlists, ``per_genre`` per genre, in genre order.

        Fraudulent tracks are never picked. Before any stream exists (epoch 0 without a seeded
        history) popularity is the log fame of the track's artist; a track released this epoch
        takes its artist's mean streams per track (a new single by a popular artist is news).

        Args:
            catalog: the catalog.
            artists: the artist population (fame, major).
            track_streams_last: (T,) streams last epoch (shorter arrays are zero-padded).
            track_streams_prev: (T,) streams the epoch before.
            epoch: current epoch (tracks released at it have no streams yet).
            rng: generator of the editors' quality readings.
        """
        n_pl = self.n_genres * self.per_genre
        genre_of = np.repeat(np.arange(self.n_genres, dtype=np.int16), self.per_genre)
        if n_pl == 0 or len(catalog) == 0:
            return Playlists(np.full((n_pl, self.capacity), -1, np.int32), genre_of)
        n = len(catalog)
        eligible = ~catalog.fraud
        if self.window:
            eligible &= catalog.release_epoch > epoch - self.window
        tracks = np.flatnonzero(eligible).astype(np.int32)
        genre = catalog.genre[tracks].astype(np.int64)
        streams = _fit(track_streams_last, n)
        last = np.log1p(streams[tracks])
        prev = np.log1p(_fit(track_streams_prev, n)[tracks])
        artist_of = catalog.artist[tracks]
        fame = np.log(artists.fame[artist_of])
        if not last.any():
            popularity, growth, artist_pop = fame, np.zeros(len(tracks)), fame
        else:
            # the artist's momentum: log of its mean streams per track last epoch
            momentum = np.log1p(artist_mean_streams(catalog, streams, artists.n, epoch)[artist_of])
            artist_pop = fame if self.weights.artist_signal == "fame" else momentum
            popularity, growth = last, last - prev
            # a release of this epoch has no streams yet: editors go by its artist's momentum
            fresh = catalog.release_epoch[tracks] >= epoch
            popularity[fresh] = momentum[fresh]
        major = artists.major[artist_of].astype(np.float64)
        quality = catalog.quality[tracks].astype(np.float64)
        items = np.empty((self.n_genres, self.per_genre, self.capacity), np.int32)
        for k in range(self.per_genre):
            signal = quality + self.weights.quality_noise_sd * rng.standard_normal(len(tracks))
            score = editor_scores(popularity, growth, signal, major, genre, self.n_genres, self.major_bias,
                                  artist_pop, self.weights)
            items[:, k] = top_per_genre(score, tracks, genre, self.n_genres, self.capacity)
        return Playlists(items.reshape(n_pl, self.capacity), genre_of)


def artist_mean_streams(catalog, track_streams: np.ndarray, n_artists: int, epoch: int) -> np.ndarray:
    """Each artist's mean streams per track last epoch, over its tracks released before ``epoch``."""
    old = np.flatnonzero(catalog.release_epoch < epoch)
    artist = catalog.artist[old]
    total = np.bincount(artist, weights=track_streams[old], minlength=n_artists)
    count = np.bincount(artist, minlength=n_artists)
    return np.divide(total, count, out=np.zeros(n_artists), where=count > 0)


def _fit(values: np.ndarray, n: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if len(values) >= n:
        return values[:n]
    return np.concatenate([values, np.zeros(n - len(values))])

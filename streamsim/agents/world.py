"""The hidden world: a style space, its genres, and the maps that observers see it through.

Only the listening kernel, the generators, the oracle recommender and the metrics read the
hidden style vectors; every other recommender sees plays, audio embeddings and tags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamsim.core.config import Scenario


def normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def random_directions(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """n unit vectors uniform on the sphere in d dimensions."""
    return normalize(rng.standard_normal((n, d)))


@dataclass
class World:
    """Genres, their drifting popularity, and the fixed observation maps.

    Attributes:
        genre_centres: (G, d_style) unit vectors.
        genre_pop: (G,) genre popularity, sums to 1; drifts each epoch.
        audio_map: (d_style, audio_dim) fixed random linear map from style to audio features.
        tag_centres: (n_tags, d_style) unit vectors; a track's tags are the ones nearest its style.
        audio_noise: sd of the noise added to audio embeddings.
        genre_drift: sd of the per-epoch log-popularity random walk.
    """

    genre_centres: np.ndarray
    genre_pop: np.ndarray
    audio_map: np.ndarray
    tag_centres: np.ndarray
    audio_noise: float
    genre_drift: float

    @classmethod
    def generate(cls, scenario: Scenario, rng: np.random.Generator) -> World:
        """Draw a world from the scenario's world section."""
        w = scenario.world
        centres = random_directions(rng, w.n_genres, w.d_style)
        ranks = rng.permutation(w.n_genres) + 1.0
        pop = ranks ** -w.genre_zipf
        audio_map = (rng.standard_normal((w.d_style, w.audio_dim)) / np.sqrt(w.d_style)).astype(np.float32)
        tags = random_directions(rng, w.n_tags, w.d_style)
        return cls(centres, pop / pop.sum(), audio_map, tags, w.audio_noise, w.genre_drift)

    @property
    def d_style(self) -> int:
        return self.genre_centres.shape[1]

    @property
    def n_genres(self) -> int:
        return self.genre_centres.shape[0]

    def drift(self, rng: np.random.Generator) -> None:
        """One epoch of trend: genre log-popularity takes a Gaussian random-walk step."""
        if self.genre_drift > 0:
            logp = np.log(self.genre_pop) + rng.normal(0.0, self.genre_drift, self.n_genres)
            p = np.exp(logp - logp.max())
            self.genre_pop = p / p.sum()

    def audio(self, style: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Audio embeddings of tracks with the given styles: informative but imperfect."""
        emb = style @ self.audio_map
        emb += rng.normal(0.0, self.audio_noise, emb.shape)
        return emb.astype(np.float32)

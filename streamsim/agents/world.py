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


def simplex(x: np.ndarray) -> np.ndarray:
    """Dirichlet draws as float32 rows summing to 1 (a draw whose every component underflowed,
    possible at tiny concentrations, becomes uniform)."""
    x = np.nan_to_num(np.asarray(x, np.float64))
    total = x.sum(axis=-1, keepdims=True)
    x = np.where(total > 0, x / np.where(total > 0, total, 1.0), 1.0 / x.shape[-1])
    return x.astype(np.float32)


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
        user_alpha, item_alpha: (d_style,) Dirichlet parameters of tastes and track styles under
            the dirichlet preference model (Chaney et al. 2018); None under the style model.
    """

    genre_centres: np.ndarray
    genre_pop: np.ndarray
    audio_map: np.ndarray
    tag_centres: np.ndarray
    audio_noise: float
    genre_drift: float
    user_alpha: np.ndarray | None = None
    item_alpha: np.ndarray | None = None

    @classmethod
    def generate(cls, scenario: Scenario, rng: np.random.Generator) -> World:
        """Draw a world from the scenario's world section."""
        w = scenario.world
        centres = random_directions(rng, w.n_genres, w.d_style)
        ranks = rng.permutation(w.n_genres) + 1.0
        pop = ranks ** -w.genre_zipf
        audio_map = (rng.standard_normal((w.d_style, w.audio_dim)) / np.sqrt(w.d_style)).astype(np.float32)
        tags = random_directions(rng, w.n_tags, w.d_style)
        user_alpha = item_alpha = None
        if w.preference_model == "dirichlet":
            user_alpha = w.dirichlet_user_scale * rng.dirichlet(np.full(w.d_style, w.dirichlet_user_prior))
            item_alpha = w.dirichlet_item_scale * rng.dirichlet(np.full(w.d_style, w.dirichlet_item_prior))
        return cls(centres, pop / pop.sum(), audio_map, tags, w.audio_noise, w.genre_drift,
                   user_alpha, item_alpha)

    def tastes(self, count: int, centre: np.ndarray, taste_noise: float, rng: np.random.Generator) -> np.ndarray:
        """Tastes of new listeners: ``normalize(centre + taste_noise * N(0, I))`` under the style
        model, ``Dir(user_alpha)`` under the dirichlet model (``centre`` unused)."""
        if self.user_alpha is not None:
            return simplex(rng.dirichlet(self.user_alpha, count))
        return normalize(normalize(centre) + taste_noise * rng.standard_normal((count, self.d_style)))

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

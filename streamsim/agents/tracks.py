"""Track generation: the columns of new tracks, drawn from their artists' current state.

One pure function per column family, so the generators can be tested alone and reused by
the back catalog, weekly releases and stream farms. Every draw comes from the caller's rng.
"""

from __future__ import annotations

import numpy as np

from streamsim.agents.world import World, normalize, simplex
from streamsim.core.config import Scenario

MAX_LENGTH_S = 1800.0
_TAG_CHUNK = 100_000


def draw_tags(style: np.ndarray, tag_offset: np.ndarray, tag_centres: np.ndarray, k: int,
              noise: float, rng: np.random.Generator) -> np.ndarray:
    """Culture tags of tracks: the k tags nearest the style as writers perceive it, with noise.

    Writers describe a track by its sound (the style) shifted by what they say about its artist
    (``tag_offset``), so the tags carry style information plus an artist component, as NLP over
    blogs and lyrics would. Tags are the top-k of cosine score plus Gumbel noise, i.e. a
    sample without replacement from softmax(score / noise).

    Args:
        style: (m, d) track styles.
        tag_offset: (m, d) the artists' tag offsets, one row per track.
        tag_centres: (n_tags, d) unit tag directions.
        k: tags per track; ids beyond the vocabulary size are -1.
        noise: Gumbel scale (0 = the exact nearest tags).
        rng: random generator.
    Returns:
        (m, k) int16 tag ids, most relevant first.
    """
    m, n_tags = len(style), len(tag_centres)
    out = np.full((m, k), -1, dtype=np.int16)
    kk = min(k, n_tags)
    for start in range(0, m, _TAG_CHUNK):
        stop = min(m, start + _TAG_CHUNK)
        score = normalize(style[start:stop] + tag_offset[start:stop]) @ tag_centres.T
        if noise > 0:
            score = score + noise * rng.gumbel(size=score.shape).astype(np.float32)
        top = np.argpartition(-score, kk - 1, axis=1)[:, :kk]
        order = np.argsort(-np.take_along_axis(score, top, axis=1), axis=1, kind="stable")
        out[start:stop, :kk] = np.take_along_axis(top, order, axis=1)
    return out


def draw_regions(m: int, n_regions: int, availability: float, rng: np.random.Generator) -> np.ndarray:
    """Bitmask of the regions where each of m tracks is available (each region independently)."""
    if availability >= 1.0:
        return np.full(m, (1 << n_regions) - 1, dtype=np.uint32)
    bits = rng.random((m, n_regions)) < availability
    return (bits.astype(np.uint32) << np.arange(n_regions, dtype=np.uint32)).sum(axis=1).astype(np.uint32)


def track_noise_sd(sd: float, artist_share: float) -> float:
    """Within-artist sd of a feature whose total sd is ``sd`` with ``artist_share`` between artists."""
    return float(sd * np.sqrt(1.0 - artist_share))


def make_tracks(artist: np.ndarray, release_epoch: np.ndarray, *, genre: np.ndarray,
                style: np.ndarray, talent: np.ndarray, target_length_s: np.ndarray,
                target_intro_s: np.ndarray, tag_offset: np.ndarray, scenario: Scenario,
                world: World, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Columns of new tracks, ready for ``Catalog.append``.

    Per-artist arrays (genre, style, ...) are indexed by ``artist``; a track is drawn around its
    artist's current release style and targets:
    ``style = normalize(artist style + style_noise * N(0, I))``, ``quality ~ N(talent, quality_sd)``,
    ``length ~ N(target length, within-artist sd)`` clipped to [min_length_s, 1800],
    ``intro ~ N(target intro, within-artist sd)`` clipped to [0, length].

    Args:
        artist: (m,) artist id of each new track.
        release_epoch: (m,) release epoch of each track (negative for the back catalog).
        genre, style, talent, target_length_s, target_intro_s, tag_offset: per-artist arrays.
        scenario: the scenario (catalog, world and adaptation sections).
        world: the world (audio map, tag centres).
        rng: random generator.
    Returns:
        Every catalog column, ``fraud`` all False.
    """
    c = scenario.catalog
    m = len(artist)
    d = style.shape[1]
    if world.item_alpha is None:
        s = normalize(style[artist] + c.style_noise * rng.standard_normal((m, d)).astype(np.float32))
    else:  # Chaney et al.'s topic model: a track's style ignores its artist's
        s = simplex(rng.dirichlet(world.item_alpha, m))
    quality = talent[artist] + c.quality_sd * rng.standard_normal(m)
    length = target_length_s[artist] + track_noise_sd(c.length_sd_s, c.artist_feature_share) * rng.standard_normal(m)
    length = np.clip(length, scenario.artists.adaptation.min_length_s, MAX_LENGTH_S)
    intro = target_intro_s[artist] + track_noise_sd(c.intro_sd_s, c.artist_feature_share) * rng.standard_normal(m)
    intro = np.clip(intro, 0.0, length)
    return {
        "artist": artist.astype(np.int32),
        "genre": genre[artist].astype(np.int16),
        "style": s,
        "quality": quality.astype(np.float32),
        "length_s": length.astype(np.float32),
        "intro_s": intro.astype(np.float32),
        "release_epoch": np.asarray(release_epoch, dtype=np.int32),
        "audio": world.audio(s, rng),
        "tags": draw_tags(s, tag_offset[artist], world.tag_centres, c.tags_per_track, c.tag_noise, rng),
        "explicit": rng.random(m) < c.explicit_share,
        "regions": draw_regions(m, scenario.world.n_regions, c.region_availability, rng),
        "fraud": np.zeros(m, dtype=bool),
    }

"""The true utility of a track for a listener, without the per-exposure noise.

The listening kernel adds noise to the same expression; the oracle recommender ranks by it and
the metrics score slates with it. Two listener-specific terms complete the kernel's utility
(docs/MODEL.md section 3): the value of form (:func:`form_utility`: length and time to the hook
against the listener's ideals) and mainstreamness (:func:`mainstream_utility`: the trait times
the artist's global popularity percentile relative to the average stream's,
:func:`centred_popularity`). The oracle
and the slate scores keep the taste and quality terms only.
"""

from __future__ import annotations

import numpy as np


def expected_utility(taste: np.ndarray, style: np.ndarray, quality: np.ndarray,
                     w_taste: float, w_quality: float) -> np.ndarray:
    """Noise-free true utility of tracks for listeners: ``w_taste*cos(u, s) + w_quality*q``.

    Args:
        taste: (n, d) unit taste vectors.
        style: (m, d) unit style vectors.
        quality: (m,) track quality.
    Returns:
        (n, m) utilities, float32.
    """
    return (w_taste * (taste @ style.T) + w_quality * quality[None, :]).astype(np.float32)


def slate_utility(users: np.ndarray, items: np.ndarray, taste: np.ndarray, style: np.ndarray,
                  quality: np.ndarray, w_taste: float, w_quality: float, k: int) -> np.ndarray:
    """Mean noise-free true utility of the first k items of each slate row; pads (-1) ignored.

    Utility is ``w_taste·cos(taste, style) + w_quality·quality`` (:func:`expected_utility`).
    Rows without any item get 0.0.
    """
    items = np.asarray(items, np.int64)
    if items.ndim != 2:
        items = items.reshape(len(users), -1) if len(users) else np.zeros((0, 0), np.int64)
    items = items[:, :k]
    valid = items >= 0
    if not valid.any():
        return np.zeros(len(users))
    safe = np.where(valid, items, 0)
    t = np.asarray(taste, np.float64)[np.asarray(users, np.int64)]
    s = np.asarray(style, np.float64)[safe]
    tn = np.linalg.norm(t, axis=1)[:, None]
    sn = np.linalg.norm(s, axis=2)
    dot = np.einsum("nd,nkd->nk", t, s)
    cos = np.divide(dot, tn * sn, out=np.zeros_like(dot), where=(tn * sn) > 0)
    u = w_taste * cos + w_quality * np.asarray(quality, np.float64)[safe]
    n_valid = valid.sum(axis=1)
    return np.divide((u * valid).sum(axis=1), n_valid, out=np.zeros(len(users)), where=n_valid > 0)


def popularity_percentile(streams: np.ndarray) -> np.ndarray:
    """Global popularity percentile of each artist, in (0, 1): ``(rank − ½) / n`` of its streams
    among all n artists, ties sharing their mean rank (so artists without streams share one value)."""
    x = np.asarray(streams, np.float64)
    if len(x) == 0:
        return np.zeros(0)
    return (mean_ranks(x) - 0.5) / len(x)


def mean_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of x, ties sharing their mean rank (scipy.stats.rankdata's "average"; kept here
    so that a run does not import scipy.stats)."""
    x = np.asarray(x).ravel()
    n = len(x)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    start = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]]) if n else np.zeros(0, np.int64)
    end = np.r_[start[1:], n]
    ranks = np.empty(n)
    ranks[order] = np.repeat(0.5 * (start + end + 1), end - start)
    return ranks


def form_utility(length: np.ndarray, intro: np.ndarray, length_ideal: np.ndarray, intro_ideal: np.ndarray,
                 length_weight: float, length_tolerance: float, intro_weight: float,
                 intro_tolerance: float) -> np.ndarray:
    """The value of form: ``κ_L·(1 − ((len − L*)/ω_L)²) + κ_I·(1 − ((intro − I*)/ω_I)²)``.

    A track at the listener's ideal length L* and ideal time to the hook I* gains κ_L + κ_I; one
    tolerance ω away, nothing; further away, a cost growing with the square of the distance, so a
    listener with a long ideal pays for tracks cut too short and one with a short ideal for long
    ones. Arrays broadcast (tracks against listeners).
    """
    dl = (np.asarray(length, np.float64) - length_ideal) / length_tolerance
    di = (np.asarray(intro, np.float64) - intro_ideal) / intro_tolerance
    return length_weight * (1.0 - dl * dl) + intro_weight * (1.0 - di * di)


def centred_popularity(artist_streams: np.ndarray) -> np.ndarray:
    """Each artist's global popularity percentile π (:func:`popularity_percentile`) minus π̄, the
    percentile of the average stream (Σ streams·π / Σ streams): about 0 for the artists most
    streams go to, negative down the tail (down to about −π̄)."""
    streams = np.asarray(artist_streams, np.float64)
    pct = popularity_percentile(streams)
    total = streams.sum()
    return pct - (float(streams @ pct) / total if total > 0 else 0.5)


def mainstream_utility(trait: np.ndarray, centred: np.ndarray, weight: float) -> np.ndarray:
    """Mainstreamness in utility: ``β·m·(π − π̄)`` (:func:`centred_popularity`): on the artists
    most streams go to it is about 0 for everyone; down the tail a mainstream listener (m > 0)
    loses and a niche one (m < 0) gains."""
    return weight * np.asarray(trait, np.float64) * np.asarray(centred, np.float64)


def tilt_quantile(u, k):
    """A draw's quantile u in (0, 1) with its odds ``u / (1 − u)`` divided by k: over candidates
    ordered most popular first, k > 1 draws nearer the top and k < 1 nearer the tail (k = 1 leaves
    u unchanged). Mainstreamness m tilts where a listener finds music with ``k = exp(γ·m)``.
    Works on floats and arrays (and compiles in numba)."""
    return u / (u + k * (1.0 - u))

"""The true utility of a track for a listener, without the per-exposure noise.

The listening kernel adds noise to the same expression; the oracle recommender ranks by it and
the metrics score slates with it.
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

"""The per-artist table of an epoch (artists.parquet): one row per artist."""

from __future__ import annotations

import numpy as np

from streamsim.economics.rules import rule_names
from streamsim.economics.tables import sum_by
from streamsim.measures.view import EpochView

COLUMNS_DOC = {
    "epoch": ("epoch", ""),
    "burn_in": ("bool", "a burn-in epoch (left out of plots, summaries and studies)"),
    "artist_id": ("id", "row number of the artist"),
    "tier": ("code", "0 superstar, 1 established, 2 emerging, by rank of trailing_streams"),
    "fame_tier": ("code", "the tier given by fame at entry (fixed)"),
    "major_label": ("bool", "signed to a major"),
    "contract": ("code", "0 major, 1 independent label, 2 self-released"),
    "label_id": ("id", "label (majors first), -1 self-released"),
    "active": ("bool", "still releasing (false after an exit)"),
    "entry_epoch": ("epoch", "epoch the artist entered (≤ 0 for the initial population)"),
    "trailing_streams": ("streams", "streams over the last tier_window_epochs epochs (pre-run history "
                                    "fills epochs before the run)"),
    "popularity_decile": ("decile", "1-10 by trailing_streams, 1 = least streamed (0 for stream farms)"),
    "release_rate": ("tracks per epoch", "the artist's current release rate"),
    "streams": ("streams", "this epoch"),
    "unique_listeners": ("listeners", "distinct listeners who streamed the artist this epoch"),
    "impressions": ("exposures", "exposures of the artist's tracks this epoch"),
    "tracks_released": ("tracks", "releases this epoch"),
    "release_mean_length_s": ("s", "mean length of this epoch's releases (none → 0)"),
    "release_mean_intro_s": ("s", "mean intro of this epoch's releases (none → 0)"),
    "payout_<r>": ("USD", "the artist's payout under each registered rule r"),
    "net_income": ("USD", "payout under the active rule times the contract's net share"),
}
"""Columns of artists.parquet: (unit, meaning), as docs/MODEL.md lists them."""


def artist_rows(view: EpochView) -> dict[str, np.ndarray]:
    """The epoch's rows of artists.parquet as a dict of equal-length columns."""
    r = view.record
    n_a = view.n_artists
    released = view.released
    rel_artist = np.asarray(r.tracks.artist)[released]
    n_rel = np.bincount(rel_artist, minlength=n_a)[:n_a]

    def release_mean(values: np.ndarray) -> np.ndarray:
        return np.divide(sum_by(rel_artist, np.asarray(values)[released], n_a), n_rel, out=np.zeros(n_a),
                         where=n_rel > 0)

    a = r.artists

    def known(values, default, dtype) -> np.ndarray:
        return np.full(n_a, default, dtype) if values is None else np.asarray(values, dtype)

    out = {
        "epoch": np.full(n_a, r.epoch, np.int32),
        "burn_in": np.full(n_a, r.epoch < view.scenario.run.burn_in_epochs, bool),
        "artist_id": np.arange(n_a, dtype=np.int32),
        "tier": np.asarray(a.tier, np.int8),
        "fame_tier": known(a.fame_tier, -1, np.int8),
        "major_label": np.asarray(a.major, bool),
        "contract": known(a.contract, -1, np.int8),
        "label_id": known(a.label, -1, np.int32),
        "active": known(a.active, True, bool),
        "entry_epoch": np.asarray(a.entry_epoch, np.int32),
        "trailing_streams": known(a.trailing_streams, 0.0, np.float64),
        "popularity_decile": (view.popularity_decile + 1).astype(np.int8),
        "release_rate": known(a.release_rate, 0.0, np.float32),
        "streams": view.artist_streams,
        "unique_listeners": view.unique_listeners,
        "impressions": view.impressions,
        "tracks_released": n_rel.astype(np.int64),
        "release_mean_length_s": release_mean(r.tracks.length_s),
        "release_mean_intro_s": release_mean(r.tracks.intro_s),
    }
    for rule in rule_names():
        out[f"payout_{rule}"] = view.artist_payout(rule)
    out["net_income"] = view.artist_net(view.scenario.payouts.active)
    return out

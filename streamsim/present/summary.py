"""The headline figures of a run, as shown by ``streamsim show`` and at the end of ``run``."""

from __future__ import annotations

import pandas as pd

HEADLINE = (
    "active_listeners", "catalog_tracks", "streams_per_listener", "artists_per_listener",
    "skip_share_5s", "skip_share_30s", "skip_share_before_end",
    "channel_share_library", "channel_share_personalised", "channel_share_radio",
    "channel_share_editorial", "channel_share_search",
    "revenue", "pool", "per_stream_value_pro_rata",
    "payout_gini_pro_rata", "payout_gini_user_centric", "payout_gini_artist_centric", "payout_gini_threshold",
    "stream_top1_share_artists", "stream_top10_share_artists", "emerging_stream_share",
    "jaccard_random_pairs", "effective_artists", "rec_coverage",
    "mean_true_utility", "churn_rate", "rec_fit_seconds", "rec_ndcg_at_k",
)


def _fmt(x: float) -> str:
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.4g}"


def summary_rows(metrics: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """(metric, first epoch, last epoch, mean over epochs) for each headline metric present."""
    rows = []
    for name in HEADLINE:
        if name in metrics.columns and len(metrics):
            col = metrics[name].astype(float)
            rows.append((name, _fmt(col.iloc[0]), _fmt(col.iloc[-1]), _fmt(col.mean())))
    return rows

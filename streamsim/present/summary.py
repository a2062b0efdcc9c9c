"""The headline figures of a run, as shown by ``streamsim show`` and at the end of ``run``."""

from __future__ import annotations

import pandas as pd

from streamsim.measures.registry import headline, recorded


def _fmt(x: float) -> str:
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.4g}"


def summary_rows(metrics: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """(metric, first epoch, last epoch, mean over epochs) for each headline metric present."""
    metrics = recorded(metrics)
    rows = []
    for name in headline():
        if name in metrics.columns and len(metrics):
            col = metrics[name].astype(float)
            rows.append((name, _fmt(col.iloc[0]), _fmt(col.iloc[-1]), _fmt(col.mean())))
    return rows

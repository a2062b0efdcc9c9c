"""Calibration: run a scenario and set each figure of shared/calibration.md beside its band.

Targets C1-C10 are real-world figures (Spotify, IFPI, Luminate, Hu-Koren-Volinsky). The
simulated platform is far smaller than a real one, so stream-count thresholds are scaled by
the platform's payout scale (docs/MODEL.md, "Platform size").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from streamsim.core.config import Scenario

EPOCHS_PER_YEAR = 52


@dataclass
class Tally:
    """Per-epoch figures gathered while the model runs (what metrics.parquet does not keep)."""

    streams_per_listener: list[np.ndarray] = field(default_factory=list)
    artist_streams: np.ndarray = field(default_factory=lambda: np.zeros(0))
    track_streams: np.ndarray = field(default_factory=lambda: np.zeros(0))
    old_streams: int = 0
    all_streams: int = 0
    catalog_start: int = 0
    catalog_end: int = 0
    percentile_rank: dict[str, float] = field(default_factory=dict)
    scale: float = 1.0

    def __call__(self, model) -> None:
        led, cat = model.ledger, model.catalog
        if not self.catalog_start:
            self.catalog_start = len(cat) - len(model.new_tracks)
        self.catalog_end = len(cat)
        ev = led.events
        humans = ~model.listeners.is_bot[ev.listener]
        s = led.stream & humans
        active = model.listeners.active & ~model.listeners.is_bot
        per_listener = np.bincount(ev.listener[s], minlength=model.listeners.n)[active]
        self.streams_per_listener.append(per_listener)
        self.artist_streams = _add(self.artist_streams, np.bincount(led.artist[s], minlength=model.artists.n))
        self.track_streams = _add(self.track_streams, np.bincount(ev.track[s], minlength=len(cat)))
        age = (model.epoch - 1) - cat.release_epoch[ev.track[s]]
        self.old_streams += int(np.sum(age > EPOCHS_PER_YEAR))
        self.all_streams += int(s.sum())
        self.scale = model.payout_scale()
        if model.epoch == model.config.run.epochs:
            self.percentile_rank = percentile_ranks(model)


def _add(total: np.ndarray, part: np.ndarray) -> np.ndarray:
    if len(total) < len(part):
        total = np.concatenate([total, np.zeros(len(part) - len(total))])
    total[: len(part)] += part
    return total


def percentile_ranks(model, n_users: int = 500) -> dict[str, float]:
    """Expected percentile rank of this epoch's streams under the recommender and popularity.

    The recommender was fitted before the epoch's listening, so the epoch's streams are held
    out. Rank 0 % is the top of the list, 50 % is random (Hu, Koren and Volinsky 2008).
    """
    led = model.ledger
    n_tracks = len(model.catalog)
    ev = led.events
    s = led.stream & ~model.listeners.is_bot[ev.listener]
    users = np.unique(ev.listener[s])
    if len(users) == 0:
        return {}
    rng = np.random.default_rng(0)
    users = np.sort(rng.choice(users, size=min(n_users, len(users)), replace=False)).astype(np.int32)
    mask = np.isin(ev.listener, users) & s
    row = np.searchsorted(users, ev.listener[mask])
    track = ev.track[mask]
    per_user = np.bincount(row, minlength=len(users))

    def mean_rank(rank_of_stream: np.ndarray) -> float:
        return float(np.mean(np.bincount(row, weights=rank_of_stream, minlength=len(users)) / per_user))

    scale = max(n_tracks - 1, 1)
    pop_order = np.argsort(-led.track_streams_prev[:n_tracks], kind="stable")
    pop_rank = np.empty(n_tracks)
    pop_rank[pop_order] = np.arange(n_tracks) / scale
    out = {"popularity": mean_rank(pop_rank[track])}
    if model.recommender is not None:
        items, _ = model.recommender.recommend(users, n_tracks)
        rank = np.ones((len(users), n_tracks))  # items the recommender never ranks count as last
        r, c = np.nonzero(items >= 0)
        rank[r, items[r, c]] = c / scale
        out[model.recommender.name] = mean_rank(rank[row, track])
    return out


def _band(value: float, lo: float, hi: float) -> str:
    return "pass" if lo <= value <= hi else "out of band"


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def rows_from(metrics, tally: Tally, scenario: Scenario) -> list[dict[str, str]]:
    """The calibration table: one row per target, with measured value, band and status."""
    m = metrics
    rows = []
    s5, s30, send = (float(m[c].mean()) for c in ("skip_share_5s", "skip_share_30s", "skip_share_before_end"))
    early_share = s30 / send if send > 0 else 0.0
    ok = all(_band(v, lo, hi) == "pass" for v, lo, hi in ((s5, .2, .3), (s30, .3, .4), (send, .4, .55)))
    rows.append(dict(id="C1", what="plays skipped within 5 s / 30 s / before end; share of skips in first 30 s",
                     measured=f"{_pct(s5)} / {_pct(s30)} / {_pct(send)}; {_pct(early_share)}",
                     band="20-30 % / 30-40 % / 40-55 %; >= 60 %",
                     status="pass" if ok and early_share >= 0.6 else "out of band"))

    per = np.concatenate(tally.streams_per_listener) if tally.streams_per_listener else np.zeros(1)
    mean_streams = float(np.mean(per)) if len(per) else 0.0
    top = np.sort(per)[::-1][: max(1, len(per) // 5)]
    top20 = float(top.sum() / per.sum()) if per.sum() > 0 else 0.0
    skew = float(np.mean(((per - per.mean()) / (per.std() + 1e-12)) ** 3))
    rows.append(dict(id="C2", what="royalty-bearing streams per active listener per week; heaviest 20 % share; skew",
                     measured=f"{mean_streams:.0f} (median {np.median(per):.0f}); {_pct(top20)}; skew {skew:.2f}",
                     band="50-250, right-skewed; heaviest 20 % >> 20 %",
                     status="pass" if 50 <= mean_streams <= 250 and top20 > 0.3 and skew > 0 else "out of band"))

    apl = float(m["artists_per_listener"].mean())
    rows.append(dict(id="C3", what="distinct artists streamed per active listener per week",
                     measured=f"{apl:.1f} (catalog {int(m['catalog_tracks'].iloc[-1]):,} tracks, "
                              f"{scenario.artists.count:,} artists)",
                     band="25-60 at full scale", status="reported"))

    prog = float(sum(m[f"channel_share_{c}"].mean() for c in ("personalised", "radio", "editorial")))
    lib = float(m["channel_share_library"].mean())
    rows.append(dict(id="C4", what="streams from programmed surfaces (mix + radio + editorial) / from library",
                     measured=f"{_pct(prog)} / {_pct(lib)}", band="20-45 % / 30-45 %",
                     status="pass" if 0.2 <= prog <= 0.45 and 0.3 <= lib <= 0.45 else "out of band"))

    a = np.sort(tally.artist_streams)[::-1]
    total = a.sum()
    top1 = float(a[: max(1, int(np.ceil(0.01 * len(a))))].sum() / total) if total else 0.0
    top10 = float(a[: max(1, int(np.ceil(0.10 * len(a))))].sum() / total) if total else 0.0
    years = scenario.run.epochs / EPOCHS_PER_YEAR
    rows.append(dict(id="C5", what=f"top 1 % / top 10 % of artists' share of streams over the run ({years:.2g} y)",
                     measured=f"{_pct(top1)} / {_pct(top10)}", band="75-95 % / >= 95 %",
                     status="pass" if 0.75 <= top1 <= 0.95 and top10 >= 0.95 else "out of band"))

    bar = 1000.0 * tally.scale * years
    t = tally.track_streams
    under = float(np.mean(t < bar)) if len(t) else 0.0
    none = float(np.mean(t == 0)) if len(t) else 0.0
    rows.append(dict(id="C6", what=f"tracks under the scaled 1,000-stream bar ({bar:.3g} streams) / with none",
                     measured=f"{_pct(under)} / {_pct(none)}", band="75-90 % / 15-30 %",
                     status="pass" if 0.75 <= under <= 0.9 and 0.15 <= none <= 0.3 else "out of band"))

    old = tally.old_streams / tally.all_streams if tally.all_streams else 0.0
    rows.append(dict(id="C7", what="share of streams to tracks released more than a year before",
                     measured=_pct(old), band="70-90 %", status=_band(old, 0.7, 0.9)))

    growth = (tally.catalog_end / tally.catalog_start) ** (1 / years) - 1 if tally.catalog_start else 0.0
    rows.append(dict(id="C8", what="catalog growth per year", measured=_pct(growth), band="15-30 %",
                     status=_band(growth, 0.15, 0.30)))

    psv = float(m["per_stream_value_pro_rata"].mean())
    share = scenario.payouts.rights_share
    rows.append(dict(id="C9", what="rights holders' share of revenue; blended per-stream value (pro rata)",
                     measured=f"{_pct(share)}; ${psv:.4f}", band="60-70 %; $0.003-0.005",
                     status="pass" if 0.6 <= share <= 0.7 and 0.003 <= psv <= 0.005 else "out of band"))

    pr = tally.percentile_rank
    rec = [k for k in pr if k != "popularity"]
    if rec and "popularity" in pr:
        better = pr[rec[0]] < pr["popularity"]
        rows.append(dict(id="C10", what="expected percentile rank of held-out streams: recommender vs popularity",
                         measured=f"{rec[0]} {_pct(pr[rec[0]])} vs popularity {_pct(pr['popularity'])}",
                         band="recommender clearly lower", status="pass" if better else "out of band"))
    else:
        rows.append(dict(id="C10", what="expected percentile rank: recommender vs popularity",
                         measured="no recommender in this scenario", band="recommender clearly lower",
                         status="not measured"))
    return rows


def calibrate(scenario: Scenario, quiet: bool = True, out_root: str | Path | None = None) -> tuple[list[dict], Path]:
    """Run the scenario, write ``calibration.json`` into its run folder, return the rows and folder."""
    import pandas as pd

    from streamsim.studies import runner

    tally = Tally()
    run_dir = runner.run(scenario, out_root=out_root, quiet=quiet, on_epoch=tally)
    metrics = pd.read_parquet(run_dir / "metrics.parquet")
    rows = rows_from(metrics, tally, scenario)
    runner.write_json(run_dir / "calibration.json", rows)
    return rows, run_dir

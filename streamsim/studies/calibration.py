"""Calibration: run a scenario and set each figure of shared/calibration.md beside its band.

Targets C1-C10 are real-world figures (Spotify, IFPI, Luminate, Hu-Koren-Volinsky). The
simulated platform is far smaller than a real one, so stream-count thresholds are scaled by
the platform's payout scale (docs/MODEL.md, "Platform size").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from streamsim.core.config import Scenario
from streamsim.core.units import EPOCHS_PER_YEAR
from streamsim.measures.registry import recorded
from streamsim.recommender.base import Wrapper

RANK_BLOCK = 1 << 25
"""Items x users ranked at once by `percentile_ranks`: bounds its memory (a few hundred MB)
whatever the catalog's size."""


BANDS: dict[str, tuple[float, float]] = {
    "C1_skip_5s": (0.20, 0.30), "C1_skip_30s": (0.30, 0.40), "C1_skip_before_end": (0.40, 0.55),
    "C1_skips_in_first_30s": (0.60, 1.0),
    "C2_streams_per_active": (50.0, 250.0), "C2_top20_share": (0.30, 1.0),
    "C4_programmed": (0.20, 0.45), "C4_library": (0.30, 0.45),
    "C5_top1": (0.75, 0.95), "C5_top10": (0.95, 1.0),
    "C6_under_bar": (0.75, 0.90), "C6_none": (0.15, 0.30),
    "C7_old_share": (0.70, 0.90), "C8_growth": (0.15, 0.30),
    "C9_rights_share": (0.60, 0.70), "C9_per_stream_usd": (0.003, 0.005),
}
"""The bands of shared/calibration.md, written once. C2's "heaviest 20 % clearly more than 20 %"
is read as a share of at least 30 %; C3 is reported beside the catalog size, not banded; C10 is a
comparison (the recommender's rank below popularity's)."""


def in_band(key: str, value: float) -> bool:
    lo, hi = BANDS[key]
    return lo <= value <= hi


@dataclass
class Tally:
    """Figures gathered from every recorded epoch's record (what metrics.parquet does not keep;
    burn-in epochs are skipped), and the held-out ranking figures of C10 from the model after the
    last epoch and the matrix it was fitted on."""

    burn_in_epochs: int = 0
    streams_per_listener: list[np.ndarray] = field(default_factory=list)
    artist_streams: np.ndarray = field(default_factory=lambda: np.zeros(0))
    track_streams: np.ndarray = field(default_factory=lambda: np.zeros(0))
    old_streams: int = 0
    all_streams: int = 0
    catalog_start: int = 0
    catalog_end: int = 0
    percentile_rank: dict[str, float] = field(default_factory=dict)
    scale: float = 1.0
    trained: sp.csr_matrix | None = None

    def on_record(self, record) -> None:
        if record.epoch < self.burn_in_epochs:
            return
        tracks, lis = record.tracks, record.listeners
        n_tracks = len(tracks.artist)
        if not self.catalog_start:
            self.catalog_start = n_tracks - len(record.new_tracks)
        self.catalog_end = n_tracks
        t = record.table
        human = ~lis.is_bot[t.listener]
        listener, track, streams = t.listener[human], t.track[human], t.streams[human]
        self.streams_per_listener.append(np.bincount(listener, weights=streams, minlength=len(lis.active))[lis.active])
        artist = tracks.artist[track]
        self.artist_streams = _add(self.artist_streams, np.bincount(artist, weights=streams,
                                                                    minlength=len(record.artists.tier)))
        self.track_streams = _add(self.track_streams, np.bincount(track, weights=streams, minlength=n_tracks))
        age = record.epoch - tracks.release_epoch[track]
        self.old_streams += int(streams[age > EPOCHS_PER_YEAR].sum())
        self.all_streams += int(streams.sum())
        self.scale = record.scale.track
        self.trained = record.served.trained

    def on_end(self, model) -> None:
        self.percentile_rank = percentile_ranks(model, self.trained)


def _add(total: np.ndarray, part: np.ndarray) -> np.ndarray:
    if len(total) < len(part):
        total = np.concatenate([total, np.zeros(len(part) - len(total))])
    total[: len(part)] += part
    return total


def percentile_ranks(model, seen: sp.spmatrix | None = None, n_users: int = 500) -> dict[str, float]:
    """Expected percentile rank of this epoch's streams of unseen items, under the recommender
    and under popularity.

    The recommender was fitted before the epoch's listening on ``seen`` (the ledger's matrix), so
    the epoch's streams are held out; streams of items in the listener's row of ``seen`` (replays
    of what the model trained on) are left out, and both rankings are over the items the model
    had not seen for that listener. Rank 0 % is the top of the list, 50 % is random (Hu, Koren
    and Volinsky 2008). A recommender that serves from cluster candidates ranks only those, the
    rest count as last; its model's ranking of every item is also returned, as "<name> exact".
    """
    led = model.ledger
    n_tracks = len(model.catalog)
    t = led.streams_table()
    s = ~model.listeners.is_bot[t.listener]
    known = _padded(sp.csr_matrix((model.listeners.n, n_tracks), dtype=bool) if seen is None else seen,
                    model.listeners.n, n_tracks)
    s[s] = ~np.asarray(known[t.listener[s], t.track[s]], bool).ravel()     # held out and unseen
    users = np.unique(t.listener[s])
    if len(users) == 0:
        return {}
    rng = np.random.default_rng(0)
    users = np.sort(rng.choice(users, size=min(n_users, len(users)), replace=False)).astype(np.int32)
    mask = np.isin(t.listener, users) & s
    row = np.searchsorted(users, t.listener[mask])
    order = np.argsort(row, kind="stable")
    row, track, streams = row[order], t.track[mask][order], t.streams[mask][order]
    per_user = np.bincount(row, weights=streams, minlength=len(users))

    pop_order = np.argsort(-led.track_streams_prev[:n_tracks], kind="stable")
    names = ["popularity"] + ([model.recommender.name] if model.recommender is not None else [])
    if model.recommender is not None and getattr(model.recommender, "uses_candidates", False):
        names.append(f"{model.recommender.name} exact")
    per_rank = {name: np.empty(len(users)) for name in names}
    step = max(1, RANK_BLOCK // max(n_tracks, 1))
    for lo in range(0, len(users), step):
        hi = min(lo + step, len(users))
        block = slice(np.searchsorted(row, lo), np.searchsorted(row, hi))
        ranks = _block_ranks(model, users[lo:hi], known, pop_order, n_tracks)
        for name, rank in zip(names, ranks):
            r = row[block] - lo
            per_rank[name][lo:hi] = np.bincount(r, weights=rank[r, track[block]] * streams[block],
                                                minlength=hi - lo)
    return {name: float(np.mean(v / per_user)) for name, v in per_rank.items()}


def _block_ranks(model, users: np.ndarray, known: sp.csr_matrix, pop_order: np.ndarray, n_tracks: int):
    """Percentile rank of every item for each of ``users``: under popularity, then under the
    recommender (if any) as served, then, if it serves from candidates, under the model's
    ranking of every item. Items a ranking never reaches count as last (1.0)."""
    candidate = np.ones((len(users), n_tracks), bool)      # the items each ranking orders
    r, c = known[users].nonzero()
    candidate[r, c] = False
    scale = np.maximum(candidate.sum(axis=1) - 1, 1).astype(np.float32)[:, None]
    rank = np.empty((len(users), n_tracks), np.float32)
    rank[:, pop_order] = (np.cumsum(candidate[:, pop_order], axis=1, dtype=np.int32) - 1) / scale
    yield rank
    if model.recommender is not None:
        yield _slate_ranks(model.recommender.recommend(users, n_tracks, exclude=known)[0], scale, rank)
        if getattr(model.recommender, "uses_candidates", False):     # the model's ranking of every item
            inner = model.recommender
            while isinstance(inner, Wrapper):
                inner = inner.inner
            yield _slate_ranks(inner.recommend(users, n_tracks, exclude=known, exact=True)[0], scale, rank)


def _slate_ranks(items: np.ndarray, scale: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """``rank`` (overwritten) with each item's position in its row of ``items`` over ``scale``;
    items the ranking never reaches count as last (1.0)."""
    rank[:] = 1.0
    r, c = np.nonzero(items >= 0)
    rank[r, items[r, c]] = (c / scale[r, 0]).astype(np.float32)
    return rank


def _padded(m: sp.spmatrix, rows: int, cols: int) -> sp.csr_matrix:
    """m as a CSR of at least the given shape (new rows and columns empty)."""
    m = sp.csr_matrix(m)
    if m.shape[0] >= rows and m.shape[1] >= cols:
        return m
    m = m.copy()
    m.resize((max(rows, m.shape[0]), max(cols, m.shape[1])))
    return m


def _band(ok: bool) -> str:
    return "pass" if ok else "out of band"


def _range(key: str, pct: bool = True) -> str:
    lo, hi = BANDS[key]
    return f"{100 * lo:.0f}-{100 * hi:.0f} %" if pct else f"{lo:g}-{hi:g}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def rows_from(metrics, tally: Tally, scenario: Scenario) -> list[dict[str, str]]:
    """The calibration table: one row per target, with measured value, band and status."""
    m = metrics
    rows = []
    s5, s30, send = (float(m[c].mean()) for c in ("skip_share_5s", "skip_share_30s", "skip_share_before_end"))
    early_share = s30 / send if send > 0 else 0.0
    ok = (in_band("C1_skip_5s", s5) and in_band("C1_skip_30s", s30) and in_band("C1_skip_before_end", send)
          and in_band("C1_skips_in_first_30s", early_share))
    rows.append(dict(id="C1", what="plays skipped within 5 s / 30 s / before end; share of skips in first 30 s",
                     measured=f"{_pct(s5)} / {_pct(s30)} / {_pct(send)}; {_pct(early_share)}",
                     band=f"{_range('C1_skip_5s')} / {_range('C1_skip_30s')} / {_range('C1_skip_before_end')}; "
                          f">= {100 * BANDS['C1_skips_in_first_30s'][0]:.0f} %",
                     status=_band(ok)))

    per = np.concatenate(tally.streams_per_listener) if tally.streams_per_listener else np.zeros(1)
    mean_streams = float(np.mean(per)) if len(per) else 0.0
    top = np.sort(per)[::-1][: max(1, len(per) // 5)]
    top20 = float(top.sum() / per.sum()) if per.sum() > 0 else 0.0
    skew = float(np.mean(((per - per.mean()) / (per.std() + 1e-12)) ** 3))
    rows.append(dict(id="C2", what="royalty-bearing streams per active listener per week; heaviest 20 % share; skew",
                     measured=f"{mean_streams:.0f} (median {np.median(per):.0f}); {_pct(top20)}; skew {skew:.2f}",
                     band=f"{_range('C2_streams_per_active', pct=False)}, right-skewed; heaviest 20 % >= "
                          f"{100 * BANDS['C2_top20_share'][0]:.0f} %",
                     status=_band(in_band("C2_streams_per_active", mean_streams) and in_band("C2_top20_share", top20)
                                  and skew > 0)))

    apl = float(m["artists_per_listener"].mean())
    rows.append(dict(id="C3", what="distinct artists streamed per active listener per week",
                     measured=f"{apl:.1f} (catalog {int(m['catalog_tracks'].iloc[-1]):,} tracks, "
                              f"{scenario.artists.count:,} artists)",
                     band="25-60 at full scale", status="reported"))

    prog = float(sum(m[f"channel_share_{c}"].mean() for c in ("personalised", "radio", "editorial")))
    lib = float(m["channel_share_library"].mean())
    rows.append(dict(id="C4", what="streams from programmed surfaces (mix + radio + editorial) / from library",
                     measured=f"{_pct(prog)} / {_pct(lib)}", band=f"{_range('C4_programmed')} / {_range('C4_library')}",
                     status=_band(in_band("C4_programmed", prog) and in_band("C4_library", lib))))

    a = np.sort(tally.artist_streams)[::-1]
    total = a.sum()
    top1 = float(a[: max(1, int(np.ceil(0.01 * len(a))))].sum() / total) if total else 0.0
    top10 = float(a[: max(1, int(np.ceil(0.10 * len(a))))].sum() / total) if total else 0.0
    years = scenario.run.epochs / EPOCHS_PER_YEAR
    rows.append(dict(id="C5", what=f"top 1 % / top 10 % of artists' share of streams over the run ({years:.2g} y)",
                     measured=f"{_pct(top1)} / {_pct(top10)}",
                     band=f"{_range('C5_top1')} / >= {100 * BANDS['C5_top10'][0]:.0f} %",
                     status=_band(in_band("C5_top1", top1) and in_band("C5_top10", top10))))

    bar = 1000.0 * tally.scale * years
    t = tally.track_streams
    under = float(np.mean(t < bar)) if len(t) else 0.0
    none = float(np.mean(t == 0)) if len(t) else 0.0
    rows.append(dict(id="C6", what=f"tracks under the scaled 1,000-stream bar ({bar:.3g} streams) / with none",
                     measured=f"{_pct(under)} / {_pct(none)}", band=f"{_range('C6_under_bar')} / {_range('C6_none')}",
                     status=_band(in_band("C6_under_bar", under) and in_band("C6_none", none))))

    old = tally.old_streams / tally.all_streams if tally.all_streams else 0.0
    rows.append(dict(id="C7", what="share of streams to tracks released more than a year before",
                     measured=_pct(old), band=_range("C7_old_share"), status=_band(in_band("C7_old_share", old))))

    growth = (tally.catalog_end / tally.catalog_start) ** (1 / years) - 1 if tally.catalog_start else 0.0
    rows.append(dict(id="C8", what="catalog growth per year", measured=_pct(growth), band=_range("C8_growth"),
                     status=_band(in_band("C8_growth", growth))))

    psv = float(m["per_stream_value_pro_rata"].mean())
    share = scenario.payouts.rights_share
    rows.append(dict(id="C9", what="rights holders' share of revenue; blended per-stream value (pro rata)",
                     measured=f"{_pct(share)}; ${psv:.4f}",
                     band=f"{_range('C9_rights_share')}; ${_range('C9_per_stream_usd', pct=False)}",
                     status=_band(in_band("C9_rights_share", share) and in_band("C9_per_stream_usd", psv))))

    rows.append(c10_row(tally.percentile_rank))
    return rows


def c10_row(pr: dict[str, float]) -> dict[str, str]:
    """C10 from `percentile_ranks`: judged on the model's ranking of every item (the "exact"
    figure when the recommender serves from candidates, which is shown beside it)."""
    rec = [k for k in pr if k != "popularity" and not k.endswith(" exact")]
    if not rec or "popularity" not in pr:
        return dict(id="C10", what="expected percentile rank: recommender vs popularity",
                    measured="no recommender in this scenario", band="recommender clearly lower",
                    status="not measured")
    name = rec[0]
    exact = pr.get(f"{name} exact")
    model = pr[name] if exact is None else exact
    served = "" if exact is None else f" ({_pct(pr[name])} as served from cluster candidates)"
    return dict(id="C10", what="expected percentile rank of held-out streams of unseen items: "
                               "recommender vs popularity",
                measured=f"{name} {_pct(model)}{served} vs popularity {_pct(pr['popularity'])}",
                band="recommender clearly lower", status="pass" if model < pr["popularity"] else "out of band")


def calibrate(scenario: Scenario, quiet: bool = True, out_root: str | Path | None = None) -> tuple[list[dict], Path]:
    """Run the scenario, write ``calibration.json`` into its run folder, return the rows and folder."""
    import pandas as pd

    from streamsim.studies import runner

    tally = Tally(burn_in_epochs=scenario.run.burn_in_epochs)
    run_dir = runner.run(scenario, out_root=out_root, quiet=quiet, observers=(tally,))
    metrics = recorded(pd.read_parquet(run_dir / "metrics.parquet"))
    rows = rows_from(metrics, tally, scenario)
    runner.write_json(run_dir / "calibration.json", rows)
    return rows, run_dir

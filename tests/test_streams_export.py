"""The streams export: a run with arrivals, churn and bots can be audited from its files alone.

Every rule's payouts are recomputed from streams.parquet, listeners.parquet, tracks.parquet,
settlement.parquet and config.toml with the public functions of streamsim.economics, and must
match artists.parquet to 1e-9 of the pool.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import streamsim
from streamsim.core import config
from streamsim.economics.revenue import Scale, auto_scale, listener_revenue, pool_of
from streamsim.economics.rules import ArtistCentricBars, rule_names, settle_all, threshold_bar
from streamsim.economics.tables import ArtistWindow, StreamTable, sum_by

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 4
# Small, with many arrivals and churn, and bots above the artist-centric listener cap.
SETS = ["listeners.count=300", "artists.count=40", f"run.epochs={EPOCHS}", "run.burn_in_epochs=0",
        "outputs.save_streams=true",
        "listeners.arrival_rate=0.05", "listeners.churn_k0=-1", "fraud.bots=3", "fraud.streams_per_bot=300",
        "run.name=audit"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    args = [sys.executable, "-m", "streamsim", "run", "scenarios/baseline.toml", "--quiet", "--out", str(out)]
    for s in SETS:
        args += ["--set", s]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (folder,) = (out / "audit").iterdir()
    return folder


def read(run_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(run_dir / f"{name}.parquet")


def test_the_run_has_arrivals_churn_and_bots(run_dir):
    lis = read(run_dir, "listeners")
    sizes = lis.groupby("epoch").size()
    assert list(sizes.index) == list(range(EPOCHS))
    assert sizes.is_monotonic_increasing and sizes.iloc[-1] > sizes.iloc[0]       # arrivals
    assert (~lis["active"]).any()                                                   # churn
    assert lis["bot"].sum() == 3 * EPOCHS                                           # bots, every epoch
    bots = lis[lis["bot"]]
    assert (bots["streams"] == 300).all()                                           # above the cap
    assert (bots["streams"] > read(run_dir, "settlement")["listener_cap"].max()).all()


def test_every_rule_is_recomputed_from_the_export(run_dir):
    cfg = config.load(run_dir / "config.toml").payouts
    streams, lis, tracks = read(run_dir, "streams"), read(run_dir, "listeners"), read(run_dir, "tracks")
    settlement = read(run_dir, "settlement").set_index("epoch")
    artists = read(run_dir, "artists")
    windows = read(run_dir, "artist_windows")
    ineligible = boosted = 0
    for epoch in range(EPOCHS):
        st = streams[streams["epoch"] == epoch]
        li = lis[lis["epoch"] == epoch].sort_values("listener_id")
        tr = tracks[tracks["epoch"] == epoch]
        aw = windows[windows["epoch"] == epoch]
        row = settlement.loc[epoch]
        n_tracks, n_artists = int(row["n_tracks"]), int(row["n_artists"])
        assert list(li["listener_id"]) == list(range(int(row["n_listeners"])))

        revenue = listener_revenue(li["premium"].to_numpy(), li["active"].to_numpy(), cfg, li["ad_weight"].to_numpy())
        np.testing.assert_array_equal(revenue, li["revenue"].to_numpy())
        pool = pool_of(revenue, cfg)
        assert pool == row["pool"] > 0

        table = StreamTable(st["listener_id"], st["track_id"], st["artist_id"], st["streams"],
                            st["sought_streams"], st["seconds"])
        np.testing.assert_array_equal(sum_by(table.listener, table.streams, len(li)), li["streams"])
        np.testing.assert_array_equal(sum_by(table.track, table.streams, n_tracks)[tr["track_id"]],
                                      tr["streams"])
        # The platform-size scale and every bar follow from the export and the config.
        assert row["scale_track"] == pytest.approx(auto_scale(tr["streams"].to_numpy(), n_tracks),
                                                   rel=1e-12)
        scale = Scale.of(float(row["scale_track"]), n_tracks, n_artists)
        assert scale.artist == pytest.approx(row["scale_artist"], rel=1e-12)
        history = int(row["history_epochs"])
        assert history == min(epoch + 1, cfg.threshold.window_epochs)
        assert threshold_bar(cfg, scale, history) == pytest.approx(row["threshold_bar"], rel=1e-12)
        window_epochs = int(row["artist_window_epochs"])
        assert window_epochs == min(epoch + 1, cfg.artist_centric.window_epochs)
        bars = ArtistCentricBars.of(cfg, scale, window_epochs)
        assert (bars.artist_streams, bars.artist_listeners, bars.listener_cap) == pytest.approx(
            (row["artist_streams_bar"], row["artist_listeners_bar"], row["listener_cap"]), rel=1e-12)

        trailing = np.zeros(n_tracks)
        trailing[tr["track_id"]] = tr["trailing_streams"]
        length = np.zeros(n_tracks)          # unstreamed tracks earn nothing under any rule
        length[tr["track_id"]] = tr["length_s"]
        window = ArtistWindow(np.zeros(n_artists), np.zeros(n_artists), window_epochs)
        window.streams[aw["artist_id"]] = aw["window_streams"]
        window.listeners[aw["artist_id"]] = aw["window_listeners"]
        paid = settle_all(table, revenue, n_tracks, n_artists, cfg, trailing, scale, history,
                          track_length_s=length, artist_window=window)
        track_artist = np.zeros(n_tracks, np.int64)
        track_artist[tr["track_id"]] = tr["artist_id"]
        expected = artists[artists["epoch"] == epoch].sort_values("artist_id")
        assert len(expected) == n_artists
        for rule in rule_names():
            assert paid[rule].sum() == pytest.approx(pool, rel=1e-12)
            per_artist = sum_by(track_artist, paid[rule], n_artists)
            np.testing.assert_allclose(per_artist, expected[f"payout_{rule}"], rtol=0, atol=1e-9 * pool)
        ineligible += int((tr["trailing_streams"] < row["threshold_bar"]).sum())
        boosted += int(((window.streams >= row["artist_streams_bar"])
                        & (window.listeners >= row["artist_listeners_bar"])).sum())
    # The audit exercised the parts that differ between rules.
    assert ineligible > 0 and boosted > 0


def test_simulate_keeps_the_same_tables_in_memory(run_dir):
    """The Python API keeps the export in memory; a run writes it epoch by epoch: the same tables."""
    result = streamsim.simulate(config.load(run_dir / "config.toml"))
    for name in ("streams", "listeners", "tracks", "settlement"):
        pd.testing.assert_frame_equal(getattr(result, name), read(run_dir, name), check_exact=True)

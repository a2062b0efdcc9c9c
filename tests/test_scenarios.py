"""The scenario library: every file validates, says its question, is listed, and runs when shrunk.

Each scenario runs for 3 epochs at 200 listeners and 40 artists, with the streams export on. Shrunk, large, xl and
trecs_workload are the baseline with other serving settings, so their runs are marked slow to
keep the default run short; the sweep files all resolve.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from streamsim.core import config
from streamsim.studies import sweep

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
SWEEPS = sorted((ROOT / "scenarios" / "sweeps").glob("*.toml"))
SHRINK = ["listeners.count=200", "artists.count=40", "run.epochs=3", "run.burn_in_epochs=0",
          "outputs.save_streams=true"]
BIG = {"large", "xl", "trecs_workload"}
LIBRARY = {"user_centric", "artist_centric", "threshold_2024", "no_recommender", "popularity_recommender",
           "oracle_recommender", "bpr_recommender", "exploration_boost", "adaptive_artists",
           "editorial_major_bias", "stream_fraud", "heavy_users_mainstream", "heavy_users_niche",
           "chaney_replication", "trecs_workload", "large", "xl"}


def test_the_library_is_complete_and_documented():
    names = {p.stem for p in SCENARIOS}
    assert LIBRARY <= names
    readme = (ROOT / "scenarios" / "README.md").read_text(encoding="utf-8")
    for name in names:
        assert f"`{name}.toml`" in readme, f"{name} missing from scenarios/README.md"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_validates_and_states_its_question(path):
    scenario = config.load(path)
    assert scenario.run.name == path.stem
    head = path.read_text(encoding="utf-8").split("[", 1)[0]
    assert head.startswith("#") and "?" in head, "the file should open with the question it answers"


def test_scenarios_set_what_their_names_say():
    get = {p.stem: config.load(p) for p in SCENARIOS}
    assert get["user_centric"].payouts.active == "user_centric"
    assert get["artist_centric"].payouts.active == "artist_centric"
    assert get["threshold_2024"].payouts.active == "threshold"
    assert get["no_recommender"].recommender.kind == "none"
    assert get["no_recommender"].channels.mix.personalised == 0.0
    assert get["popularity_recommender"].recommender.kind == "popularity"
    assert get["oracle_recommender"].recommender.kind == "oracle"
    assert get["bpr_recommender"].recommender.kind == "bpr"
    assert get["exploration_boost"].recommender.exploration.share > 0
    assert get["adaptive_artists"].artists.adaptation.adaptive_share > 0
    assert get["editorial_major_bias"].channels.editorial_major_bias > 0
    assert get["stream_fraud"].fraud.bots > 0
    assert get["heavy_users_mainstream"].listeners.activity_mainstream_corr > 0
    assert get["heavy_users_niche"].listeners.activity_mainstream_corr < 0
    chaney = get["chaney_replication"]
    assert (chaney.listeners.count, chaney.run.epochs, chaney.world.d_style) == (100, 100, 20)
    assert chaney.listeners.choice == "slate_argmax" and chaney.recommender.kind == "als"
    assert (chaney.artists.releases_per_epoch, chaney.recommender.startup_epochs,
            chaney.recommender.interleave_new) == (10, 10, 10)
    assert chaney.channels.slate_size >= chaney.run.epochs * chaney.artists.releases_per_epoch
    assert chaney.listeners.rank_attention == 0.8 and chaney.listeners.argmax_score == "utility"
    assert chaney.world.preference_model == "dirichlet" and chaney.metrics.chaney
    trecs = get["trecs_workload"]
    assert (trecs.listeners.count, trecs.channels.slate_size, trecs.run.epochs) == (10_000, 10, 20)
    assert (trecs.recommender.factors, trecs.recommender.warm_iterations) == (10, 20)
    assert get["large"].listeners.count == 100_000 and get["xl"].listeners.count == 1_000_000


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_sweep_file_resolves(path):
    plan = sweep.plan(path)
    assert plan.runs and plan.spec.swept_keys()


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.stem in BIG else p
                                  for p in SCENARIOS], ids=lambda p: p.stem)
def test_scenario_runs_when_shrunk(path, tmp_path):
    from streamsim.studies import runner

    scenario = config.load(path, SHRINK)
    run_dir = runner.run(scenario, tmp_path, run_id="shrunk")
    metrics = runner.load_run(run_dir)["metrics"]
    assert len(metrics) == 3
    settled = pd.read_parquet(run_dir / "settlement.parquet")      # the streams export works everywhere
    assert list(settled["epoch"]) == [0, 1, 2]
    np.testing.assert_allclose(settled["pool"], metrics["pool"], rtol=1e-12)
    assert metrics["streams"].sum() > 0
    last = metrics.iloc[-1]
    assert not pd.isna(last["payout_gini_pro_rata"])
    # the property each scenario exists for
    if scenario.recommender.kind == "none":
        assert (metrics["rec_coverage"] == 0.0).all() and (metrics["channel_share_personalised"] == 0.0).all()
    else:
        assert (metrics["rec_coverage"] > 0.0).all()
    if scenario.recommender.kind == "oracle" and not scenario.recommender.exploration.share:
        assert metrics["rec_regret_vs_oracle"].abs().max() < 1e-6
    assert (metrics["rec_regret_vs_oracle"] >= -1e-6).all()
    if scenario.fraud.bots:
        assert 0.0 < last["fraud_share_artist_centric"] < last["fraud_share_pro_rata"]

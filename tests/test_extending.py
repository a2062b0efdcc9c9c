"""Extending streamsim: a payout rule, a recommender and a metric, each added in one file
(examples/extend/, examples/custom_recommender.py, docs/EXTENDING.md).

The checks run in a fresh interpreter, so the plugins registered there never leak into the
registries of the other tests.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECKS = textwrap.dedent("""
    import sys
    sys.path[:0] = ["examples/extend", "examples"]
    import numpy as np
    import capped_fan_rule, long_plays_metric, custom_recommender
    import streamsim
    from streamsim.core.config import ScenarioError
    from streamsim.economics.rules import settle_all
    from streamsim.measures.registry import metric_columns
    from streamsim.testing import RecommenderContract, synthetic_record
    from streamsim.core.config import RecommenderConfig

    # the rule: in the schema's allowed values, conserving, settled in a run
    sc = streamsim.load("scenarios/baseline.toml", listeners__count=600, artists__count=60, run__burn_in_epochs=0,
                        payouts__active="capped_fan", recommender__kind="fresh_hits")
    try:
        streamsim.load(None, payouts__active="capped_fun")
        raise SystemExit("a misspelt rule was accepted")
    except ScenarioError as exc:
        assert "capped_fan" in str(exc), exc
    for seed in range(5):
        rec, scen = synthetic_record(80, 60, 12, 4000, seed=seed)
        paid = settle_all(rec.table, rec.revenue, 60, 12, scen.payouts, rec.tracks.streams_total, rec.scale)
        assert abs(paid["capped_fan"].sum() - rec.pool) <= 1e-9 * rec.pool and (paid["capped_fan"] >= 0).all()
    result = streamsim.simulate(sc, epochs=2)
    assert "payout_gini_capped_fan" in metric_columns() and "long_play_share" == metric_columns()[-1]
    m, a = result.metrics, result.artists
    assert {"payout_gini_capped_fan", "unpaid_capped_fan", "long_play_share"} <= set(m.columns)
    assert 0 < m["long_play_share"].min() and m["long_play_share"].max() < 1
    per_epoch = a.groupby("epoch")["payout_capped_fan"].sum().to_numpy()
    assert np.allclose(per_epoch, m["pool"].to_numpy(), rtol=1e-9)

    # the recommender: registered kind, injected object, and the shared contract
    injected = streamsim.simulate(sc.replace(**{"recommender.kind": "als"}), epochs=2,
                                  recommender=custom_recommender.FreshHits(RecommenderConfig(), 0))
    assert injected.model.recommender.name == "fresh_hits"
    make = lambda seed: custom_recommender.FreshHits(RecommenderConfig(), seed)
    contract = RecommenderContract()
    checks = [name for name in dir(contract) if name.startswith("test_")]
    for name in checks:
        getattr(contract, name)(make)
    print("ok", len(checks))
""")


def test_a_rule_a_recommender_and_a_metric_each_added_in_one_file():
    out = subprocess.run([sys.executable, "-c", CHECKS], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[0] == "ok" and int(out.stdout.split()[1]) >= 6


def _example(args: list[str], tmp_path: Path) -> str:
    out = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_compare_rules_example_writes_its_figure(tmp_path):
    stdout = _example(["examples/compare_rules.py", "--listeners", "800", "--epochs", "3", "--burn-in", "0",
                       "--out", str(tmp_path)],
                      tmp_path)
    assert (tmp_path / "compare_rules.png").stat().st_size > 10_000
    assert "user-centric: winners" in stdout and "threshold (2024): winners" in stdout


def test_custom_recommender_example_runs_both_arms(tmp_path):
    stdout = _example(["examples/custom_recommender.py", "--listeners", "800", "--epochs", "3", "--burn-in", "0"], tmp_path)
    assert "als:" in stdout and "fresh_hits:" in stdout


def test_sweep_example_reports_intervals_and_resumes(tmp_path):
    args = ["examples/sweep_ci.py", "--listeners", "500", "--epochs", "2", "--burn-in", "0", "--replications", "2",
            "--workers", "1",
            "--out", str(tmp_path)]
    first = _example(args, tmp_path)
    assert "runs: 8 new, 0 reused" in first and (tmp_path / "sweep_ci.png").is_file()
    assert "runs: 0 new, 8 reused" in _example(args, tmp_path)

"""Scenario validation: every bad input is a clear error naming its key, before any work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from streamsim.core import config

ROOT = Path(__file__).resolve().parents[1]

# (file text or None for a missing file, --set overrides, the key the message must name)
MALFORMED = [
    ("[listeners]\ncount = 100\ncolour = 'red'\n", [], "listeners.colour"),
    ("[listners]\ncount = 100\n", [], "listners"),
    ("[listeners]\ncount = 'many'\n", [], "listeners.count"),
    ("[listeners]\ncount = -5\n", [], "listeners.count"),
    ("[artists]\ncount = 0\n", [], "artists.count"),
    ("[listeners]\npremium_share = 1.5\n", [], "listeners.premium_share"),
    ("[channels.mix]\nlibrary = 0.9\n", [], "channels.mix: got '{...}', expected: channel shares must sum to 1"),
    ("[recommender]\nkind = 'deep_magic'\n", [], "recommender.kind"),
    ("[payouts]\nactive = 'robin_hood'\n", [], "payouts.active"),
    ("[run]\nepochs = 0\n", [], "run.epochs"),
    ("[run]\nname = 'has spaces/and slashes'\n", [], "run.name"),
    ("[run\nepochs = 3\n", [], "not valid TOML"),
    (None, [], "no such file"),
    ("", ["recommender.factorz=32"], "recommender.factorz"),
    ("", ["listeners.count.deep=3"], "listeners.count"),
    ("", ["recommender.factors"], "KEY=VALUE"),
    ("", ["recommender.factors=-1"], "recommender.factors"),
    ("", ["payouts.rights_share=2"], "payouts.rights_share"),
    ("[payouts]\nscale = -1.0\n", [], "payouts.scale"),
    ("[artists]\nsuperstar_share = 0.6\nestablished_share = 0.6\n", [], "artists.established_share"),
    ("[listeners.behaviour]\nstream_threshold_s = -30\n", [], "listeners.behaviour.stream_threshold_s"),
    ("", ["recommender.learning_rate=4", "recommender.bpr_regularization=0.5"],
     "learning_rate * bpr_regularization must be below 1"),
]


# Strict numbers: (file text, --set overrides, the line the message must hold: key, value, expectation)
NOT_NUMBERS = [
    ("[listeners]\ncount = true\n", [], "listeners.count: got True, expected: an integer in [1, 20000000]"),
    ("[listeners]\ncount = 1.5\n", [], "listeners.count: got 1.5, expected: an integer"),
    ("[listeners]\ncount = 5000.0\n", [], "listeners.count: got 5000.0, expected: an integer"),
    ("[listeners]\npremium_share = true\n", [], "listeners.premium_share: got True, expected: a number in [0.0, 1.0]"),
    ("[listeners.behaviour]\na0 = '1'\n", [], "listeners.behaviour.a0: got '1', expected: a number"),
    ("[outputs]\nsave_streams = 1\n", [], "outputs.save_streams: got 1, expected: true or false"),
    ("", ["listeners.count=true"], "listeners.count: got True, expected: an integer"),
    ("", ["recommender.factors=2.5"], "recommender.factors: got 2.5, expected: an integer in [1, 1024]"),
    ("", ["fraud.bots=false"], "fraud.bots: got False, expected: an integer"),
    ("", ["payouts.scale=true"], "payouts.scale: got True, expected: a number or 'auto'"),
    ("", ["recommender.alpha=many"], "recommender.alpha: got 'many', expected: a number"),
]


@pytest.mark.parametrize("text,sets,line", NOT_NUMBERS)
def test_numbers_are_strict_through_the_cli(tmp_path, text, sets, line):
    assert line in rejected_by_the_cli(tmp_path, text, sets)


def test_a_float_field_takes_an_integer():
    scenario = config.load(None, ["catalog.length_mean_s=200", "payouts.scale=2", "listeners.behaviour.a0=-1"])
    assert scenario.catalog.length_mean_s == 200.0 and isinstance(scenario.catalog.length_mean_s, float)
    assert scenario.payouts.scale == 2.0 and scenario.listeners.behaviour.a0 == -1.0


def test_defaults_are_valid_and_frozen():
    scenario = config.load()
    assert scenario.listeners.count == 10_000
    with pytest.raises(ValidationError, match="frozen"):
        scenario.listeners.count = 5  # type: ignore[misc]


def test_overrides_are_validated_and_typed():
    scenario = config.load(None, ["recommender.factors=32", "listeners.count=50000", "recommender.kind=bpr"])
    assert (scenario.recommender.factors, scenario.listeners.count) == (32, 50000)
    assert scenario.recommender.kind == "bpr"


def test_resolved_config_round_trips(tmp_path):
    mix = {"library": 0.5, "personalised": 0.2, "radio": 0.1, "editorial": 0.1, "search": 0.05, "context": 0.05}
    scenario = config.load(None, ["run.seed=7", *(f"channels.mix.{k}={v}" for k, v in mix.items())])
    path = tmp_path / "resolved.toml"
    path.write_text(scenario.to_toml())
    assert config.load(path) == scenario


def test_every_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[listeners]\ncount = -1\npremium_share = 3\n[recommender]\nkind = 'x'\n")
    with pytest.raises(config.ScenarioError) as info:
        config.load(path)
    keys = " ".join(info.value.problems)
    assert "listeners.count" in keys and "listeners.premium_share" in keys and "recommender.kind" in keys


def rejected_by_the_cli(tmp_path: Path, text: str | None, sets: list[str]) -> str:
    """Run the scenario (None: a missing file) through `streamsim run`; check it is refused cleanly
    (exit 2, no traceback, no output folder) and return stderr with whitespace runs collapsed."""
    path = tmp_path / "scenario.toml"
    if text is not None:
        path.write_text(text)
    out_root = tmp_path / "out"
    args = [sys.executable, "-m", "streamsim", "run", str(path), "--quiet", "--out", str(out_root)]
    for s in sets:
        args += ["--set", s]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out_root.exists()
    return " ".join(proc.stderr.split())


@pytest.mark.parametrize("text,sets,key", MALFORMED)
def test_malformed_scenarios_are_rejected_by_the_cli(tmp_path, text, sets, key):
    assert key in rejected_by_the_cli(tmp_path, text, sets)


def test_validate_accepts_every_shipped_scenario():
    files = sorted(str(p) for p in (ROOT / "scenarios").glob("*.toml"))
    proc = subprocess.run([sys.executable, "-m", "streamsim", "validate", *files], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ok ") == len(files)

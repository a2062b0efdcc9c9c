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
]


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


@pytest.mark.parametrize("text,sets,key", MALFORMED)
def test_malformed_scenarios_are_rejected_by_the_cli(tmp_path, text, sets, key):
    path = tmp_path / "scenario.toml"
    if text is not None:
        path.write_text(text)
    out_root = tmp_path / "out"
    args = [sys.executable, "-m", "streamsim", "run", str(path), "--quiet", "--out", str(out_root)]
    for s in sets:
        args += ["--set", s]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert key in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out_root.exists()


def test_validate_accepts_every_shipped_scenario():
    files = sorted(str(p) for p in (ROOT / "scenarios").glob("*.toml"))
    proc = subprocess.run([sys.executable, "-m", "streamsim", "validate", *files], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ok ") == len(files)

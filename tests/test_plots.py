"""Figures, comparisons and HTML reports, on fake run folders with the documented columns.

The fake runs make these tests fast and independent of the simulator; test_sweep.py and
test_scenarios.py exercise the same code on real runs.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from streamsim import cli_study
from streamsim.present import plots
from streamsim.present import report
from streamsim.studies import sweep
from streamsim.economics.rules import rule_names
from streamsim.measures.registry import metric_columns

RULES = rule_names()

EPOCHS = 4
ARTISTS = 40

METRIC_COLUMNS = [c for c in metric_columns() if c not in ("epoch", "burn_in")]


def fake_run(scenario, out_root=None, quiet=True, run_id=None, n_threads=None) -> Path:
    """Stand-in for streamsim.studies.runner.run: writes a finished run folder of seeded random tables."""
    rng = np.random.default_rng(scenario.run.seed % 2**32)
    final = Path(out_root) / scenario.run.name / run_id
    partial = final.with_name(run_id + ".partial")
    partial.mkdir(parents=True)
    epochs = scenario.run.epochs
    columns = {"epoch": np.arange(epochs), "burn_in": np.zeros(epochs)}
    for col in METRIC_COLUMNS:
        columns[col] = rng.random(epochs) + scenario.listeners.count / 1000
    columns["release_mean_length_s"] = 215.0 - 3.0 * np.arange(epochs)
    metrics = pd.DataFrame(columns)
    metrics.to_parquet(partial / "metrics.parquet")
    artists = []
    for epoch in range(epochs):
        frame = pd.DataFrame({"epoch": epoch, "artist_id": np.arange(ARTISTS), "tier": rng.integers(0, 3, ARTISTS),
                              "major_label": rng.random(ARTISTS) < 0.3, "entry_epoch": 0,
                              "streams": rng.integers(0, 100, ARTISTS), "unique_listeners": rng.integers(0, 50, ARTISTS),
                              "impressions": rng.integers(0, 200, ARTISTS), "tracks_released": 1,
                              "release_mean_length_s": 200.0, "release_mean_intro_s": 12.0})
        for i, rule in enumerate(RULES):
            frame[f"payout_{rule}"] = rng.pareto(1.0 + 0.4 * i, ARTISTS)
        artists.append(frame)
    pd.concat(artists).to_parquet(partial / "artists.parquet")
    (partial / "config.toml").write_text(scenario.to_toml(), encoding="utf-8")
    (partial / "manifest.json").write_text(json.dumps({
        "status": "complete", "seed": scenario.run.seed, "run_id": run_id, "scenario": scenario.run.name,
        "versions": {"python": "3.12"}, "git_commit": "0" * 40, "seconds": {"total": 0.1}}), encoding="utf-8")
    os.replace(partial, final)
    return final


@pytest.fixture(scope="module")
def fake_sweep(tmp_path_factory) -> Path:
    """A finished 2 x 2 sweep of fake runs, 2 replications each."""
    root = tmp_path_factory.mktemp("sweep")
    spec = root / "grid.toml"
    spec.write_text('replications = 2\nseed = 5\n[set]\n"run.epochs" = 4\n"run.name" = "fake"\n'
                    '[grid]\n"listeners.count" = [300, 400]\n"payouts.active" = ["pro_rata", "user_centric"]\n',
                    encoding="utf-8")
    out = root / "out"
    sweep.run_sweep(sweep.plan(spec), out, sweep.InlineExecutor(), runner_path=fake_run)
    return out


@pytest.fixture()
def fake_run_dir(fake_sweep, tmp_path) -> Path:
    """One finished fake run, copied out of the sweep, with a calibration table beside it."""
    import shutil

    source = sorted((fake_sweep / "runs" / "fake").iterdir())[0]
    target = tmp_path / "fake" / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("figures", "report.html"))
    rows = [{"id": "C1", "what": "plays ended within 5 s", "value": 0.23, "band": "0.20-0.28", "status": "pass"},
            {"id": "C2", "what": "programmed share", "value": 0.6, "band": "0.31-0.45", "status": "out of band"}]
    (target / "calibration.json").write_text(json.dumps(rows), encoding="utf-8")
    return target


def _nonempty(paths: list[Path]) -> None:
    assert paths
    for path in paths:
        assert path.is_file() and path.stat().st_size > 1000, path


@pytest.fixture
def drawn(monkeypatch) -> dict:
    """The figures the plotting functions would save, by file stem (not rendered: the other
    tests render and embed them)."""
    figures = {}

    def capture(fig, folder, stem):
        figures[stem] = fig
        return [folder / f"{stem}.png", folder / f"{stem}.svg"]

    monkeypatch.setattr(plots, "save", capture)
    return figures


def panels(fig) -> list:
    return [ax for ax in fig.axes if ax.get_visible()]


def lines(ax) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The labelled series of an axis: label -> (x, y)."""
    return {ln.get_label(): (np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float))
            for ln in ax.get_lines() if not ln.get_label().startswith("_")}


def test_run_figures_show_every_panel_and_series(fake_run_dir, drawn):
    plots.plot_run(fake_run_dir)
    metrics = pd.read_parquet(fake_run_dir / "metrics.parquet")
    artists = pd.read_parquet(fake_run_dir / "artists.parquet")
    assert set(drawn) == {"lorenz", "reach_by_decile", *plots.time_series()}
    bars = panels(drawn["reach_by_decile"])
    assert [a.get_title() for a in bars] == [name for _, name, _ in plots.DECILE_PANELS]
    for a, (pattern, _, _) in zip(bars, plots.DECILE_PANELS):
        heights = [p.get_height() for p in a.patches]
        expected = [metrics[pattern.format(k=k)].mean() for k in range(1, 11)]
        np.testing.assert_allclose(heights, expected)
    (ax,) = panels(drawn["lorenz"])
    assert "share of artists" in ax.get_xlabel() and "share of payouts" in ax.get_ylabel()
    curves = lines(ax)
    assert len(curves) == 1 + len(RULES) and "equality" in curves
    for rule in RULES:
        totals = artists.groupby("artist_id")[f"payout_{rule}"].sum().to_numpy()
        name = f"{plots.PAYOUT_RULES[rule].label} (Gini {plots.gini(totals):.3f})"
        x, y = curves[name]
        np.testing.assert_allclose(y, np.concatenate([[0], np.cumsum(np.sort(totals))]) / totals.sum())
        np.testing.assert_allclose(x, np.linspace(0, 1, len(totals) + 1))
    for stem, (_, expected) in plots.time_series().items():
        axes = panels(drawn[stem])
        assert [a.get_title() for a in axes] == [name for name, _ in expected], stem
        for a, (name, cols) in zip(axes, expected):
            assert a.get_xlabel() == plots.EPOCH_LABEL
            series = lines(a)
            assert list(series) == [plots.label(m) for m in cols], name
            for m in cols:
                x, y = series[plots.label(m)]
                np.testing.assert_array_equal(x, metrics["epoch"])
                np.testing.assert_allclose(y, metrics[m])


def test_sweep_figures_show_each_configuration(fake_sweep, drawn):
    plots.plot_sweep(fake_sweep)
    summary = pd.read_parquet(fake_sweep / "summary.parquet")
    table = pd.read_parquet(fake_sweep / "sweep.parquet")
    shown = [m for m in plots.headline() if m in set(summary["metric"])]
    assert set(drawn) == {"sweep_listeners_count", "sweep_payouts_active", "sweep_time_series"}
    axes = panels(drawn["sweep_listeners_count"])
    assert [a.get_title() for a in axes] == [plots.label(m) for m in shown]
    for a, metric in zip(axes, shown):
        assert a.get_xlabel() == "listeners.count"
        series = lines(a)
        assert sorted(series) == ["payouts.active=pro_rata", "payouts.active=user_centric"]
        for rule in ("pro_rata", "user_centric"):
            rows = summary[(summary["metric"] == metric) & (summary["payouts.active"] == rule)]
            x, y = series[f"payouts.active={rule}"]
            np.testing.assert_array_equal(x, [300, 400])
            np.testing.assert_allclose(y, rows.sort_values("listeners.count")["mean"])
    axes = panels(drawn["sweep_time_series"])
    for a, metric in zip(axes, shown):
        series = lines(a)
        assert len(series) == 4
        for config, group in table.groupby("config"):
            first = group.iloc[0]
            x, y = series[f"listeners.count={first['listeners.count']}, payouts.active={first['payouts.active']}"]
            np.testing.assert_allclose(y, group.groupby("epoch")[metric].mean())


def test_compare_figures_show_each_entry(fake_sweep, fake_run_dir, drawn, tmp_path):
    items = plots.unique_labels(plots.entries(fake_run_dir) + plots.entries(fake_sweep))
    plots.compare_figures(items, tmp_path)
    table = plots.compare_table(items)
    shown = [m for m in plots.headline() if m in set(table["metric"])]
    bars = panels(drawn["compare_final"])
    assert [a.get_title() for a in bars] == [plots.label(m) for m in shown]
    for a, metric in zip(bars, shown):
        heights = [p.get_height() for p in a.patches]
        np.testing.assert_allclose(heights, table[table["metric"] == metric]["mean"])
    legend = [t.get_text() for t in drawn["compare_final"].legends[0].get_texts()]
    assert legend == [i.label for i in items]
    for a, metric in zip(panels(drawn["compare_time_series"]), shown):
        assert sorted(lines(a)) == sorted(i.label for i in items)


def test_gini_and_lorenz():
    assert plots.gini(np.array([1.0, 1.0, 1.0])) == pytest.approx(0.0)
    assert plots.gini(np.array([0.0, 0.0, 0.0, 4.0])) == pytest.approx(0.75)
    assert plots.gini(np.zeros(3)) == 0.0
    x, y = plots.lorenz(np.array([3.0, 1.0]))
    np.testing.assert_allclose(x, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(y, [0.0, 0.25, 1.0])


def test_report_of_a_run_embeds_every_figure(fake_run_dir):
    path = report.report(fake_run_dir)
    figures = sorted((fake_run_dir / "figures").glob("*.png"))
    stems = {p.stem for p in figures}
    assert {"lorenz", "concentration", "small_artist_reach", "homogeneity", "welfare", "release_drift",
            "reach_by_decile"} <= stems
    _nonempty(figures + sorted((fake_run_dir / "figures").glob("*.svg")))
    text = path.read_text(encoding="utf-8")
    for png in figures:
        assert base64.b64encode(png.read_bytes()).decode("ascii") in text, png.name
    assert "C2" in text and "out of band" in text  # calibration table
    assert "[listeners]" in text  # resolved config
    assert "payout Gini, pro-rata" in text  # headline table
    assert "http" not in text.replace("http://www.w3.org", "")  # nothing to fetch


def test_report_of_a_sweep_embeds_every_figure(fake_sweep):
    path = report.report(fake_sweep)
    figures = sorted((fake_sweep / "figures").glob("*.png"))
    assert {"sweep_listeners_count", "sweep_payouts_active", "sweep_time_series"} <= {p.stem for p in figures}
    _nonempty(figures + sorted((fake_sweep / "figures").glob("*.svg")))
    text = path.read_text(encoding="utf-8")
    for png in figures:
        assert base64.b64encode(png.read_bytes()).decode("ascii") in text, png.name
    assert "user_centric" in text and "95 % interval" in text


def test_summary_intervals_cover_the_replications(fake_sweep):
    summary = pd.read_parquet(fake_sweep / "summary.parquet")
    table = pd.read_parquet(fake_sweep / "sweep.parquet")
    assert set(summary["n"]) == {2}
    row = summary[(summary["config"] == 0) & (summary["metric"] == "churn_rate")].iloc[0]
    finals = table[(table["config"] == 0) & (table["epoch"] == EPOCHS - 1)]["churn_rate"]
    assert row["mean"] == pytest.approx(finals.mean())
    half = 12.706204736 * finals.std(ddof=1) / np.sqrt(2)  # t(0.975, 1 df)
    assert row["ci_high"] - row["mean"] == pytest.approx(half)


def _app() -> typer.Typer:
    app = typer.Typer()
    cli_study.register(app)
    return app


def test_cli_plot_and_compare(fake_sweep, fake_run_dir, tmp_path):
    runner = CliRunner()
    result = runner.invoke(_app(), ["plot", str(fake_run_dir)])
    assert result.exit_code == 0, result.output
    _nonempty(sorted((fake_run_dir / "figures").iterdir()))
    out = tmp_path / "cmp"
    group = fake_run_dir.parent
    result = runner.invoke(_app(), ["compare", str(fake_run_dir), str(group), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "compare.csv")
    assert "payout_gini_pro_rata" in set(table["metric"])
    assert [c for c in table.columns if not c.endswith("±95%") and c != "metric"] == ["fake", "fake #2"]
    _nonempty([out / "figures" / f"compare_{s}.{e}" for s in ("final", "time_series") for e in ("png", "svg")])


def test_compare_entries_of_a_sweep_are_its_configurations(fake_sweep, fake_run_dir):
    items = plots.unique_labels(plots.entries(fake_run_dir) + plots.entries(fake_sweep))
    assert len(items) == 1 + 4 and all(len(i.frames) == 2 for i in items[1:])
    table = plots.compare_table(items)
    assert set(table["entry"]) == {i.label for i in items}
    row = table[(table["entry"] == items[1].label) & (table["metric"] == "churn_rate")].iloc[0]
    assert row["runs"] == 2 and row["ci_low"] < row["mean"] < row["ci_high"]


def test_cli_user_errors_exit_2_without_traceback(tmp_path):
    runner = CliRunner()
    for args in (["plot", str(tmp_path / "missing")], ["report", str(tmp_path)], ["compare", str(tmp_path)]):
        result = runner.invoke(_app(), args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('replications = 0\nbogus = 1\n[grid]\n"listeners.count" = 5\n', encoding="utf-8")
    result = runner.invoke(_app(), ["sweep", str(bad)])
    assert result.exit_code == 2
    for word in ("replications", "bogus", "listeners.count"):
        assert word in result.output


def test_cli_report_of_a_real_run(tmp_path):
    from streamsim.core import config
    from streamsim.studies import runner

    scenario = config.load(None, ["listeners.count=200", "artists.count=40", "run.epochs=3",
                                  "run.burn_in_epochs=0"])
    run_dir = runner.run(scenario, tmp_path, run_id="real")
    result = CliRunner().invoke(_app(), ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    figures = sorted((run_dir / "figures").glob("*.png"))
    assert len(figures) == 7
    _nonempty(figures + sorted((run_dir / "figures").glob("*.svg")))
    text = (run_dir / "report.html").read_text(encoding="utf-8")
    for png in figures:
        assert base64.b64encode(png.read_bytes()).decode("ascii") in text, png.name

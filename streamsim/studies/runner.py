"""One run, start to finish: simulate a scenario and write its results atomically.

A run writes into ``<root>/<scenario>/<run id>.partial/`` and renames that folder to
``<run id>/`` only once every file is written and the manifest says "complete". A run that is
killed or fails leaves only a ``.partial`` folder (whose manifest says "running" or "failed"),
which nothing mistakes for a result.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from streamsim.core.config import Scenario

if TYPE_CHECKING:
    from streamsim.sim.record import EpochRecord

PACKAGES = ("streamsim", "numpy", "scipy", "numba", "mesa", "pandas", "pyarrow", "pydantic")


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a result depends on."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str | None:
    """The commit of the source tree the package runs from, if it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=5, check=False).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Write a parquet file atomically (temporary file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def default_run_id(scenario: Scenario) -> str:
    """A readable, sortable run id: UTC time and seed."""
    return f"{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-s{scenario.run.seed}"


class Observer(Protocol):
    """Something that watches a simulation: ``on_record`` after every epoch; an observer may
    also define ``on_end(model)``, called once with the model after the last epoch."""

    def on_record(self, record: EpochRecord) -> None: ...


class _Tables:
    """Collects the metrics row and the artist rows of every epoch."""

    def __init__(self, scenario: Scenario, progress=None):
        self.scenario = scenario
        self.progress = progress
        self.rows: list[dict[str, float]] = []
        self.artists: list[dict[str, np.ndarray]] = []

    def on_record(self, record: EpochRecord) -> None:
        from streamsim.measures.artists import artist_rows
        from streamsim.measures.registry import collect
        from streamsim.measures.view import EpochView

        view = EpochView(record, self.scenario)
        self.rows.append(collect(view))
        if self.scenario.outputs.artists_table:
            self.artists.append(artist_rows(view))
        if self.progress is not None:
            self.progress.advance(self.rows[-1])


class _StreamsExport:
    """With ``outputs.save_streams``: every epoch's settlement tables (``studies.streams_export``),
    appended to the run folder's files as the run goes, or kept in memory without a folder."""

    def __init__(self, scenario: Scenario, folder: Path | None = None):
        from streamsim.studies.streams_export import FILES, StreamsWriter

        self.cfg = scenario.payouts
        self.writer = StreamsWriter(folder) if folder is not None else None
        self.tables: dict[str, list] = {name: [] for name in FILES}

    def on_record(self, record: EpochRecord) -> None:
        from streamsim.studies.streams_export import settlement_tables

        tables = settlement_tables(record, self.cfg)
        if self.writer is not None:
            self.writer.write(tables)
        else:
            for name, table in tables.items():
                self.tables[name].append(table)

    def on_end(self, model) -> None:
        if self.writer is not None:
            self.writer.close()

    def frames(self) -> dict[str, pd.DataFrame]:
        """The tables kept in memory, one frame each (empty when written to a folder)."""
        import pyarrow as pa

        return {name: pa.concat_tables(parts).to_pandas() for name, parts in self.tables.items() if parts}


@dataclass
class Result:
    """A finished simulation in memory.

    Attributes:
        scenario: the scenario it ran (with any epochs override applied).
        metrics: one row per epoch (the columns of ``streamsim.measures.registry.metric_columns()``).
        artists: one row per artist per epoch, or None with ``outputs.artists_table = false``.
        model: the model after the last epoch (its populations, catalog, ledger, recommender).
        seconds: wall seconds per phase, plus "setup" and "total".
        streams, listeners, tracks, artist_windows, settlement: the streams export with ``outputs.save_streams``
            (docs/MODEL.md, "Auditing the payouts"), when kept in memory.
        path, manifest: the run folder and its manifest, once saved or read back.
    """

    scenario: Scenario
    metrics: pd.DataFrame
    artists: pd.DataFrame | None
    model: Any
    seconds: dict[str, float]
    streams: pd.DataFrame | None = None
    listeners: pd.DataFrame | None = None
    tracks: pd.DataFrame | None = None
    artist_windows: pd.DataFrame | None = None
    settlement: pd.DataFrame | None = None
    path: Path | None = None
    manifest: dict | None = None

    def save(self, out_root: str | Path, run_id: str | None = None) -> Path:
        """Write the run folder ``<out_root>/<scenario>/<run id>/`` atomically; return it."""
        partial, final, manifest = _start(self.scenario, out_root, run_id)
        _write_tables(partial, self)
        self.path = _finish(partial, final, manifest, self.seconds)
        self.manifest = manifest
        return self.path


def simulate(scenario: Scenario, epochs: int | None = None, recommender=None,
             observers: tuple[Observer, ...] = (), progress: bool = False,
             n_threads: int | None = None, streams_to: Path | None = None) -> Result:
    """Simulate a scenario in memory and return its tables and model.

    Args:
        scenario: the validated scenario.
        epochs: epochs to run instead of ``run.epochs`` (the returned scenario says so).
        recommender: an object meeting the Recommender contract, used instead of the scenario's kind.
        observers: called with every epoch's record (and ``on_end(model)`` if they have it).
        progress: draw a progress bar on stderr (only on a terminal).
        n_threads: numba threads (results do not depend on it).
        streams_to: with ``outputs.save_streams``, append the streams export to this folder's
            files epoch by epoch instead of keeping it in memory (how a run writes it).
    """
    from streamsim.present.progress import EpochProgress
    from streamsim.sim.model import StreamingModel  # heavy imports (numba kernels) only when running

    if epochs is not None:
        scenario = scenario.replace(**{"run.epochs": epochs})
    started = time.perf_counter()
    export = _StreamsExport(scenario, streams_to) if scenario.outputs.save_streams else None
    with EpochProgress(scenario, enabled=progress) as bar:
        tables = _Tables(scenario, bar)
        watchers = [tables, *([export] if export else []), *observers]
        setup = time.perf_counter()
        model = StreamingModel(scenario, n_threads=n_threads, recommender=recommender)
        setup = time.perf_counter() - setup

        def on_record(record: EpochRecord) -> None:
            for w in watchers:
                w.on_record(record)

        model.run(on_record=on_record)
    for w in watchers:
        if hasattr(w, "on_end"):
            w.on_end(model)
    artists = (pd.concat([pd.DataFrame(t) for t in tables.artists], ignore_index=True)
               if scenario.outputs.artists_table else None)
    seconds = {"setup": setup, **dict(model.timings), "total": time.perf_counter() - started}
    frames = export.frames() if export is not None else {}
    return Result(scenario, pd.DataFrame(tables.rows), artists, model, seconds, **frames)


def _start(scenario: Scenario, out_root: str | Path | None, run_id: str | None) -> tuple[Path, Path, dict]:
    """Create ``<run id>.partial/`` with the resolved config and a "running" manifest."""
    root = Path(out_root if out_root is not None else scenario.outputs.root)
    if run_id is None:
        run_id = base = default_run_id(scenario)
        n = 1
        while (root / scenario.run.name / run_id).exists():
            n += 1
            run_id = f"{base}-{n}"
    final = root / scenario.run.name / run_id
    if final.exists():
        raise FileExistsError(f"{final} already exists")
    partial = final.with_name(run_id + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    (partial / "config.toml").write_text(scenario.to_toml(), encoding="utf-8")
    manifest: dict[str, Any] = {
        "status": "running", "scenario": scenario.run.name, "run_id": run_id, "seed": scenario.run.seed,
        "epochs": scenario.run.epochs, "versions": versions(), "git_commit": git_commit(),
        "argv": sys.argv, "started": _now(), "finished": None, "seconds": {},
    }
    write_json(partial / "manifest.json", manifest)
    return partial, final, manifest


def _write_tables(folder: Path, result: Result) -> None:
    write_parquet(folder / "metrics.parquet", result.metrics)
    if result.artists is not None:
        write_parquet(folder / "artists.parquet", result.artists)
    from streamsim.studies.streams_export import FILES

    for name in FILES:
        if getattr(result, name) is not None:
            write_parquet(folder / f"{name}.parquet", getattr(result, name))


def _finish(partial: Path, final: Path, manifest: dict, seconds: dict[str, float]) -> Path:
    manifest.update(status="complete", finished=_now(), seconds=seconds)
    write_json(partial / "manifest.json", manifest)
    os.replace(partial, final)
    return final


def run(scenario: Scenario, out_root: str | Path | None = None, quiet: bool = True,
        run_id: str | None = None, observers: tuple[Observer, ...] = (),
        n_threads: int | None = None) -> Path:
    """Simulate a scenario and write its results; return the finished run folder.

    Args:
        scenario: the validated scenario.
        out_root: folder under which ``<scenario>/<run id>/`` is written (default: outputs.root).
        quiet: no progress bar.
        run_id: name of the run folder (default: UTC time and seed).
        observers: called with every epoch's record (see :func:`simulate`).
        n_threads: numba threads (results do not depend on it).
    """
    partial, final, manifest = _start(scenario, out_root, run_id)
    try:
        result = simulate(scenario, observers=observers, progress=not quiet, n_threads=n_threads,
                          streams_to=partial)
        _write_tables(partial, result)
    except BaseException as exc:
        manifest.update(status="failed", finished=_now(), error=f"{type(exc).__name__}: {exc}")
        write_json(partial / "manifest.json", manifest)
        raise
    return _finish(partial, final, manifest, result.seconds)


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """Read a finished run folder: manifest, metrics and (if present) artists tables."""
    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no manifest.json)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("status") != "complete" or run_dir.name.endswith(".partial"):
        raise ValueError(f"{run_dir} is not a complete run (status {manifest.get('status')!r})")
    out = {"manifest": manifest, "metrics": pd.read_parquet(run_dir / "metrics.parquet")}
    if (run_dir / "artists.parquet").is_file():
        out["artists"] = pd.read_parquet(run_dir / "artists.parquet")
    return out

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
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from streamsim.core.config import Scenario

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


class _Recorder:
    """Collects the per-epoch tables a run writes beside its metrics."""

    def __init__(self, save_streams: bool):
        self.save_streams = save_streams
        self.streams: list[pd.DataFrame] = []
        self.listeners: list[pd.DataFrame] = []

    def __call__(self, model) -> None:
        if not self.save_streams:
            return
        table = model.stream_table
        epoch = model.epoch - 1
        frame = pd.DataFrame({"listener_id": table.listener, "artist_id": table.artist,
                              "streams": table.streams, "sought_streams": table.sought})
        frame = frame.groupby(["listener_id", "artist_id"], as_index=False, sort=True).sum()
        frame.insert(0, "epoch", np.int32(epoch))
        self.streams.append(frame)
        lis = model.listeners
        self.listeners.append(pd.DataFrame({
            "epoch": np.full(lis.n, epoch, np.int32), "listener_id": np.arange(lis.n, dtype=np.int32),
            "tier": np.where(lis.premium, "premium", "ad_supported"),
            "revenue_contribution": model.revenue, "active": lis.active.copy()}))


def run(scenario: Scenario, out_root: str | Path | None = None, quiet: bool = True,
        run_id: str | None = None, on_epoch: Callable[[Any], None] | None = None,
        n_threads: int | None = None) -> Path:
    """Simulate a scenario and write its results; return the finished run folder.

    Args:
        scenario: the validated scenario.
        out_root: folder under which ``<scenario>/<run id>/`` is written (default: outputs.root).
        quiet: no progress bar.
        run_id: name of the run folder (default: UTC time and seed).
        on_epoch: called with the model after each epoch.
        n_threads: numba threads (results do not depend on it).
    """
    from streamsim.sim.model import StreamingModel  # heavy imports (numba kernels) only when running
    from streamsim.present.progress import EpochProgress

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
    recorder = _Recorder(scenario.outputs.save_streams)
    started = time.perf_counter()
    try:
        with EpochProgress(scenario, enabled=not quiet) as progress:
            setup = time.perf_counter()
            model = StreamingModel(scenario, n_threads=n_threads)
            setup = time.perf_counter() - setup

            def after_epoch(m) -> None:
                recorder(m)
                progress.advance(m.metrics_rows[-1])
                if on_epoch is not None:
                    on_epoch(m)

            model.run(on_epoch=after_epoch)
        write_parquet(partial / "metrics.parquet", pd.DataFrame(model.metrics_rows))
        if scenario.outputs.artists_table:
            write_parquet(partial / "artists.parquet", pd.concat(
                [pd.DataFrame(t) for t in model.artist_tables], ignore_index=True))
        if scenario.outputs.save_streams:
            write_parquet(partial / "streams.parquet", pd.concat(recorder.streams, ignore_index=True))
            write_parquet(partial / "listeners.parquet", pd.concat(recorder.listeners, ignore_index=True))
    except BaseException as exc:
        manifest.update(status="failed", finished=_now(), error=f"{type(exc).__name__}: {exc}")
        write_json(partial / "manifest.json", manifest)
        raise
    manifest.update(status="complete", finished=_now(),
                    seconds={"setup": setup, **dict(model.timings), "total": time.perf_counter() - started})
    write_json(partial / "manifest.json", manifest)
    os.replace(partial, final)
    return final


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

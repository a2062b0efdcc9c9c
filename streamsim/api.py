"""The Python API: load scenarios, simulate in memory, write runs, sweep, and read results back.

Everything the command line does goes through these functions::

    import streamsim

    scenario = streamsim.load("scenarios/baseline.toml", listeners__count=1000)
    result = streamsim.simulate(scenario, epochs=3)
    result.metrics            # one row per epoch
    result.save("outputs")    # the run folder the CLI would write

Keyword overrides use ``__`` for the dots of a scenario key (``listeners__count`` is
``listeners.count``); a mapping of dotted keys works too (``overrides={"listeners.count": 1000}``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from streamsim.core import config
from streamsim.core.config import Scenario, ScenarioError
from streamsim.studies import runner
from streamsim.studies.runner import Observer, Result, simulate


def load(path: str | Path | None = None, /, overrides: dict[str, Any] | None = None, **keys: Any) -> Scenario:
    """A validated scenario from a TOML file (None: the defaults), with overrides applied.

    Args:
        path: the scenario file.
        overrides: ``{"section.key": value}``.
        **keys: the same with ``__`` for the dots, e.g. ``recommender__kind="bpr"``.
    Raises:
        ScenarioError: naming every bad key, its value and what was expected.
    """
    merged = {**(overrides or {}), **{k.replace("__", "."): v for k, v in keys.items()}}
    return config.load(path, merged)


def run(scenario: Scenario, out: str | Path | None = None, *, run_id: str | None = None, quiet: bool = True,
        observers: tuple[Observer, ...] = (), n_threads: int | None = None) -> Path:
    """Simulate and write ``<out>/<scenario>/<run id>/`` atomically, as ``streamsim run`` does.

    Returns:
        The finished run folder (a killed run leaves only ``<run id>.partial``).
    """
    return runner.run(scenario, out, quiet=quiet, run_id=run_id, observers=observers, n_threads=n_threads)


def open_run(path: str | Path) -> Result:
    """A finished run folder read back: scenario, metrics, artists (and streams if exported).

    The model is not saved, so ``result.model`` is None. Raises ValueError for an unfinished run
    and FileNotFoundError for a folder that is not a run.
    """
    path = Path(path)
    data = runner.load_run(path)
    scenario = config.load(path / "config.toml")
    from streamsim.studies.streams_export import FILES

    extra = {name: pd.read_parquet(path / f"{name}.parquet") for name in FILES
             if (path / f"{name}.parquet").is_file()}
    return Result(scenario, data["metrics"], data.get("artists"), None, data["manifest"].get("seconds", {}),
                  path=path, manifest=data["manifest"], **extra)


@dataclass
class SweepTables:
    """A sweep's results.

    Attributes:
        name: the sweep's name; out: its folder.
        params: the swept keys (columns of the tables).
        runs: one row per run (configuration, parameters, replication, seed, status).
        table: one row per finished run and epoch, with every metric.
        summary: per configuration and metric, the mean, sd and 95 % interval across replications.
        sensitivity: for a sampling design, the indices per metric and parameter (else None).
        completed, skipped, failed: what this invocation did (0 when read back with open_sweep).
    """

    name: str
    out: Path
    params: list[str]
    runs: pd.DataFrame
    table: pd.DataFrame
    summary: pd.DataFrame
    sensitivity: pd.DataFrame | None = None
    completed: int = 0
    skipped: int = 0
    failed: int = 0


def sweep(base: Scenario | str | Path | None = None, *, grid: dict[str, list] | None = None,
          zip: dict[str, list] | list[dict[str, list]] | None = None, set: dict[str, Any] | None = None,
          sample: dict[str, Any] | None = None, replications: int = 1, seed: int | None = None, summary_epochs: int = 1, name: str | None = None,
          out: str | Path | None = None, executor: str | cf.Executor = "local",
          workers: int | None = None) -> SweepTables:
    """Run a grid of configurations times seeded replications and return the tables.

    Replication r of every configuration shares one seed (common random numbers). Runs are
    content-addressed folders under ``out`` (default ``<outputs.root>/sweeps/<name>``): a
    finished run is never run again, so calling this again after an interruption resumes.

    Args:
        base: the base scenario (a Scenario, a TOML path, or None for the defaults).
        grid: dotted key -> list of values (cartesian product).
        zip: dotted key -> list, equal lengths, varied together (or a list of such groups).
        set: dotted key -> value, applied to every run.
        sample: a sensitivity design instead of a grid, as the ``[sample]`` table of a sweep file
            (method "morris" or "sobol", n, bounds, ...; streamsim.studies.sensitivity); the
            indices are in ``SweepTables.sensitivity``.
        replications, seed, summary_epochs: as in a sweep file (docs/MODEL.md section 6).
        name: the sweep's name (default: the base scenario's name).
        out: the sweep folder.
        executor: "local" (process pool), "inline" (this process), "dask" (a local Dask
            cluster), a Dask scheduler address "tcp://host:port", or any concurrent.futures
            executor.
        workers: processes for "local" and "dask" (default: one per core).
    """
    from streamsim.studies import sweep as sweeps

    scenario = base if isinstance(base, Scenario) else config.load(base)
    spec = sweeps.SweepFile.model_validate({
        "name": name or scenario.run.name, "replications": replications, "seed": seed,
        "summary_epochs": summary_epochs, "set": set or {}, "grid": grid or {}, "zip": zip or {},
        "sample": sample})
    plan = sweeps.plan_spec(spec, scenario, source=None)
    target = Path(out) if out is not None else Path(scenario.outputs.root) / "sweeps" / plan.name
    with _executor(executor, workers, len(plan.runs)) as (pool, threads):
        outcome = sweeps.run_sweep(plan, target, pool, threads)
    tables = open_sweep(target)
    tables.completed, tables.skipped, tables.failed = outcome.completed, outcome.skipped, outcome.failed
    return tables


@contextlib.contextmanager
def _executor(kind: str | cf.Executor, workers: int | None, n_runs: int):
    from streamsim.studies import sweep as sweeps

    if isinstance(kind, cf.Executor):
        yield kind, None
        return
    import os

    workers = workers or max(1, min(os.cpu_count() or 1, n_runs))
    if kind == "inline":
        yield sweeps.InlineExecutor(), None
    elif kind == "local":
        with sweeps.local_executor(workers) as pair:
            yield pair
    elif kind == "dask" or str(kind).startswith("tcp://"):
        with sweeps.dask_executor(None if kind == "dask" else kind, workers) as pair:
            yield pair
    else:
        raise ValueError(f"executor: got {kind!r}, expected 'local', 'inline', 'dask', a tcp:// address "
                         "or a concurrent.futures.Executor")


def open_sweep(path: str | Path) -> SweepTables:
    """A sweep folder's tables read back (runs.parquet, sweep.parquet, summary.parquet)."""
    import tomllib

    path = Path(path)
    if not (path / "runs.parquet").is_file():
        raise FileNotFoundError(f"{path} is not a sweep folder (no runs.parquet)")
    spec = tomllib.loads((path / "sweep.toml").read_text(encoding="utf-8")) if (path / "sweep.toml").is_file() else {}
    runs = pd.read_parquet(path / "runs.parquet")
    params = [c for c in runs.columns if c not in ("config", "replication", "seed", "run_id", "scenario", "status")]
    indices = path / "sensitivity.parquet"
    return SweepTables(spec.get("name", path.name), path, params, runs, pd.read_parquet(path / "sweep.parquet"),
                       pd.read_parquet(path / "summary.parquet"),
                       pd.read_parquet(indices) if indices.is_file() else None)


__all__ = ["Result", "Scenario", "ScenarioError", "SweepTables", "load", "open_run", "open_sweep", "run",
           "simulate", "sweep"]

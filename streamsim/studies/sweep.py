"""Sweeps: a base scenario times a grid of overrides times seeded replications.

A sweep file (TOML) names a base scenario, fixed overrides, a grid and zipped lists of dotted
keys, and a number of replications::

    base = "../baseline.toml"        # relative to the sweep file
    replications = 3
    seed = 7                         # optional; default: the base scenario's run.seed
    summary_epochs = 1               # summary over the last N epochs of each run

    [set]                            # applied to every run
    "listeners.count" = 2000

    [grid]                           # cartesian product of these lists
    "payouts.active" = ["pro_rata", "user_centric"]
    recommender.exploration.share = [0.0, 0.1, 0.2]

    [zip]                            # lists of equal length varied together
    "listeners.count" = [1000, 2000]
    "artists.count" = [100, 200]

Replication ``r`` of every configuration gets the same seed, spawned by
``numpy.random.SeedSequence(seed).spawn(replications)[r]``, so configurations are compared on
common random numbers. Every run is a content-addressed folder ``runs/<scenario>/<hash>/``
(hash of its resolved config): a finished run is never run again, so a killed sweep resumes
where it stopped. A run that fails leaves ``<hash>.failed.json`` beside its folder (retried on
the next invocation) and does not stop the others.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import shutil
import sys
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from streamsim.core import config
from streamsim.core.config import Scenario, ScenarioError
from streamsim.measures.metrics import t_quantile
from streamsim.measures.registry import headline, recorded
from streamsim.studies import sensitivity
from streamsim.studies.sensitivity import SampleSpec

THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
FAIL_ENV = "STREAMSIM_SWEEP_FAIL"
"""Test-only failure hook: ``KEY=VALUE`` makes every run whose resolved scenario has that value
raise before simulating (e.g. ``STREAMSIM_SWEEP_FAIL=listeners.count=301``)."""
TIMING_COLUMNS = ("rec_fit_seconds",)
"""Metrics that measure wall time: they differ between otherwise identical runs."""


Values = list[Any]


class SweepFile(BaseModel):
    """The schema of a sweep file; unknown keys are errors, numbers are strict (as in a scenario)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    base: str | None = Field(None, description="base scenario, relative to the sweep file; none = defaults")
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$", description="sweep name (default: file stem)")
    replications: int = Field(1, ge=1, le=10_000, description="seeded replications per configuration")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="root seed (default: base run.seed)")
    summary_epochs: int = Field(1, ge=1, le=10_000, description="epochs averaged at the end of each run")
    set: dict[str, Any] = Field(default_factory=dict, description="overrides applied to every run")
    grid: dict[str, Any] = Field(default_factory=dict, description="dotted key -> list of values")
    zip: dict[str, Any] | list[dict[str, Any]] = Field(
        default_factory=dict, description="one or several groups of equal-length lists varied together")
    sample: SampleSpec | None = Field(None, description="a sensitivity design (Morris or Sobol) instead of a grid")

    @model_validator(mode="after")
    def _design_or_grid(self) -> SweepFile:
        if self.sample is not None and (self.grid or self.zip_groups()):
            raise ValueError("a [sample] design replaces [grid] and [zip]: give one or the other")
        return self

    @field_validator("set", mode="before")
    @classmethod
    def _flat_set(cls, value: Any) -> Any:
        return flatten(value, leaf=lambda v: not isinstance(v, dict)) if isinstance(value, dict) else value

    @field_validator("grid", mode="before")
    @classmethod
    def _flat_grid(cls, value: Any) -> Any:
        return _lists(value, "grid")

    @field_validator("zip", mode="before")
    @classmethod
    def _flat_zip(cls, value: Any) -> Any:
        groups = value if isinstance(value, list) else [value]
        groups = [_lists(g, "zip") for g in groups]
        for g in groups:
            lengths = {len(v) for v in g.values()}
            if len(lengths) > 1:
                raise ValueError(f"zipped lists must have equal lengths, got {sorted(lengths)}")
        return groups if isinstance(value, list) else groups[0]

    def zip_groups(self) -> list[dict[str, Values]]:
        """The zipped groups as a list (empty groups dropped)."""
        groups = self.zip if isinstance(self.zip, list) else [self.zip]
        return [g for g in groups if g]

    def swept_keys(self) -> list[str]:
        """Every dotted key that varies across configurations, in file order."""
        if self.sample is not None:
            return list(self.sample.bounds)
        keys = list(self.grid)
        for g in self.zip_groups():
            keys += list(g)
        return keys


def flatten(data: dict[str, Any], leaf: Callable[[Any], bool], prefix: str = "") -> dict[str, Any]:
    """Nested tables to dotted keys, stopping at values for which ``leaf`` is true."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and not leaf(value):
            out.update(flatten(value, leaf, path + "."))
        else:
            out[path] = value
    return out


def _lists(value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        return value
    flat = flatten(value, leaf=lambda v: isinstance(v, list))
    for key, values in flat.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"{key}: expected a non-empty list of values, got {values!r}")
    return flat


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: its configuration, replication, seed and content address."""

    config_index: int
    params: dict[str, Any]
    replication: int
    seed: int
    scenario_toml: str
    scenario_name: str
    run_id: str


@dataclass
class Sweep:
    """A validated sweep: every run resolved, nothing run yet."""

    name: str
    source: Path | None
    spec: SweepFile
    base_path: Path | None
    base: Scenario | None = None
    runs: list[RunSpec] = field(default_factory=list)


def read_sweep(path: str | Path) -> SweepFile:
    """Read and validate a sweep file; ScenarioError lists every problem."""
    path = Path(path)
    data = config.read_toml(path)
    try:
        return SweepFile.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = [f"{'.'.join(map(str, e['loc']))}: unknown key; expected one of {', '.join(SweepFile.model_fields)}"
                    for e in errors if e["type"] == "extra_forbidden"]
        problems += config.describe_errors([e for e in errors if e["type"] != "extra_forbidden"], SweepFile)
        raise ScenarioError(problems, str(path)) from None


def seeds(root: int, replications: int) -> list[int]:
    """One seed per replication, spawned from the root seed (common across configurations)."""
    children = np.random.SeedSequence(root).spawn(replications)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def points(spec: SweepFile) -> list[dict[str, Any]]:
    """Every configuration: the grid's cartesian product times each zipped group's rows."""
    axes: list[list[dict[str, Any]]] = [[{key: v} for v in values] for key, values in spec.grid.items()]
    for group in spec.zip_groups():
        keys = list(group)
        axes.append([dict(zip(keys, row)) for row in zip(*group.values())])
    out = []
    for combo in itertools.product(*axes):
        merged: dict[str, Any] = {}
        for part in combo:
            merged.update(part)
        out.append(merged)
    return out


def content_id(scenario: Scenario) -> str:
    """The content address of a run: a hash of its resolved config."""
    return hashlib.sha256(scenario.to_toml().encode("utf-8")).hexdigest()[:16]


def plan(path: str | Path) -> Sweep:
    """Validate a sweep file and resolve every run's scenario before anything runs.

    Raises:
        ScenarioError: listing every problem of the sweep file and of every configuration.
    """
    path = Path(path)
    spec = read_sweep(path)
    base_path = (path.parent / spec.base).resolve() if spec.base else None
    return plan_spec(spec, config.load(base_path), source=path, base_path=base_path)


def plan_spec(spec: SweepFile, base: Scenario, source: Path | None, base_path: Path | None = None) -> Sweep:
    """Resolve every run of a sweep given as a SweepFile and a base scenario (the Python API's path).

    Raises:
        ScenarioError: listing every problem of every configuration.
    """
    where = str(source) if source is not None else "sweep"
    root_seed = spec.seed if spec.seed is not None else base.run.seed
    run_seeds = seeds(root_seed, spec.replications)
    name = spec.name or (source.stem if source is not None else base.run.name)
    sweep = Sweep(name=name, source=source, spec=spec, base_path=base_path, base=base)
    problems: list[str] = []
    try:
        fixed = base.replace(**spec.set)
    except ScenarioError as exc:
        raise ScenarioError([f"set: {p}" for p in exc.problems], where) from None
    design = sensitivity.points(spec.sample, fixed) if spec.sample is not None else points(spec)
    for index, params in enumerate(design):
        label = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "base"
        for rep, seed in enumerate(run_seeds):
            try:
                scenario = fixed.replace(**{**params, "run.seed": seed})
            except ScenarioError as exc:
                problems += [f"configuration {index} ({label}): {p}" for p in exc.problems]
                break
            sweep.runs.append(RunSpec(index, params, rep, seed, scenario.to_toml(), scenario.run.name,
                                      content_id(scenario)))
    if problems:
        raise ScenarioError(problems, where)
    return sweep


def run_dir(out: Path, spec: RunSpec) -> Path:
    """Where a run's finished folder lives inside a sweep's output folder."""
    return out / "runs" / spec.scenario_name / spec.run_id


def is_complete(folder: Path) -> bool:
    """A finished run: a folder (not .partial) whose manifest says complete."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return manifest.get("status") == "complete" and not folder.name.endswith(".partial")


def limit_threads(n: int | None) -> None:
    """Cap the numeric threads of this process (pool initializer and per-task guard)."""
    if not n:
        return
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


def _failure_hook(scenario: Scenario) -> None:
    rule = os.environ.get(FAIL_ENV)
    if not rule:
        return
    key, value = config.parse_override(rule)
    node: Any = scenario
    for part in key.split("."):
        node = getattr(node, part, None)
    if node == value:
        raise RuntimeError(f"injected failure ({FAIL_ENV}={rule})")


def execute(scenario_toml: str, out_root: str, run_id: str, threads: int | None,
            runner_path: str | Callable[..., Path] = "streamsim.studies.runner:run") -> dict[str, Any]:
    """Run one scenario in a worker; return its status instead of raising.

    Top-level and given only plain values, so it pickles to process pools and Dask workers.
    """
    started = time.perf_counter()
    try:
        limit_threads(threads)
        scenario = config.validate(tomllib.loads(scenario_toml))
        _failure_hook(scenario)
        if callable(runner_path):
            run = runner_path
        else:
            module, _, func = runner_path.partition(":")
            run = getattr(__import__(module, fromlist=[func]), func)
        path = run(scenario, out_root, quiet=True, run_id=run_id, n_threads=threads)
        return {"status": "complete", "path": str(path), "seconds": time.perf_counter() - started}
    except Exception as exc:  # noqa: BLE001 - a failed run is a result, recorded by the caller
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(), "seconds": time.perf_counter() - started}


def write_failure(out: Path, spec: RunSpec, result: dict[str, Any]) -> None:
    """Record a failed run beside its (absent) folder; it never looks complete."""
    target = run_dir(out, spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    record = {"status": "failed", "run_id": spec.run_id, "config_index": spec.config_index,
              "params": spec.params, "replication": spec.replication, "seed": spec.seed, **result}
    _atomic_text(target.with_name(spec.run_id + ".failed.json"), json.dumps(record, indent=2, default=str))


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _atomic_parquet(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


class InlineExecutor(cf.Executor):
    """Runs each task at submit time in this process: for debugging and tests."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - delivered through the future, as a pool would
            future.set_exception(exc)
        return future


@contextlib.contextmanager
def local_executor(workers: int) -> Iterator[tuple[cf.Executor, int]]:
    """A process pool of ``workers`` spawned processes, each capped to its share of the cores."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    saved = {v: os.environ.get(v) for v in THREAD_VARS}
    for var in THREAD_VARS:  # inherited by the spawned workers before they import numba
        os.environ[var] = str(threads)
    try:
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=limit_threads, initargs=(threads,)) as pool:
            yield pool, threads
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


@contextlib.contextmanager
def dask_executor(scheduler: str | None, workers: int) -> Iterator[tuple[cf.Executor, int | None]]:
    """A concurrent.futures executor on Dask: a remote scheduler, or a local cluster if None."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ScenarioError(["Dask is not installed; pip install 'streamsim[cluster]'"], "--scheduler") from None
    if scheduler is not None:
        with Client(scheduler) as client:
            yield client.get_executor(pure=False), None
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client.get_executor(pure=False), threads


@dataclass
class Outcome:
    """What a sweep invocation did."""

    out: Path
    skipped: int = 0
    completed: int = 0
    failed: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def run_sweep(sweep: Sweep, out: str | Path, executor: cf.Executor, threads: int | None = None,
              progress: Callable[[str], None] | None = None,
              runner_path: str | Callable[..., Path] = "streamsim.studies.runner:run") -> Outcome:
    """Run every unfinished run of a planned sweep on an executor, then write the tables.

    Args:
        sweep: from :func:`plan`.
        out: the sweep's output folder.
        executor: any concurrent.futures executor (process pool, Dask client executor).
        threads: numeric threads per run (None: leave the worker's setting alone).
        progress: called with "skipped", "complete" or "failed" as each run settles.
        runner_path: "module:function" (or a picklable function) that runs one scenario like
            ``sim.runner.run``; tests may point elsewhere.
    """
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    if sweep.base_path is None and sweep.base is not None:
        _atomic_text(out / "base.toml", sweep.base.to_toml())
    _atomic_text(out / "sweep.toml", _resolved_sweep_toml(sweep))
    outcome = Outcome(out)
    pending: dict[cf.Future, RunSpec] = {}
    for spec in sweep.runs:
        target = run_dir(out, spec)
        if is_complete(target):
            outcome.skipped += 1
            _notify(progress, "skipped")
            continue
        stale = target.with_name(spec.run_id + ".partial")
        if stale.exists():
            shutil.rmtree(stale)
        future = executor.submit(execute, spec.scenario_toml, str(out / "runs"), spec.run_id, threads, runner_path)
        pending[future] = spec
    for future in cf.as_completed(pending):
        spec = pending[future]
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - a worker that died is a failed run
            result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        failed_record = run_dir(out, spec).with_name(spec.run_id + ".failed.json")
        if result["status"] == "complete":
            outcome.completed += 1
            failed_record.unlink(missing_ok=True)
        else:
            outcome.failed += 1
            outcome.failures[spec.run_id] = result["error"]
            write_failure(out, spec, result)
        _notify(progress, result["status"])
    write_tables(sweep, out)
    return outcome


def _notify(progress: Callable[[str], None] | None, status: str) -> None:
    if progress is not None:
        progress(status)


def _resolved_sweep_toml(sweep: Sweep) -> str:
    import tomli_w

    data = sweep.spec.model_dump(mode="json", exclude_none=True)
    if sweep.base_path is not None:
        data["base"] = str(sweep.base_path)
    elif sweep.base is not None:      # a sweep started from Python: its base scenario is written beside it
        data["base"] = "base.toml"
    data["name"] = sweep.name
    return tomli_w.dumps(data)


def _param_value(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float, str)) else json.dumps(value)


def runs_table(sweep: Sweep, out: Path) -> pd.DataFrame:
    """One row per run: configuration, parameters, replication, seed, id and status."""
    rows = []
    for spec in sweep.runs:
        target = run_dir(out, spec)
        status = "complete" if is_complete(target) else (
            "failed" if target.with_name(spec.run_id + ".failed.json").exists() else "missing")
        rows.append({"config": spec.config_index, **{k: _param_value(v) for k, v in spec.params.items()},
                     "replication": spec.replication, "seed": spec.seed, "run_id": spec.run_id,
                     "scenario": spec.scenario_name, "status": status})
    return pd.DataFrame(rows)


def sweep_table(sweep: Sweep, out: Path) -> pd.DataFrame:
    """One row per finished run and epoch: parameters, replication, seed, then every metric."""
    frames = []
    for spec in sweep.runs:
        target = run_dir(out, spec)
        if not is_complete(target):
            continue
        metrics = pd.read_parquet(target / "metrics.parquet")
        head = {"config": spec.config_index, **{k: _param_value(v) for k, v in spec.params.items()},
                "replication": spec.replication, "seed": spec.seed, "run_id": spec.run_id}
        for i, (key, value) in enumerate(head.items()):
            metrics.insert(i, key, value)
        frames.append(metrics)
    if not frames:
        return pd.DataFrame(columns=["config", *sweep.spec.swept_keys(), "replication", "seed", "run_id", "epoch"])
    return pd.concat(frames, ignore_index=True).sort_values(
        ["config", "replication", "epoch"], kind="stable").reset_index(drop=True)


def summarise(table: pd.DataFrame, params: list[str], last_epochs: int = 1) -> pd.DataFrame:
    """Per configuration and metric: mean, sd, n and 95 % t-interval across replications.

    Each run contributes one value per metric: its mean over its last ``last_epochs`` epochs
    (1 = the final epoch); burn-in epochs never count. Long format: one row per configuration
    and metric.
    """
    table = recorded(table)
    ident = ["config", *params, "replication", "seed", "run_id", "epoch", "burn_in"]
    metric_cols = [c for c in table.columns if c not in ident and pd.api.types.is_numeric_dtype(table[c])]
    columns = ["config", *params, "metric", "n", "mean", "sd", "ci_low", "ci_high"]
    if table.empty or not metric_cols:
        return pd.DataFrame(columns=columns)
    last = table.groupby("run_id")["epoch"].transform("max")
    tail = table[table["epoch"] > last - last_epochs]
    per_run = tail.groupby(["config", "replication"], sort=True)[metric_cols].mean()
    rows = []
    labels = table.drop_duplicates("config").set_index("config")[params]
    for config_index, group in per_run.groupby(level="config"):
        n = len(group)
        half_factor = t_quantile(n - 1) / math.sqrt(n) if n > 1 else math.nan
        for metric in metric_cols:
            values = group[metric].astype(float)
            mean = float(values.mean())
            sd = float(values.std(ddof=1)) if n > 1 else math.nan
            half = sd * half_factor
            rows.append({"config": config_index, **labels.loc[config_index].to_dict(), "metric": metric,
                         "n": n, "mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half})
    return pd.DataFrame(rows, columns=columns)


def swept_params(sweep: Sweep) -> list[str]:
    """The keys that vary across the sweep's runs (a sampled channel mix adds its completed shares)."""
    keys = sweep.spec.swept_keys()
    for spec in sweep.runs:
        keys += [k for k in spec.params if k not in keys]
    return keys


def write_tables(sweep: Sweep, out: Path) -> None:
    """Write runs.parquet, sweep.parquet and summary.parquet (and sensitivity.parquet for a
    sampling design) atomically."""
    params = swept_params(sweep)
    table = sweep_table(sweep, out)
    summary = summarise(table, params, sweep.spec.summary_epochs)
    _atomic_parquet(out / "runs.parquet", runs_table(sweep, out))
    _atomic_parquet(out / "sweep.parquet", table)
    _atomic_parquet(out / "summary.parquet", summary)
    sample = sweep.spec.sample
    if sample is not None:
        n_points = 1 + max((s.config_index for s in sweep.runs), default=-1)
        indices = sensitivity.analyse(sample, summary, n_points, sample.outputs or list(headline()))
        _atomic_parquet(out / "sensitivity.parquet", indices)


def default_out(sweep: Sweep) -> Path:
    """Default output folder: ``<base outputs.root>/sweeps/<sweep name>``."""
    base = config.load(sweep.base_path)
    return Path(base.outputs.root) / "sweeps" / sweep.name


class RunProgress:
    """A rich bar over a sweep's runs on stderr: done, failed, remaining, elapsed, ETA."""

    def __init__(self, total: int, title: str, enabled: bool = True):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        console = Console(stderr=True)
        self.enabled = enabled and console.is_terminal
        self.counts = {"complete": 0, "skipped": 0, "failed": 0}
        self.total = total
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                  TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                                  TextColumn("ETA"), TimeRemainingColumn(),
                                  console=console, disable=not self.enabled)
        self._task = self._progress.add_task(title, total=total, counts=self._text())

    def _text(self) -> str:
        done = self.counts["complete"] + self.counts["skipped"]
        remaining = self.total - done - self.counts["failed"]
        return (f"done {done} ({self.counts['skipped']} skipped)  "
                f"[red]failed {self.counts['failed']}[/red]  remaining {remaining}")

    def __call__(self, status: str) -> None:
        self.counts[status] += 1
        if status == "skipped":  # instant: kept out of the bar so the ETA reflects real runs
            self._progress.update(self._task, total=self.total - self.counts["skipped"], counts=self._text())
        else:
            self._progress.update(self._task, advance=1, counts=self._text())

    def __enter__(self) -> RunProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.__exit__(*exc)


def main(path: str | Path, workers: int | None = None, scheduler: str | None = None, dask_local: bool = False,
         out: str | Path | None = None, quiet: bool = False,
         runner_path: str | Callable[..., Path] = "streamsim.studies.runner:run") -> Outcome:
    """Plan, run and tabulate a sweep file (the ``streamsim sweep`` command).

    Raises:
        ScenarioError: if the sweep file or any configuration is invalid (nothing has run).
    """
    sweep = plan(path)
    target = Path(out) if out is not None else default_out(sweep)
    workers = workers or max(1, min(os.cpu_count() or 1, len(sweep.runs)))
    if scheduler is not None or dask_local:
        context = dask_executor(scheduler, workers)
    else:
        context = local_executor(workers)
    with context as (executor, threads), RunProgress(len(sweep.runs), sweep.name, enabled=not quiet) as bar:
        return run_sweep(sweep, target, executor, threads, progress=bar, runner_path=runner_path)

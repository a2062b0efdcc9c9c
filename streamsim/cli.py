"""The ``streamsim`` command line: validate scenarios, run them, show and calibrate results.

A thin layer over the Python API (:mod:`streamsim.api`). User errors (a bad scenario, a missing file, a folder that is not a run) print one readable
message per problem on stderr and exit with code 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from streamsim import cli_study
from streamsim.cli_study import err, fail, out, print_problems
from streamsim.core import config

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Agent-based simulator of a music-streaming ecosystem.")

SetOpt = Annotated[Optional[list[str]], typer.Option("--set", "-s", help="override a key: section.key=value")]
ForceOpt = Annotated[bool, typer.Option("--force", help="run even if the estimated peak memory exceeds "
                                                        "the memory available")]


def load_or_fail(path: Optional[Path], sets: Optional[list[str]], seed: Optional[int] = None,
                 epochs: Optional[int] = None, out_dir: Optional[Path] = None) -> config.Scenario:
    """Load and validate a scenario with its overrides, or exit 2 naming every problem."""
    overrides = list(sets or [])
    if seed is not None:
        overrides.append(f"run.seed={seed}")
    if epochs is not None:
        overrides.append(f"run.epochs={epochs}")
    if out_dir is not None:
        overrides.append(f"outputs.root={str(out_dir)!r}")
    try:
        return config.load(path, overrides)
    except config.ScenarioError as exc:
        fail(exc.problems, exc.source)
        raise  # unreachable: fail() exits


def check_memory(scenario: config.Scenario, force: bool) -> None:
    """Print the run's estimated peak memory; exit 2 if it exceeds what is available, unless forced."""
    from streamsim.sim import memory

    est = memory.estimate(scenario)
    available = memory.available_bytes()
    err.print(f"{scenario.run.name}: {memory.describe(est, available)}", highlight=False, soft_wrap=True)
    if available is not None and est.total > available and not force:
        fail([f"{scenario.run.name} needs about {est.total / memory.GB:.1f} GiB of memory at its peak "
              f"(estimate, docs/MODEL.md \"Memory\"), more than the {available / memory.GB:.1f} GiB available. "
              f"Make it smaller (listeners.count, artists.count, run.epochs), free memory, or pass --force "
              f"to run anyway."])


# Top-level keys that only a sweep file has (a scenario file holds section tables only).
SWEEP_KEYS = frozenset({"base", "replications", "summary_epochs", "set", "grid", "zip", "sample"})


def _validate_sweep(path: Path, sets: list[str] | None) -> bool:
    """Check a sweep file and every run it resolves to; True if it is valid."""
    from streamsim.studies import sweep

    if sets:
        print_problems(["--set applies to scenario files; put a sweep's overrides in its [set] table"], str(path))
        return False
    try:
        planned = sweep.plan(path)
    except config.ScenarioError as exc:
        print_problems(exc.problems, exc.source)
        return False
    configs = len({r.config_index for r in planned.runs})
    out.print(f"ok  {path}  (sweep {planned.name}: {len(planned.runs)} runs, {configs} configurations x "
              f"{planned.spec.replications} replications)", highlight=False, soft_wrap=True)
    return True


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="scenario or sweep files")],
             sets: SetOpt = None) -> None:
    """Check scenario files (and overrides), or sweep files and every run they resolve to, without
    running anything."""
    bad = False
    for path in files:
        try:
            is_sweep = bool(SWEEP_KEYS & set(config.read_toml(path)))
        except config.ScenarioError:
            is_sweep = False          # config.load below reports the file's problem
        if is_sweep:
            bad |= not _validate_sweep(path, sets)
            continue
        try:
            scenario = config.load(path, sets or [])
        except config.ScenarioError as exc:
            bad = True
            print_problems(exc.problems, exc.source)
            continue
        from streamsim.sim import memory

        est = memory.describe(memory.estimate(scenario), memory.available_bytes())
        out.print(f"ok  {path}  ({scenario.run.name}: {scenario.listeners.count} listeners, "
                  f"{scenario.artists.count} artists, {scenario.run.burn_in_epochs} burn-in + "
                  f"{scenario.run.epochs} recorded epochs; {est})",
                  highlight=False, soft_wrap=True)
    if bad:
        raise typer.Exit(2)


@app.command()
def run(file: Annotated[Path, typer.Argument(help="scenario file")],
        sets: SetOpt = None,
        seed: Annotated[Optional[int], typer.Option(help="override run.seed")] = None,
        epochs: Annotated[Optional[int], typer.Option(help="override run.epochs")] = None,
        out_dir: Annotated[Optional[Path], typer.Option("--out", help="output root (default outputs/)")] = None,
        threads: Annotated[Optional[int], typer.Option(help="numba threads (results do not depend on it)")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
        force: ForceOpt = False) -> None:
    """Run one scenario and write its results under outputs/<scenario>/<run-id>/."""
    scenario = load_or_fail(file, sets, seed, epochs, out_dir)
    check_memory(scenario, force)
    from streamsim import api

    if threads is not None:
        _set_threads(threads)
    run_dir = api.run(scenario, quiet=quiet, n_threads=threads)
    if not quiet:
        _summary(run_dir)
    typer.echo(f"results: {run_dir}")


@app.command()
def show(run_dir: Annotated[Path, typer.Argument(help="a run folder")]) -> None:
    """Print a finished run's summary table."""
    _summary(run_dir)


@app.command()
def calibrate(file: Annotated[Optional[Path], typer.Argument(help="scenario (default: baseline)")] = None,
              sets: SetOpt = None,
              epochs: Annotated[Optional[int], typer.Option(help="override run.epochs")] = None,
              out_dir: Annotated[Optional[Path], typer.Option("--out", help="output root")] = None,
              quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
              force: ForceOpt = False) -> None:
    """Run a scenario and print each calibration target beside its real-world band."""
    scenario = load_or_fail(file, sets, None, epochs, out_dir)
    check_memory(scenario, force)
    from streamsim.studies import calibration

    rows, run_dir = calibration.calibrate(scenario, quiet=quiet)
    table = Table(title=f"calibration of {scenario.run.name} ({run_dir})", min_width=120)
    for col in ("id", "what", "measured", "band", "status"):
        table.add_column(col, overflow="fold")
    for r in rows:
        colour = {"pass": "green", "out of band": "red"}.get(r["status"], "yellow")
        table.add_row(r["id"], r["what"], r["measured"], r["band"], f"[{colour}]{r['status']}[/{colour}]")
    out.print(table)


def _set_threads(n: int) -> None:
    import numba

    if not 1 <= n <= numba.config.NUMBA_NUM_THREADS:
        fail([f"--threads: got {n}, expected 1..{numba.config.NUMBA_NUM_THREADS}"])
    numba.set_num_threads(n)


def _summary(run_dir: Path) -> None:
    from streamsim import api
    from streamsim.present.summary import summary_rows

    try:
        result = api.open_run(run_dir)
    except (FileNotFoundError, ValueError, config.ScenarioError) as exc:
        fail([str(exc)])
    man = result.manifest
    table = Table(title=f"{man['scenario']} / {man['run_id']}  (seed {man['seed']}, {man['epochs']} epochs)")
    for col in ("metric", "first epoch", "last epoch", "mean"):
        table.add_column(col, justify="right" if col != "metric" else "left")
    for name, first, last, mean in summary_rows(result.metrics):
        table.add_row(name, first, last, mean)
    out.print(table)
    secs = man.get("seconds", {})
    if secs:
        out.print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in secs.items()), highlight=False)


cli_study.register(app)

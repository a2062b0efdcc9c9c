"""The study commands of ``streamsim``: sweep, plot, compare, report.

``sim.cli`` calls :func:`register` on its typer app. User errors (a bad sweep file or scenario,
a folder that is not a run or sweep) print one line per problem on stderr and exit with code 2;
a sweep in which some runs failed exits with code 1 after finishing the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from streamsim.core.config import ScenarioError

out = Console()
err = Console(stderr=True)


def print_problems(problems: list[str], source: str = "") -> None:
    """Print problems on stderr, each as written (brackets in them are text, not markup)."""
    for p in problems:
        err.print(f"[red]error[/red] {escape(source + ': ' if source else '')}{escape(p)}", highlight=False,
                  soft_wrap=True)


def fail(problems: list[str], source: str = "") -> None:
    """Print problems on stderr and exit with code 2."""
    print_problems(problems, source)
    raise typer.Exit(2)


def _folder(path: Path) -> Path:
    if not path.is_dir():
        fail([f"no such folder: {path}"])
    return path


def sweep(file: Annotated[Path, typer.Argument(help="sweep file (TOML)")],
          workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1,
                                                         help="parallel runs (default: cores)")] = None,
          scheduler: Annotated[Optional[str], typer.Option(help="Dask scheduler address, tcp://HOST:PORT")] = None,
          dask_local: Annotated[bool, typer.Option("--dask-local", help="run on a local Dask cluster")] = False,
          out_dir: Annotated[Optional[Path], typer.Option("--out", help="output folder "
                                                          "(default: <outputs.root>/sweeps/<name>)")] = None,
          quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False) -> None:
    """Run a grid of scenarios x seeded replications; finished runs are skipped on re-runs."""
    from streamsim.studies import sweep as sweeps

    if scheduler is not None and dask_local:
        fail(["--scheduler and --dask-local exclude each other"])
    try:
        outcome = sweeps.main(file, workers=workers, scheduler=scheduler, dask_local=dask_local,
                              out=out_dir, quiet=quiet)
    except ScenarioError as exc:
        fail(exc.problems, exc.source)
        raise  # unreachable
    total = outcome.completed + outcome.skipped + outcome.failed
    out.print(f"{total} runs: {outcome.completed} ran, {outcome.skipped} already finished, "
              f"{outcome.failed} failed; tables in {outcome.out}", highlight=False)
    for run_id, error in outcome.failures.items():
        err.print(f"[red]failed[/red] {run_id}: {error}", highlight=False, soft_wrap=True)
    if outcome.failed:
        raise typer.Exit(1)


def plot(folder: Annotated[Path, typer.Argument(help="a run or sweep folder")],
         burn_in: Annotated[bool, typer.Option("--burn-in", help="also draw the burn-in epochs of a run")] = False
         ) -> None:
    """Draw the figures of a run or sweep into its figures/ folder (PNG and SVG)."""
    from streamsim.present import plots

    try:
        written = plots.plot_dir(_folder(folder), burn_in=burn_in)
    except (ValueError, FileNotFoundError) as exc:
        fail([str(exc)])
        raise  # unreachable
    out.print(f"{len(written)} files in {folder / 'figures'}", highlight=False)


def compare(folders: Annotated[list[Path], typer.Argument(help="run, scenario or sweep folders")],
            out_dir: Annotated[Path, typer.Option("--out", help="where compare.csv and figures/ go")]
            = Path("outputs/compare")) -> None:
    """Headline metrics of several runs, scenarios or sweeps side by side: a table and figures."""
    from streamsim.present import plots

    try:
        table, written = plots.compare([_folder(f) for f in folders], out_dir)
    except (ValueError, FileNotFoundError) as exc:
        fail([str(exc)])
        raise  # unreachable
    entries = list(dict.fromkeys(table["entry"]))
    grid = Table(title="final-epoch values (mean across runs, ± 95 % half-width)")
    grid.add_column("metric")
    for name in entries:
        grid.add_column(name, justify="right", overflow="fold")
    for metric, group in table.groupby("metric", sort=False):
        cells = group.set_index("entry")
        grid.add_row(plots.label(metric), *[_cell(cells, name) for name in entries])
    out.print(grid)
    out.print(f"table {out_dir / 'compare.csv'}, {len(written)} figure files in {out_dir / 'figures'}",
              highlight=False)


def _cell(cells, name: str) -> str:
    if name not in cells.index:
        return "–"
    row = cells.loc[name]
    text = f"{row['mean']:.4g}"
    if row["runs"] > 1:
        text += f" ± {row['ci_high'] - row['mean']:.2g}"
    return text


def report(folder: Annotated[Path, typer.Argument(help="a run or sweep folder")]) -> None:
    """Write a self-contained report.html (figures, headline table, config, calibration)."""
    from streamsim.present import report as reports

    try:
        path = reports.report(_folder(folder))
    except (ValueError, FileNotFoundError) as exc:
        fail([str(exc)])
        raise  # unreachable
    out.print(f"report {path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the sweep, plot, compare and report commands to the ``streamsim`` app."""
    app.command("sweep")(sweep)
    app.command("plot")(plot)
    app.command("compare")(compare)
    app.command("report")(report)

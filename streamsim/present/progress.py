"""A progress bar per epoch on stderr, with the epoch's headline figures."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from streamsim.core.config import Scenario


def headline(row: dict[str, float]) -> str:
    """The figures shown beside the bar: the metrics registered with a progress format."""
    from streamsim.measures.registry import metrics

    return "  ".join(f"{m.label} {m.progress.format(row[m.name])}" for m in metrics()
                     if m.progress is not None and m.name in row)


class EpochProgress:
    """Context manager drawing one bar over a run's epochs; silent unless enabled and on a terminal."""

    def __init__(self, scenario: Scenario, enabled: bool = True):
        console = Console(stderr=True)
        self.enabled = enabled and console.is_terminal
        self.total = scenario.run.total_epochs
        self.name = scenario.run.name
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[figures]}"),
                                  console=console, disable=not self.enabled)
        self._task = None

    def __enter__(self) -> EpochProgress:
        self._progress.__enter__()
        self._task = self._progress.add_task(self.name, total=self.total, figures="")
        return self

    def advance(self, row: dict[str, float]) -> None:
        self._progress.update(self._task, advance=1, figures=headline(row))

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)

"""The metric registry: every column of metrics.parquet declared once, with its unit and label.

A metric is a function of an :class:`~streamsim.measures.view.EpochView` (an epoch's record
and its scenario) returning one number. ``collect``, the plots, the summary tables, the
progress bar, the docs' metric tables and the tests all read this registry. A family declares
one metric per payout rule or per channel, so a new rule gets its columns without more code.

Adding a metric::

    from streamsim.measures.registry import metric

    @metric("long_plays_share", unit="share of plays", label="plays over 5 minutes")
    def long_plays_share(v):
        return float((v.record.events.seconds > 300).mean()) if len(v.record.events) else 0.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from streamsim.core.registry import PAYOUT_RULES, Registry

if TYPE_CHECKING:
    from streamsim.measures.view import EpochView


@dataclass(frozen=True)
class Metric:
    """One column of metrics.parquet.

    Attributes:
        name: the column name.
        fn: ``fn(view) -> float``; a value that is undefined for the epoch is written as 0.0.
        unit: unit of the value, also the axis label of figures.
        label: readable name for tables and figure titles.
        doc: the formula, for the docs' tables.
        group: the docs section the column is listed under.
        headline: shown in run summaries, reports and comparisons.
        progress: a format (e.g. "{:.3f}") to show the value beside the progress bar; None = not shown.
    """

    name: str
    fn: Callable[[EpochView], float]
    unit: str
    label: str
    doc: str = ""
    group: str = "other"
    headline: bool = False
    progress: str | None = None


@dataclass(frozen=True)
class Template:
    """A metric made for each member of a family: ``name``, ``label`` and ``doc`` hold "{m}" for
    the member's name, "{label}" for its readable name; ``fn(view, member)``."""

    name: str
    fn: Callable[[EpochView, str], float]
    unit: str
    label: str
    doc: str = ""
    headline: bool | tuple[str, ...] = False


@dataclass(frozen=True)
class Family:
    """Metrics repeated over the members of ``members()`` (member-major order)."""

    key: str
    members: Callable[[], Sequence[tuple[str, str]]]
    templates: tuple[Template, ...]
    group: str

    def expand(self) -> list[Metric]:
        out = []
        for member, member_label in self.members():
            for t in self.templates:
                headline = t.headline if isinstance(t.headline, bool) else member in t.headline
                out.append(Metric(t.name.format(m=member), _bind(t.fn, member), t.unit,
                                  t.label.format(m=member, label=member_label),
                                  t.doc.format(m=member, label=member_label), self.group, headline))
        return out


def _bind(fn: Callable[[EpochView, str], float], member: str) -> Callable[[EpochView], float]:
    return lambda view: fn(view, member)


METRICS: Registry[Metric | Family] = Registry("metric", builtins=("streamsim.measures.builtin",
                                                                  "streamsim.measures.chaney"))


def metric(name: str, unit: str, label: str, doc: str = "", group: str = "other", headline: bool = False,
           progress: str | None = None) -> Callable:
    """Register ``fn(view) -> float`` as the metric ``name`` (appended after those already declared)."""
    def wrap(fn: Callable[[EpochView], float]) -> Callable[[EpochView], float]:
        METRICS.add(name, Metric(name, fn, unit, label, doc, group, headline, progress))
        return fn
    return wrap


def family(key: str, members: Callable[[], Sequence[tuple[str, str]]], group: str,
           templates: Sequence[Template]) -> Family:
    """Register a family of metrics repeated over ``members()`` (evaluated when read)."""
    return METRICS.add(key, Family(key, members, tuple(templates), group))


def per_rule() -> list[tuple[str, str]]:
    """Members of a per-rule family: every registered payout rule and its label."""
    return [(name, rule.label) for name, rule in PAYOUT_RULES.items()]


def metrics() -> list[Metric]:
    """Every registered metric, families expanded, in column order."""
    out: list[Metric] = []
    for _, entry in METRICS.items():
        out.extend(entry.expand() if isinstance(entry, Family) else [entry])
    return out


def metric_columns() -> tuple[str, ...]:
    """The columns of metrics.parquet, in order."""
    return tuple(m.name for m in metrics())


def by_name() -> dict[str, Metric]:
    return {m.name: m for m in metrics()}


def headline() -> tuple[str, ...]:
    """Metrics shown in summaries, reports and comparisons."""
    return tuple(m.name for m in metrics() if m.headline)


def label(name: str) -> str:
    """Readable name of a metric (the column name, spaced, if unregistered)."""
    m = by_name().get(name)
    return m.label if m else name.replace("_", " ")


def unit(name: str) -> str:
    """Unit of a metric ("" if unregistered)."""
    m = by_name().get(name)
    return m.unit if m else ""


def collect(view: EpochView) -> dict[str, float]:
    """One row of metrics.parquet: every registered metric of the epoch, all finite."""
    return {m.name: _finite(m.fn(view)) for m in metrics()}


def recorded(frame):
    """The rows of a metrics, artists or sweep table after the burn-in (all rows of a table
    without a ``burn_in`` column)."""
    if "burn_in" not in frame.columns:
        return frame
    return frame[frame["burn_in"] == 0]


def _finite(x: float) -> float:
    x = float(x)
    return x if math.isfinite(x) else 0.0


def metric_table() -> str:
    """Every metric as markdown tables, one per group, for docs/MODEL.md."""
    groups: dict[str, list[Metric]] = {}
    for m in metrics():
        groups.setdefault(m.group, []).append(m)
    parts = []
    for group, items in groups.items():
        lines = [f"#### {group}", "", "| column | unit | formula (undefined → 0) |", "|---|---|---|"]
        lines += [f"| {m.name} | {m.unit} | {m.doc.replace('|', '/')} |" for m in items]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"

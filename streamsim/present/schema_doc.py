"""The reference tables of docs/MODEL.md, rendered from the code itself.

``python -m streamsim.present.schema_doc`` prints the parameter table (from the scenario schema),
``--metrics`` the metric tables (from the metric registry); tests check that docs/MODEL.md holds
the current ones, so documented defaults, ranges, units and formulas cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from streamsim.core.config import Scenario


def _range(field) -> str:
    lo = hi = None
    lo_open = hi_open = False
    for m in field.metadata:
        for attr, is_open, is_lo in (("ge", False, True), ("gt", True, True), ("le", False, False),
                                     ("lt", True, False)):
            v = getattr(m, attr, None)
            if v is not None:
                if is_lo:
                    lo, lo_open = v, is_open
                else:
                    hi, hi_open = v, is_open
    if lo is None and hi is None:
        return ""
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    return f"{left}{'' if lo is None else lo}, {'' if hi is None else hi}{right}"


def _rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows += _rows(ann, key + ".")
            continue
        default: Any = field.default
        rows.append((key, repr(default) if isinstance(default, str) else str(default), _range(field),
                     (field.description or "").replace("|", "/")))
    return rows


def parameter_table() -> str:
    """Every scenario key with its default, valid range and description, as a markdown table."""
    lines = ["| key | default | range | meaning (unit) |", "|---|---|---|---|"]
    lines += [f"| `{k}` | {d} | {r} | {m} |" for k, d, r, m in _rows(Scenario, "")]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    if "--metrics" in sys.argv[1:]:
        from streamsim.measures.registry import metric_table

        print(metric_table(), end="")
    else:
        print(parameter_table(), end="")

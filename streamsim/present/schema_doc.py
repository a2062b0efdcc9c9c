"""The reference tables of docs/MODEL.md, rendered from the code itself.

``python -m streamsim.present.schema_doc`` prints the parameter table (from the scenario schema),
``--metrics`` the metric tables (from the metric registry); tests check that docs/MODEL.md holds
the current ones, so documented defaults, ranges, units and formulas cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from streamsim.core.config import Scenario, field_range


def _rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows += _rows(ann, key + ".")
            continue
        default: Any = field.default
        rows.append((key, repr(default) if isinstance(default, str) else str(default), field_range(field),
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

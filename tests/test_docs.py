"""The model document stays true to the code: every parameter and every output column is in it."""

from __future__ import annotations

from pathlib import Path

from streamsim.core.config import RULES
from streamsim.measures.metrics import METRIC_COLUMNS
from streamsim.present.schema_doc import parameter_table

MODEL = Path(__file__).resolve().parents[1] / "docs" / "MODEL.md"


def test_model_doc_holds_the_current_parameter_table():
    assert parameter_table() in MODEL.read_text(encoding="utf-8"), (
        "docs/MODEL.md is out of date: paste the output of `python -m sim.schema_doc` into its appendix")


def test_model_doc_documents_every_metric_column():
    """Each column has a row in a table of docs/MODEL.md; per-rule columns as ``<name>_r``."""
    text = MODEL.read_text(encoding="utf-8")
    missing = []
    for col in METRIC_COLUMNS:
        generic = col
        for rule in RULES:
            generic = generic.removesuffix(f"_{rule}") + ("_r" if generic.endswith(f"_{rule}") else "")
        if generic.startswith("channel_share_"):
            generic = "channel_share_\\<c\\>"
        if f"| {col} |" not in text and f"| {generic} |" not in text:
            missing.append(col)
    assert not missing, f"columns not documented in docs/MODEL.md: {missing}"

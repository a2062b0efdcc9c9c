"""The model document stays true to the code: every parameter and every output column is in it."""

from __future__ import annotations

from pathlib import Path

from streamsim.measures.registry import metric_table
from streamsim.present.schema_doc import parameter_table

MODEL = Path(__file__).resolve().parents[1] / "docs" / "MODEL.md"


def test_model_doc_holds_the_current_parameter_table():
    assert parameter_table() in MODEL.read_text(encoding="utf-8"), (
        "docs/MODEL.md is out of date: paste the output of `python -m streamsim.present.schema_doc` into "
        "its appendix")


def test_model_doc_holds_the_current_metric_tables():
    assert metric_table() in MODEL.read_text(encoding="utf-8"), (
        "docs/MODEL.md is out of date: paste the output of `python -m streamsim.present.schema_doc --metrics` "
        "into section 5")


def test_model_doc_holds_the_current_memory_coefficients():
    from streamsim.sim.memory import coefficient_table

    assert coefficient_table() in MODEL.read_text(encoding="utf-8"), (
        "docs/MODEL.md is out of date: paste the output of `python -m streamsim.sim.memory` into its Memory section")

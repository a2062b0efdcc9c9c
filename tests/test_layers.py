"""The package layers: each sub-package imports only its own modules and the layers below it.

    core                                units, codes, schema, events, registries (imports nothing of ours)
    agents | recommender | economics    behaviour, learning, money (never each other, never the engine)
    sim                                 the engine: model, ledger, epoch record
    measures                            metrics of epoch records
    present                             summaries, progress, figures, reports
    studies                             runs, sweeps, calibration
    api, testing                        the public API and the harnesses
    cli, cli_study, __main__            the command line

Imports under ``if TYPE_CHECKING:`` are annotations, not dependencies, and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "streamsim"
RANK = {"core": 0, "agents": 1, "recommender": 1, "economics": 1, "sim": 2, "measures": 3, "present": 4,
        "studies": 5, "api": 6, "testing": 6, "cli": 7, "__init__": 7}
SAME = {"cli_study": "cli", "__main__": "cli"}   # modules of one layer that are not in a sub-package


def _layer(module: str) -> str | None:
    """The layer of a dotted module name inside streamsim (None if outside)."""
    parts = module.split(".")
    if parts[0] != "streamsim":
        return None
    layer = parts[1] if len(parts) > 1 else "__init__"
    return SAME.get(layer, layer)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "streamsim":
            out.update(f"streamsim.{a.name}" for a in node.names)     # sub-modules, not the package
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_its_layer_and_below(path):
    rel = path.relative_to(PACKAGE)
    own = rel.parts[0] if len(rel.parts) > 1 else SAME.get(rel.stem, rel.stem)
    bad = []
    for module in _imports(path):
        layer = _layer(module)
        if layer is None or layer == own:
            continue
        if RANK[layer] >= RANK[own]:
            bad.append(module)
    assert not bad, f"{rel} ({own}, layer {RANK[own]}) imports {sorted(bad)}"


def test_core_imports_nothing_of_ours():
    for path in (PACKAGE / "core").glob("*.py"):
        outside = {m for m in _imports(path) if (_layer(m) or "core") != "core"}
        assert not outside, f"{path.name} imports {sorted(outside)}"


def test_every_layer_is_known():
    layers = {p.relative_to(PACKAGE).parts[0] if p.parent != PACKAGE else SAME.get(p.stem, p.stem)
              for p in _modules()}
    assert layers <= set(RANK), layers - set(RANK)

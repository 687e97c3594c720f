"""The package's shape, checked: module size, import cycles, stage order, no asserts.

docs/ARCHITECTURE.md states the rules; these tests keep them true. They read the source
with :mod:`ast` (nothing is imported), so they are fast and see lazy imports too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "slrt_ml"
MAX_LINES = 500

#: Stages in data-flow order: a module may import its own stage and earlier ones only.
STAGES = ["data", "features", "targeting", "models", "evaluation", "explain"]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str) -> set[str]:
    """Every slrt_ml module ``name`` imports, at module top or inside a function."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in MODULES and t != name}
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _stage(name: str) -> int | None:
    parts = name.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_500_lines(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (limit {MAX_LINES}): split it by job"


def _cycle_through(start: str) -> list[str] | None:
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in GRAPH[node]:
            if nxt == start:
                return [*path, start]
            if nxt not in seen and not nxt.startswith(f"{start}."):
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not MODULES[n].name == "__init__.py"))
def test_no_module_imports_a_module_that_imports_it_back(name):
    cycle = _cycle_through(name)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_stages_import_only_earlier_stages():
    backwards = [
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if _stage(name) is not None and _stage(target) is not None and _stage(target) > _stage(name)
    ]
    later = [
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if _stage(name) is not None
        and target.split(".")[1:2] in (["pipeline"], ["tracking"], ["cli"])
    ]
    assert backwards + later == [], "imports against the data flow: " + ", ".join(backwards + later)


def test_no_assert_statements_in_the_library():
    found = [
        f"{name}:{node.lineno}"
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert found == [], f"use a named exception, not assert (gone under python -O): {found}"


def test_the_import_graph_sees_both_import_forms():
    # guard the checker itself: a relative and an absolute import are both found
    assert "slrt_ml.data.codebook" in GRAPH["slrt_ml.data.schema"]
    assert any(t.startswith("slrt_ml.") for t in GRAPH["slrt_ml.cli"])


def test_nothing_below_the_spark_engine_imports_it():
    # slrt_ml.spark sits at the pipeline level: stages and pipeline never import it
    below = [
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if target.startswith("slrt_ml.spark")
        and (_stage(name) is not None or name.startswith("slrt_ml.pipeline"))
    ]
    assert below == [], "imports of the Spark engine from below it: " + ", ".join(below)


def _names_pyspark(node: ast.Import | ast.ImportFrom, alias: ast.alias) -> bool:
    return (getattr(node, "module", None) or alias.name).startswith("pyspark")


def test_pyspark_is_imported_inside_functions_only():
    top_level = [
        name
        for name, path in MODULES.items()
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(_names_pyspark(node, alias) for alias in node.names)
    ]
    assert top_level == [], f"pyspark imported at module top (starts a JVM on use): {top_level}"

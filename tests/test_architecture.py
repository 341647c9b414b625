"""Imports run one way: stages use infrastructure, never the reverse, and sibling stages meet
only through tables (ARCHITECTURE.md). Annotation-only imports (under ``TYPE_CHECKING``)
make no runtime edge and are not counted."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipelines import tables

PACKAGE = Path(__file__).resolve().parents[1] / "pipelines"
FOUNDATION = {"errors", "tables", "runtime.faults", "runtime.redact"}
INFRASTRUCTURE = {"lake", "vectorstore", "vectors", "io", "encoder", "datasets"}
RUNTIME = {"runtime"}
METHODS = {"methods"}
STAGES = {
    "embed",
    "validate",
    "publish",
    "reconcile",
    "neighbors",
    "dedup",
    "cooccurrence",
    "recs",
    "evaluate",
    "maintain",
    "report",
}
EDGE = {"config", "orchestration", "cli"}
LAYERS = [FOUNDATION, INFRASTRUCTURE, RUNTIME, METHODS, STAGES, EDGE]


def _unit(module: str) -> str:
    """``pipelines.embed.catalog`` -> ``embed``; foundation modules keep their full name."""
    parts = module.split(".")[1:]
    dotted = ".".join(parts[:2])
    return dotted if dotted in FOUNDATION else parts[0]


def layer_of(module: str) -> int:
    unit = _unit(module)
    for rank, layer in enumerate(LAYERS):
        if unit in layer:
            return rank
    raise AssertionError(f"{module} is in no layer: add its package to tests/test_architecture.py")


def _runtime_imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found.extend((node.lineno, name) for name in names if name.startswith("pipelines."))
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            found.extend((node.lineno, name) for name in names if name.startswith("pipelines."))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join(parts)


def _imported_module(name: str) -> str:
    """``pipelines.tables.NEIGHBORS`` -> ``pipelines.tables``: the longest existing module."""
    parts = name.split(".")
    while parts:
        candidate = PACKAGE.parent.joinpath(*parts)
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return ".".join(parts)
        parts.pop()
    raise AssertionError(f"{name} names no module")


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        if module == "pipelines":
            continue
        for line, name in _runtime_imports(ast.parse(path.read_text())):
            target = _imported_module(name)
            if target == "pipelines":
                continue
            source_unit, target_unit = _unit(module), _unit(target)
            if source_unit == target_unit:
                continue
            source_layer, target_layer = layer_of(module), layer_of(target)
            sibling_stage = source_layer == target_layer == LAYERS.index(STAGES)
            if target_layer > source_layer or sibling_stage:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    return found


def test_imports_run_from_stages_down_to_infrastructure_only():
    assert violations() == []


def test_the_rule_catches_an_upward_and_a_sibling_import():
    assert layer_of("pipelines.lake.base") < layer_of("pipelines.embed.catalog")
    assert _unit("pipelines.runtime.faults") == "runtime.faults"
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "from pipelines.tables import NEIGHBORS\n"
        "if TYPE_CHECKING:\n    from pipelines.config import Settings\n"
        "def f():\n    from pipelines.embed.catalog import embed_catalog\n"
    )
    assert [name for _, name in _runtime_imports(tree)] == [
        "pipelines.tables.NEIGHBORS",
        "pipelines.embed.catalog.embed_catalog",
    ]


def test_every_package_sits_in_a_layer():
    for path in PACKAGE.iterdir():
        if path.name.startswith("__") or path.suffix not in (".py", ""):
            continue
        layer_of(f"pipelines.{path.stem}.x" if path.is_dir() else f"pipelines.{path.stem}")


@pytest.mark.parametrize("table", tables.TABLES, ids=str)
def test_every_table_is_produced_by_a_registered_stage(table):
    from pipelines.orchestration.stages import STAGE_NAMES

    assert table.producer in STAGE_NAMES
    assert set(table.key) <= set(table.columns)


def test_no_table_name_is_written_as_a_literal_outside_the_contracts():
    names = {table.name for table in tables.TABLES}
    roots = [PACKAGE, PACKAGE.parent / "dags", PACKAGE.parent / "jobs"]
    found = []
    for root in roots:
        for path in root.rglob("*.py"):
            if path == PACKAGE / "tables.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and node.value in names:
                    found.append(f"{path.name}:{node.lineno} {node.value!r}")
    assert found == []


def test_architecture_md_lists_every_table_with_its_producer():
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = cells[1]
    assert rows == {table.name: table.producer for table in tables.TABLES}


def test_each_table_constant_names_its_table():
    named = {
        "CATALOG_EMBEDDINGS": "embeddings/catalog",
        "CATALOG_QUARANTINE": "quarantine/catalog",
        "EVENTS": "events/clean",
        "EVENTS_QUARANTINE": "quarantine/events",
        "USER_EMBEDDINGS": "embeddings/users",
        "NEIGHBORS": "neighbors/catalog",
        "OUTLIERS": "quality/outliers",
        "COOCCURRENCE": "cooccurrence/items",
        "DEDUP_PAIRS": "dedup/pairs",
        "DEDUP_CLUSTERS": "dedup/clusters",
        "ITEM_RECS": "recs/item_to_item",
        "USER_RECS": "recs/user_to_item",
        "PUBLICATIONS": "publish/history",
    }
    assert {constant: getattr(tables, constant).name for constant in named} == named
    assert tables.CATALOG_EMBEDDINGS.vector and tables.USER_EMBEDDINGS.vector
    assert [t.name for t in tables.TABLES if t.vector] == ["embeddings/catalog", "embeddings/users"]


def test_require_names_the_stage_to_run(tmp_path):
    class Lake:
        root = tmp_path

        def exists(self, table):
            return False

    with pytest.raises(tables.MissingTableError, match=r"run the neighbors stage first"):
        tables.require(Lake(), tables.NEIGHBORS, "dedup")

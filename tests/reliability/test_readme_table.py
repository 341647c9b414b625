"""README's Reliability table lists exactly the scenarios the suite marks."""

from __future__ import annotations

import ast
from pathlib import Path

HERE = Path(__file__).parent
README = HERE.parents[1] / "README.md"


def marked_scenarios() -> set[str]:
    names = set()
    for module in HERE.parent.rglob("test_*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "scenario"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(node.args[0].value)
    return names


def table_rows() -> dict[str, str]:
    text = README.read_text()
    section = text.split("<!-- reliability-table:start -->", 1)[1]
    section = section.split("<!-- reliability-table:end -->", 1)[0]
    rows = [line.split(" | ") for line in section.strip().splitlines()[2:]]
    return {row[0].removeprefix("| "): row[-1].removesuffix(" |") for row in rows}


def test_the_table_lists_every_marked_scenario_and_each_passed():
    rows = table_rows()
    assert set(rows) == marked_scenarios(), (
        "README's Reliability table is stale: run the reliability suite, then"
        " `python tests/reliability/make_table.py`"
    )
    assert set(rows.values()) == {"passed"}

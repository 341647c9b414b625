"""Write README's Reliability table from the suite's recorded outcomes.

    make test && python tests/reliability/make_table.py

Each row is a test marked ``pytest.mark.scenario(name, outcome)`` (anywhere under tests/);
its result is what the last run of that test gave (tests/conftest.py records it in
results/scenarios.json).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "scenarios.json"
README = HERE.parents[1] / "README.md"
START, END = "<!-- reliability-table:start -->", "<!-- reliability-table:end -->"


def table(outcomes: dict[str, dict]) -> str:
    """One row per scenario; a parametrised test's cases share its row."""
    lines = [
        "| scenario | outcome the suite asserts | test | result |",
        "| --- | --- | --- | --- |",
    ]
    for name, rows in _by_scenario(outcomes).items():
        test = rows[0]["test"].split("[", 1)[0].replace("|", "\\|")
        results = {row["result"] for row in rows}
        result = "passed" if results == {"passed"} else "skipped"
        result = "FAILED" if "failed" in results else result
        cases = f" ({len(rows)} cases)" if len(rows) > 1 else ""
        lines.append(f"| {name} | {rows[0]['expected']} | `{test}`{cases} | {result} |")
    return "\n".join(lines)


def _by_scenario(outcomes: dict[str, dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for _, row in sorted(outcomes.items()):
        grouped.setdefault(row["scenario"], []).append(row)
    return grouped


def rewrite(readme: str, body: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{body}\n{END}{tail}"


def main() -> int:
    if not RESULTS.is_file():
        print(f"no results at {RESULTS}: run the tests first", file=sys.stderr)
        return 1
    outcomes = json.loads(RESULTS.read_text())
    README.write_text(rewrite(README.read_text(), table(outcomes)))
    failed = [row["scenario"] for row in outcomes.values() if row["result"] != "passed"]
    print(f"{len(outcomes)} scenarios written to {README}; not passed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

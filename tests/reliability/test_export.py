"""``pipelines export --format csv`` writes nested columns as JSON and keeps a spreadsheet
from running a cell as a formula."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from pyspark.sql import Row

from pipelines.cli.main import main
from pipelines.lake import LakeConfig, open_lake

ROWS = [
    Row(id=1, name="=HYPERLINK(\"http://evil\")", score=-5, tags=["a", "b"],
        attrs={"colour": "red"}, dims=Row(w=1.5, h=2.0)),
    Row(id=2, name="+1 (555) 0100", score=3, tags=[], attrs={}, dims=Row(w=0.0, h=0.0)),
    Row(id=3, name="-2", score=0, tags=None, attrs=None, dims=None),
    Row(id=4, name="@SUM(A1)", score=1, tags=["x"], attrs={"k": "v"}, dims=Row(w=1.0, h=1.0)),
    Row(id=5, name="\tTab", score=2, tags=["y"], attrs={"k": "w"}, dims=Row(w=2.0, h=2.0)),
    Row(id=6, name="plain = text", score=7, tags=["z"], attrs={"a": "b"}, dims=None),
    Row(id=7, name=None, score=8, tags=None, attrs=None, dims=None),
]  # fmt: skip


@pytest.fixture(scope="module")
def exported(spark, tmp_path_factory) -> dict[str, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("export")
    config = tmp / "pipelines.toml"
    config.write_text('[lake]\nroot = "lake"\n[spark]\nmaster = "local[2]"\n')
    lake = open_lake(spark, LakeConfig(root=tmp / "lake"))
    lake.write(spark.createDataFrame(ROWS), "some/table", run_id="t")
    out = tmp / "table.csv"
    assert main(["export", "some/table", "--out", str(out), "--config", str(config)]) == 0
    return _rows_by_id(out)


def _rows_by_id(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


@pytest.mark.scenario(
    "export --format csv of a table with map and struct columns",
    "nested values are written as JSON text",
)
def test_maps_structs_and_arrays_are_json(exported):
    first = exported["1"]
    assert json.loads(first["attrs"]) == {"colour": "red"}
    assert json.loads(first["dims"]) == {"w": 1.5, "h": 2.0}
    assert json.loads(first["tags"]) == ["a", "b"]
    assert exported["3"]["attrs"] == "" and exported["3"]["dims"] == ""


@pytest.mark.scenario(
    "A string cell starting with = + - @ tab or CR in a CSV export",
    "it gets a leading ' so a spreadsheet does not run it",
)
@pytest.mark.parametrize(
    ("row_id", "cell"),
    [("1", "'=HYPERLINK(\"http://evil\")"), ("2", "'+1 (555) 0100"), ("3", "'-2"),
     ("4", "'@SUM(A1)"), ("5", "'\tTab")],
)  # fmt: skip
def test_formula_cells_get_a_leading_quote(exported, row_id, cell):
    assert exported[row_id]["name"] == cell


def test_other_cells_are_unchanged(exported):
    assert exported["6"]["name"] == "plain = text"
    assert exported["7"]["name"] == ""
    assert exported["1"]["score"] == "-5"  # numbers are never escaped

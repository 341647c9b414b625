"""The one line a task's log ends with, and the extra its asset events carry: the stage's
result in words and numbers."""

from __future__ import annotations

import json
import re

import pytest
from helpers.data import make_catalog
from helpers.pipeline_lake import ALL, PipelineLake

from pipelines.orchestration.verdict import asset_extra, verdict_line
from pipelines.runtime.context import StageResult


def _report(tmp_path, passed: int, total: int) -> str:
    results = [{"type": "t", "success": i < passed} for i in range(total)]
    path = tmp_path / "v4.json"
    path.write_text(json.dumps({"success": passed == total, "expectations": results}))
    return str(path)


def test_embed_catalog_counts_every_row_and_names_the_version():
    result = StageResult(
        "embed-catalog", rows_read=300, embedded=3, skipped=297, quarantined=0,
        table_version=4, details={"model_id": "m@onnx", "same": 297, "new": 3},
    )  # fmt: skip
    assert verdict_line(result) == (
        "verdict: embed-catalog ok: 300 rows read, 3 embedded, 297 unchanged, 0 quarantined;"
        " table embeddings/catalog version 4"
    )


def test_embed_catalog_names_tombstones_and_held_items_when_there_are_any():
    result = StageResult(
        "embed-catalog", rows_read=10, embedded=0, skipped=8, quarantined=2, tombstoned=1,
        table_version=5, details={"held": 1},
    )  # fmt: skip
    assert verdict_line(result) == (
        "verdict: embed-catalog ok: 10 rows read, 0 embedded, 8 unchanged, 2 quarantined,"
        " 1 tombstoned, 1 held; table embeddings/catalog version 5"
    )


def test_validate_counts_the_reports_expectations(tmp_path):
    details = {"report": _report(tmp_path, 12, 12), "drift": "ok"}
    result = StageResult("validate-catalog", rows_read=300, table_version=4, details=details)
    assert verdict_line(result) == (
        "verdict: validate-catalog passed 12/12 expectations, drift ok; version 4"
    )


def test_validate_without_its_report_still_gives_a_line(tmp_path):
    details = {"report": str(tmp_path / "gone.json"), "drift": "warn"}
    result = StageResult("validate-users", rows_read=10, table_version=2, details=details)
    assert verdict_line(result) == "verdict: validate-users passed, drift warn; version 2"


def test_a_full_publish_names_the_alias_and_its_collection():
    details = {"mode": "full", "collection": "catalog__m__run1", "alias": "catalog"}
    result = StageResult("publish-catalog", rows_read=300, table_version=4, details=details)
    assert verdict_line(result) == (
        "verdict: publish-catalog: 300 points published to alias catalog"
        " (collection catalog__m__run1, full publish of embeddings/catalog version 4)"
    )


def test_an_incremental_publish_names_the_changes():
    details = {"mode": "incremental", "collection": "c1", "alias": "users",
               "changes": {"missing": 2, "stale": 1, "extra": 0}}  # fmt: skip
    result = StageResult("publish-users", rows_read=40, table_version=7, details=details)
    assert verdict_line(result) == (
        "verdict: publish-users: 40 points published to alias users (collection c1,"
        " incremental publish of embeddings/users version 7: 2 missing, 1 stale, 0 extra)"
    )


def test_reconcile_names_the_collection_and_what_it_found():
    clean = {"missing": 0, "stale": 0, "extra": 0}
    details = {"collection": "c1", "found": clean, "after": clean, "repaired": False}
    result = StageResult("reconcile-catalog", rows_read=300, details=details)
    assert verdict_line(result) == (
        "verdict: reconcile-catalog ok: 300 live rows match collection c1"
        " (0 missing, 0 stale, 0 extra)"
    )


@pytest.mark.parametrize(
    ("result", "line"),
    [
        (StageResult("neighbors", rows_read=300, table_version=2,
                     details={"k": 50, "method": "exact", "outliers": 3}),
         "neighbors ok: graph of 300 items (k 50, exact), 3 outliers;"
         " table neighbors/catalog version 2"),
        (StageResult("dedup", rows_read=900, table_version=1,
                     details={"matches": 12, "clusters": 10}),
         "dedup ok: 900 candidate pairs, 12 matches, 10 clusters;"
         " table dedup/clusters version 1"),
        (StageResult("recs-items", rows_read=3000, table_version=3),
         "recs-items ok: 3000 rows; table recs/item_to_item version 3"),
        (StageResult("cooccurrence", rows_read=50, table_version=0),
         "cooccurrence ok: 50 rows; table cooccurrence/items version 0"),
        (StageResult("recs-users", rows_read=100, table_version=6,
                     details={"cooccurrence_weight": 0.8}),
         "recs-users ok: 100 rows; table recs/user_to_item version 6"),
        (StageResult("embed-events", rows_read=200, embedded=10, quarantined=4,
                     table_version=1, details={"events": {"clean": 196, "bad_time": 4}}),
         "embed-events ok: 200 events read, 196 clean, 4 quarantined;"
         " 10 users in table embeddings/users version 1"),
        (StageResult("maintain", details={"tables": {"a": {"files_deleted": 2},
                                                     "b": {"files_deleted": 3}},
                                          "swept": ["x"], "gx_temp_sites": []}),
         "maintain ok: 2 tables vacuumed, 5 files deleted, 1 leftover folders removed"),
        (StageResult("evaluate", details={"dedup": {"pairwise_f1": 0.998, "bcubed_f1": 0.99}}),
         "evaluate ok: dedup pairwise F1 0.998"),
        (StageResult("future-stage", rows_read=7, table_version=None),
         "future-stage ok: 7 rows"),
    ],
)  # fmt: skip
def test_every_stage_kind_has_its_line(result, line):
    assert verdict_line(result) == f"verdict: {line}"


def test_a_verdict_is_one_line():
    details = {"mode": "full", "collection": "c\nd", "alias": "catalog"}
    line = verdict_line(StageResult("publish-catalog", rows_read=1, details=details))
    assert "\n" not in line


def test_details_of_an_unexpected_shape_still_give_a_line():
    result = StageResult("embed-events", rows_read=5, table_version=2, details={"events": [1]})
    line = "verdict: embed-events ok: 5 rows; table embeddings/users version 2"
    assert verdict_line(result) == line


def test_asset_extra_carries_rows_and_the_version_of_the_stages_table():
    result = StageResult(
        "embed-catalog", rows_read=300, embedded=3, skipped=297, table_version=4,
        details={"model_id": "m"},
    )  # fmt: skip
    assert asset_extra(result, "manual__1") == {
        "stage": "embed-catalog", "run_id": "manual__1", "rows": 300,
        "table": "embeddings/catalog", "version": 4, "embedded": 3, "skipped": 297,
        "quarantined": 0, "tombstoned": 0,
    }  # fmt: skip
    extra = asset_extra(StageResult("neighbors", rows_read=9, table_version=1), "r")
    assert extra == {
        "stage": "neighbors", "run_id": "r", "rows": 9, "table": "neighbors/catalog",
        "version": 1,
    }  # fmt: skip
    json.dumps(extra)  # an asset event's extra must be JSON


@pytest.mark.slow
def test_lines_of_a_real_embed_validate_publish_run(spark, tmp_path):
    lake = PipelineLake(spark, tmp_path, make_catalog(12))
    try:
        embed, validate, publish = (verdict_line(r) for r in lake.run(*ALL))
    finally:
        lake.ctx.close()
    assert embed == (
        "verdict: embed-catalog ok: 12 rows read, 12 embedded, 0 unchanged, 0 quarantined;"
        " table embeddings/catalog version 0"
    )
    assert re.fullmatch(
        r"verdict: validate-catalog passed (\d+)/\1 expectations, drift \w+; version 0", validate
    ), validate
    assert re.fullmatch(
        r"verdict: publish-catalog: 12 points published to alias catalog \(collection"
        r" catalog__\S+, full publish of embeddings/catalog version 0\)",
        publish,
    ), publish

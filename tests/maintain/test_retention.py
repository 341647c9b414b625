"""The pure parts of maintain: the VACUUM window, which versions are protected, which
folders are tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.io.reports import write_report
from pipelines.maintain.protected import kept_publications, validated_versions
from pipelines.maintain.retention import MARGIN_HOURS, ages_hours, vacuum_hours
from pipelines.maintain.vacuum import find_tables
from pipelines.vectorstore.history import Publication


@pytest.mark.parametrize(
    ("window", "ages", "expected"),
    [
        (168, [], 168),  # nothing protected: the configured window
        (168, [2.0, 100.0], 168),  # protected versions inside the window change nothing
        (24, [30.0, 500.0], 500 + MARGIN_HOURS),  # stretched past the oldest protected commit
        (0, [], 0),
        (0.5, [], 1),  # deltalake takes whole hours: rounded up, never down
        (24, [47.2], 49),
    ],
)
def test_vacuum_hours(window, ages, expected):
    assert vacuum_hours(window, ages) == expected


def test_protected_version_stays_inside_the_stretched_window():
    hour = 3_600_000
    now = 1_000 * hour
    commits = {0: now - 900 * hour, 1: now - 700 * hour, 2: now - 10 * hour}
    ages = ages_hours(commits, {1, 7}, now)  # version 7 is not in the log: skipped
    assert ages == [700.0]
    hours = vacuum_hours(24, ages)
    assert now - hours * hour < commits[1]  # VACUUM's cutoff lies before the commit
    assert now - hours * hour > commits[0]


def _publication(collection: str, version: int, day: int) -> Publication:
    return Publication(
        "catalog", collection, "embeddings/catalog", version, "m", f"run-{version}",
        "incremental", 10, datetime(2026, 1, day, tzinfo=UTC),
    )  # fmt: skip


def test_kept_publications_cover_the_collections_kept_for_rollback():
    history = [  # oldest first, as publications() returns them
        _publication("catalog__a", 0, 1),
        _publication("catalog__b", 1, 2),
        _publication("catalog__b", 2, 3),
        _publication("catalog__b", 3, 4),
    ]
    kept = {p.table_version for p in kept_publications(history, keep=2)}
    # 3 and 2: the newest two; 0: what catalog__a holds, the rollback target
    assert kept == {3, 2, 0}


def test_validated_versions_take_the_newest_passed_report(tmp_path):
    reports = tmp_path / "reports"
    for version, success in [(1, True), (4, True), (9, True), (10, False)]:
        write_report(
            reports, "embeddings/catalog", version,
            {"table": "embeddings/catalog", "version": version, "success": success},
        )  # fmt: skip
    write_report(reports, "embeddings/users", 2, {"table": "embeddings/users", "version": 2})
    broken = reports / "validation" / "embeddings_users" / "v000003.json"
    broken.write_text('{"table": "embeddings/us')  # cut short by a crash
    assert list(validated_versions(reports / "validation")) == [("embeddings/catalog", 9)]


def test_find_tables_skips_what_is_not_a_table(tmp_path):
    for folder in [
        "embeddings/catalog/_delta_log",
        "embeddings/catalog/part-1",
        "publish/history/_delta_log",
        "quarantine/_delta_log",
        "_work/evaluate/run/_delta_log",
        "_models/m/_delta_log",
        "qdrant/collection/_delta_log",
        "reports/validation",
        "embeddings/empty",
    ]:
        (tmp_path / folder).mkdir(parents=True)
    assert find_tables(tmp_path) == ["embeddings/catalog", "publish/history", "quarantine"]

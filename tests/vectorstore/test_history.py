"""The publish history: what publish records, and a history written by an older release."""

from __future__ import annotations

from datetime import UTC, datetime

from pipelines.lake import open_lake
from pipelines.lake.config import LakeConfig
from pipelines.tables import PUBLICATIONS
from pipelines.vectorstore.history import Publication, publications, record

AT = datetime(2026, 3, 1, tzinfo=UTC)
OLD_COLUMNS = (
    "alias string, collection string, table string, table_version long, model_id string,"
    " run_id string, mode string, points long, published_at timestamp"
)


def _publication(version: int, **drift) -> Publication:
    return Publication(
        "catalog", f"c{version}", "embeddings/catalog", version, "m@torch", f"r{version}",
        "full", 10, AT.replace(hour=version), **drift,
    )  # fmt: skip


def test_an_accepted_drift_is_recorded_beside_an_older_history(spark, tmp_path):
    lake = open_lake(spark, LakeConfig(root=tmp_path / "lake"))
    old_row = [("catalog", "c1", "embeddings/catalog", 1, "m@torch", "r1", "full", 10, AT)]
    lake.write(spark.createDataFrame(old_row, OLD_COLUMNS), PUBLICATIONS, "r1")

    record(lake, _publication(2, drift_accepted_by="alice", drift_accepted_at=AT))
    record(lake, _publication(3))

    first, accepted, plain = publications(lake, "catalog")
    assert (first.table_version, first.drift_accepted_by) == (1, None)
    assert accepted.drift_accepted_by == "alice"
    assert accepted.drift_accepted_at.astimezone(UTC) == AT
    assert (plain.table_version, plain.drift_accepted_by) == (3, None)

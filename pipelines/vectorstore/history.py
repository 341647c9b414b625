"""The publish history: one Delta row per publish, the record drift and rollback read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING

from pipelines.tables import PUBLICATIONS

if TYPE_CHECKING:
    from pipelines.lake import TableEngine


@dataclass(frozen=True)
class Publication:
    alias: str
    collection: str
    table: str
    table_version: int
    model_id: str
    run_id: str
    mode: str  # full | incremental | rollback
    points: int
    published_at: datetime
    # who published this version past a failed drift check on purpose, and when
    drift_accepted_by: str | None = None
    drift_accepted_at: datetime | None = None


SCHEMA = (
    "alias string, collection string, table string, table_version long, model_id string,"
    " run_id string, mode string, points long, published_at timestamp,"
    " drift_accepted_by string, drift_accepted_at timestamp"
)
COLUMNS = [field.name for field in fields(Publication)]


def record(lake: TableEngine, publication: Publication) -> None:
    # the row holds a plain name, whatever the caller passed
    row = asdict(replace(publication, table=str(publication.table)))
    frame = lake.spark.createDataFrame([tuple(row[name] for name in COLUMNS)], SCHEMA)
    if not lake.exists(PUBLICATIONS):
        lake.write(frame, PUBLICATIONS, publication.run_id, mode="append")
        return
    old = lake.read(PUBLICATIONS)
    lacking = [name for name in COLUMNS if name not in old.columns]
    if not lacking:
        lake.write(frame, PUBLICATIONS, publication.run_id, mode="append")
        return
    # a history written before the drift columns: rewritten whole once, with them empty,
    # as an append must keep the table's columns
    types = dict(column.split() for column in SCHEMA.split(","))
    from pyspark.sql import functions as F

    added = [F.lit(None).cast(types[name]).alias(name) for name in lacking]
    rows = old.select("*", *added).unionByName(frame)
    lake.write(rows, PUBLICATIONS, publication.run_id)


def publications(lake: TableEngine, alias: str) -> list[Publication]:
    """Oldest first."""
    if not lake.exists(PUBLICATIONS):
        return []
    from pyspark.sql import functions as F

    table = lake.read(PUBLICATIONS)
    rows = table.filter(F.col("alias") == alias).orderBy("published_at").collect()
    return [Publication(**row.asDict()) for row in rows]


def last_published(lake: TableEngine, alias: str) -> Publication | None:
    found = publications(lake, alias)
    return found[-1] if found else None

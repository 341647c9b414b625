"""The publish history: one Delta row per publish, the record drift and rollback read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
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


def record(lake: TableEngine, publication: Publication) -> None:
    # the row holds a plain name, whatever the caller passed
    row = asdict(replace(publication, table=str(publication.table)))
    frame = lake.spark.createDataFrame([row])
    lake.write(frame, PUBLICATIONS, publication.run_id, mode="append")


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

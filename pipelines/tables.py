"""Every table the pipeline writes: its name, key, required columns, producing stage, and
whether it holds vectors. Stages, commands and DAGs name tables only through these.

Cheap to import (DAG files read it at parse time): no Spark, no pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.errors import InputError

if TYPE_CHECKING:
    from pipelines.lake import TableEngine


# commit metadata: the live rows the producer expects the version to hold, which validation checks
EXPECTED_LIVE_ROWS = "expected_live_rows"


class MissingTableError(InputError):
    """A stage's input table does not exist yet: its producing stage has not run."""


class Table(str):
    """A table's name (a ``str``, so the lake takes it as it is) with its contract."""

    key: tuple[str, ...]  # the columns that identify a row
    columns: tuple[str, ...]  # what a reader may rely on
    producer: str  # the stage that writes it
    vector: bool  # rows carry a `vector` column served from Qdrant

    def __new__(
        cls,
        name: str,
        key: tuple[str, ...],
        columns: tuple[str, ...],
        producer: str,
        vector: bool = False,
    ) -> Table:
        table = super().__new__(cls, name)
        table.key, table.columns, table.producer, table.vector = key, columns, producer, vector
        return table

    def __reduce__(self):  # copies and pickles keep the contract
        return (Table, (self.name, self.key, self.columns, self.producer, self.vector))

    @property
    def name(self) -> str:
        return str.__str__(self)

    @property
    def asset_name(self) -> str:
        return self.replace("/", "_")


# name | key | producing stage | vector or - | columns a reader may rely on
CONTRACTS = """
embeddings/catalog | item_id | embed-catalog | vector | item_id content_hash model_id vector text
    text_length payload embedded_at run_id is_deleted
quarantine/catalog | run_id key | embed-catalog | - | source reason key raw run_id quarantined_at
events/clean | user_id item_id event_time | embed-events | - | user_id item_id event_type event_time
    text event_date
quarantine/events | run_id key | embed-events | - | source reason key raw run_id quarantined_at
    event_time event_date
embeddings/users | user_id | embed-events | vector | user_id vector n_events last_event_at model_id
    run_id
users/base | user_id | embed-events | - | user_id item_sum text_sum n_events last_event_at
neighbors/catalog | item_id rank | neighbors | - | item_id rank neighbor_id score
quality/outliers | item_id | neighbors | - | item_id run_id
cooccurrence/items | item_id rank | cooccurrence | - | item_id rank neighbor_id score run_id
dedup/pairs | a b | dedup | - | a b cosine field_scores field_levels field_weights match_weight
    match_score decision run_id
dedup/clusters | item_id | dedup | - | item_id cluster_id is_canonical run_id
recs/item_to_item | item_id rank | recs-items | - | item_id rank rec_id score run_id
recs/user_to_item | user_id rank | recs-users | - | user_id rank item_id score run_id
publish/history | alias published_at | publish-catalog | - | alias collection table table_version
    model_id run_id mode points published_at
"""


def _declared(text: str) -> tuple[Table, ...]:
    entries = text.strip().replace("\n    ", " ").splitlines()
    declared = []
    for entry in entries:
        name, key, producer, vector, columns = (part.strip() for part in entry.split("|"))
        declared.append(
            Table(name, tuple(key.split()), tuple(columns.split()), producer, vector == "vector")
        )
    return tuple(declared)


TABLES = _declared(CONTRACTS)
(
    CATALOG_EMBEDDINGS,
    CATALOG_QUARANTINE,
    EVENTS,
    EVENTS_QUARANTINE,
    USER_EMBEDDINGS,
    USER_BASE,
    NEIGHBORS,
    OUTLIERS,
    COOCCURRENCE,
    DEDUP_PAIRS,
    DEDUP_CLUSTERS,
    ITEM_RECS,
    USER_RECS,
    PUBLICATIONS,
) = TABLES


def require(lake: TableEngine, table: Table, reader: str | None = None) -> None:
    """Fail with the stage to run first when ``table`` does not exist."""
    if not lake.exists(table.name):
        who = f"{reader} reads {table.name}, which" if reader else f"{table.name}"
        raise MissingTableError(
            f"{who} does not exist under {lake.root}; run the {table.producer} stage first"
            f" (pipelines run --stage {table.producer})"
        )

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
    description: str
    vector: bool  # rows carry a `vector` column served from Qdrant

    def __new__(
        cls,
        name: str,
        key: tuple[str, ...],
        columns: tuple[str, ...],
        producer: str,
        description: str,
        vector: bool = False,
    ) -> Table:
        table = super().__new__(cls, name)
        table.key, table.columns, table.producer = key, columns, producer
        table.description, table.vector = description, vector
        return table

    def __reduce__(self):  # copies and pickles keep the contract
        return (Table, (self.name, self.key, self.columns, self.producer, self.description,
                        self.vector))  # fmt: skip

    @property
    def name(self) -> str:
        return str.__str__(self)

    @property
    def asset_name(self) -> str:
        return self.replace("/", "_")


CATALOG_EMBEDDINGS = Table(
    "embeddings/catalog",
    ("item_id",),
    ("item_id", "content_hash", "model_id", "vector", "text", "text_length", "payload")
    + ("embedded_at", "run_id", "is_deleted"),
    "embed-catalog",
    "one row per catalog item: its text, vector and payload; deletions are tombstones",
    vector=True,
)
CATALOG_QUARANTINE = Table(
    "quarantine/catalog",
    ("run_id", "key"),
    ("source", "reason", "key", "raw", "run_id", "quarantined_at"),
    "embed-catalog",
    "catalog rows that were not embedded, each with its reason",
)
EVENTS = Table(
    "events/clean",
    ("user_id", "item_id", "event_time"),
    ("user_id", "item_id", "event_type", "event_time", "text"),
    "embed-events",
    "user events that passed the checks",
)
EVENTS_QUARANTINE = Table(
    "quarantine/events",
    ("run_id", "key"),
    CATALOG_QUARANTINE.columns,
    "embed-events",
    "events that were not taken, each with its reason",
)
USER_EMBEDDINGS = Table(
    "embeddings/users",
    ("user_id",),
    ("user_id", "vector", "n_events", "last_event_at", "model_id", "run_id"),
    "embed-events",
    "one vector per user: the recency-weighted mean of the items they touched",
    vector=True,
)
NEIGHBORS = Table(
    "neighbors/catalog",
    ("item_id", "rank"),
    ("item_id", "rank", "neighbor_id", "score", "run_id"),
    "neighbors",
    "each live item's nearest items by cosine",
)
OUTLIERS = Table(
    "quality/outliers",
    ("item_id",),
    ("item_id", "run_id"),
    "neighbors",
    "items whose nearest neighbour is unusually far",
)
COOCCURRENCE = Table(
    "cooccurrence/items",
    ("item_id", "rank"),
    ("item_id", "rank", "neighbor_id", "score", "run_id"),
    "cooccurrence",
    "items that share users' recent histories, by cosine of the user-item matrix",
)
DEDUP_PAIRS = Table(
    "dedup/pairs",
    ("a", "b"),
    ("a", "b", "cosine", "field_scores", "match_score", "is_match", "run_id"),
    "dedup",
    "scored candidate pairs of near-duplicate items",
)
DEDUP_CLUSTERS = Table(
    "dedup/clusters",
    ("item_id",),
    ("item_id", "cluster_id", "is_canonical", "run_id"),
    "dedup",
    "near-duplicate clusters, with one canonical item each",
)
ITEM_RECS = Table(
    "recs/item_to_item",
    ("item_id", "rank"),
    ("item_id", "rank", "neighbor_id", "score", "run_id"),
    "recs-items",
    "item-to-item recommendations, one canonical item per duplicate cluster",
)
USER_RECS = Table(
    "recs/user_to_item",
    ("user_id", "rank"),
    ("user_id", "rank", "item_id", "score", "run_id"),
    "recs-users",
    "recommendations per user, blending vector similarity and co-occurrence",
)
PUBLICATIONS = Table(
    "publish/history",
    ("alias", "published_at"),
    ("alias", "collection", "table", "table_version", "model_id", "run_id", "mode")
    + ("points", "published_at"),
    "publish-catalog",
    "which collection each alias served, from which table version (publish-users too)",
)

TABLES: tuple[Table, ...] = (
    CATALOG_EMBEDDINGS,
    CATALOG_QUARANTINE,
    EVENTS,
    EVENTS_QUARANTINE,
    USER_EMBEDDINGS,
    NEIGHBORS,
    OUTLIERS,
    COOCCURRENCE,
    DEDUP_PAIRS,
    DEDUP_CLUSTERS,
    ITEM_RECS,
    USER_RECS,
    PUBLICATIONS,
)
BY_NAME = {table.name: table for table in TABLES}


def table_named(name: str) -> Table:
    """The table called ``name``, for commands that take a table name from a user."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise InputError(
            f"no table is called {name!r}; tables are {', '.join(sorted(BY_NAME))}"
        ) from None


def require(lake: TableEngine, table: Table, reader: str | None = None) -> None:
    """Fail with the stage to run first when ``table`` does not exist."""
    if not lake.exists(table.name):
        who = f"{reader} reads {table.name}, which" if reader else f"{table.name}"
        raise MissingTableError(
            f"{who} does not exist under {lake.root}; run the {table.producer} stage first"
            f" (pipelines run --stage {table.producer})"
        )

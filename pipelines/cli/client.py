"""A small Python API for services that query the published catalog in Qdrant.

    from pipelines.cli.client import CatalogClient
    with CatalogClient.from_config("pipelines.toml") as client:
        client.query("waterproof hiking jacket", k=5, filters={"brand": "Trailhead"})
        client.similar("P00042", k=10)
        client.near_user("U0007", k=10)   # catalog items nearest the user's vector

Queries are embedded with the model that built the collection (its ``model_id`` payload), so a
service never mixes vector spaces.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipelines.config import Settings, load_settings
from pipelines.encoder import BackendSpec, get_backend
from pipelines.encoder.auto import spec_for
from pipelines.encoder.text import normalize_text
from pipelines.errors import ConfigError, PipelineError
from pipelines.tables import CATALOG_EMBEDDINGS, ITEM_RECS, USER_RECS
from pipelines.vectorstore import VectorStore, open_store, point_id

# what a point carries besides the catalog's payload columns (vectorstore.points.to_point)
POINT_FIELDS = frozenset({"item_id", "content_hash", "payload_hash", "model_id", "run_id"})


@dataclass(frozen=True)
class Result:
    item_id: str
    score: float
    payload: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def payload_fields(results: list[Result], configured: list[str]) -> list[str]:
    """The payload columns to show: those of ``configured`` that the results carry, else every
    one they carry, so that titles show whatever settings the command was given."""
    carried = dict.fromkeys(k for r in results for k in r.payload if k not in POINT_FIELDS)
    return [c for c in configured if c in carried] or list(carried)


class CatalogClient:
    def __init__(self, store: VectorStore, settings: Settings):
        self.store = store
        self.settings = settings
        self.alias = settings.publish.alias

    @classmethod
    def from_config(cls, path: str | Path | None = None) -> CatalogClient:
        settings = load_settings(path)
        return cls(open_store(settings), settings)

    def close(self) -> None:
        """Release the store: embedded Qdrant allows one open client per folder."""
        self.store.close()

    def __enter__(self) -> CatalogClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _collection(self) -> str:
        target = self.store.alias_target(self.alias)
        if target is None:
            raise PipelineError(
                f"alias {self.alias!r} does not exist in {self.store.description};"
                " run the publish-catalog stage first"
            )
        return target

    def _encoder_spec(self, collection: str) -> BackendSpec:
        _, payload = next(iter(self.store.scroll(collection, ["model_id"])), (None, {}))
        model_id = payload.get("model_id")
        if not model_id:
            raise PipelineError(f"{collection} has no points with a model_id")
        model = self.settings.model
        name, _, backend = model_id.partition("@")
        device = "cuda" if backend.endswith("-cuda") else "cpu"
        backend, threads = backend.removesuffix("-cuda"), os.cpu_count() or 1
        spec = spec_for(model, backend, device, threads, self.settings.lake.root / "_models")
        if spec.model_name != name:
            raise ConfigError(
                f"{collection} was built with model {name!r} but [model] name_or_path is"
                f" {model.name_or_path!r}; point it at that model's folder"
            )
        return spec

    def query(self, text: str, k: int = 10, filters: dict[str, str] | None = None) -> list[Result]:
        collection = self._collection()
        encoder = get_backend(self._encoder_spec(collection))
        vector = encoder.encode([normalize_text(text, self.settings.catalog.max_text_chars)])[0]
        return self._results(self.store.search(self.alias, vector, k, filters or {}))

    def similar(self, item_id: str, k: int = 10) -> list[Result]:
        """From ``recs/item_to_item`` (duplicates of the item excluded) when the recs-items
        stage has at least ``k`` for the item; otherwise a live search of the alias."""
        precomputed = self._precomputed(item_id, k)
        if precomputed is not None:
            return precomputed
        vectors = self.store.vectors(self.alias, [point_id(item_id)])
        if not vectors:
            raise PipelineError(f"item {item_id!r} is not in alias {self.alias!r}")
        [vector] = vectors.values()
        hits = self.store.search(self.alias, vector, k + 1, {})
        return [r for r in self._results(hits) if r.item_id != item_id][:k]

    def recommend(self, user_id: str, k: int = 10) -> list[Result]:
        """The user's items from ``recs/user_to_item`` (the recs-users stage), best first."""
        rows = self._table_rows(USER_RECS, "user_id", user_id)
        if rows is None:
            raise PipelineError(f"{USER_RECS} does not exist; run the recs-users stage")
        if not rows:
            raise PipelineError(f"user {user_id!r} has no recommendations in {USER_RECS}")
        return self._with_payloads(rows[:k], "item_id")

    def near_user(self, user_id: str, k: int = 10) -> list[Result]:
        """A live search of the catalog with the user's vector from the users alias (the
        embeddings side of ``recommend``, without its seen-item filter or co-occurrence)."""
        users = self.settings.publish.users_alias
        if self.store.alias_target(users) is None:
            raise PipelineError(f"alias {users!r} does not exist; run the publish-users stage")
        vectors = self.store.vectors(users, [point_id(user_id)])
        if not vectors:
            raise PipelineError(f"user {user_id!r} is not in alias {users!r}")
        self._collection()  # a clear error when the catalog is not published
        [vector] = vectors.values()
        return self._results(self.store.search(self.alias, vector, k, {}))

    def _precomputed(self, item_id: str, k: int) -> list[Result] | None:
        rows = self._table_rows(ITEM_RECS, "item_id", item_id)
        return None if rows is None or len(rows) < k else self._with_payloads(rows[:k], "rec_id")

    def _table_rows(self, table: str, column: str, key: str) -> list[dict] | None:
        """Rows of a lake table whose ``column`` is ``key``, by rank; None without the table."""
        path = self.settings.lake.root / table
        if not (path / "_delta_log").is_dir():
            return None
        import pyarrow.compute as pc

        from pipelines.lake.arrow import table_dataset

        dataset = table_dataset(path)
        rows = dataset.to_table(filter=pc.field(column) == key).to_pylist()
        return sorted(rows, key=lambda row: row["rank"])

    def _with_payloads(self, rows: list[dict], id_column: str) -> list[Result]:
        """Each row's payload from the alias, else (not published, or not in it) the lake's."""
        items = [r[id_column] for r in rows]
        ids = [point_id(item) for item in items]
        served = self.store.alias_target(self.alias) is not None
        found = self.store.payloads(self.alias, ids) if served else {}
        payloads = {item: found[pid] for item, pid in zip(items, ids, strict=True) if pid in found}
        missing = [item for item in items if item not in payloads]
        if missing:
            payloads |= self._lake_payloads(missing)
        return [
            Result(r[id_column], round(r["score"], 6), payloads.get(r[id_column], {})) for r in rows
        ]

    def _lake_payloads(self, items: list[str]) -> dict[str, dict]:
        """The payload columns of ``items`` in ``embeddings/catalog`` (live rows)."""
        path = self.settings.lake.root / CATALOG_EMBEDDINGS
        if not (path / "_delta_log").is_dir():
            return {}
        import pyarrow.compute as pc

        from pipelines.lake.arrow import table_dataset

        wanted = pc.field("item_id").isin(items) & ~pc.field("is_deleted")
        rows = table_dataset(path).to_table(["item_id", "payload"], filter=wanted).to_pylist()
        return {
            row["item_id"]: {**json.loads(row["payload"] or "{}"), "item_id": row["item_id"]}
            for row in rows
        }

    @staticmethod
    def _results(hits) -> list[Result]:
        return [Result(str(h.payload.get("item_id")), round(h.score, 6), h.payload) for h in hits]

"""Qdrant behind the store interface: embedded on-disk mode or a server. Only the
qdrant-client calls and the classification of its exceptions live here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pipelines.runtime.redact import redact_url
from pipelines.vectorstore.base import Hit, Page, Point, VectorStore
from pipelines.vectorstore.config import RetryPolicy
from pipelines.vectorstore.errors import VectorStoreLocked

if TYPE_CHECKING:
    from pipelines.config import Settings

SCROLL_PAGE = 1000


def open_store(settings: Settings) -> VectorStore:
    """Qdrant from [qdrant]: a server when ``url`` is set, else embedded under the lake;
    calls retry as [publish] says."""
    qdrant = settings.qdrant
    retry = RetryPolicy.from_config(settings.publish)
    return QdrantStore(retry, qdrant.url, qdrant.key(), settings.qdrant_path)


def _open_embedded(path: Path):
    from qdrant_client import QdrantClient

    try:
        return QdrantClient(path=str(path))
    except RuntimeError as exc:
        if "already accessed by another instance" not in str(exc):
            raise
        raise VectorStoreLocked(
            f"embedded Qdrant at {path} is in use by another process, and embedded Qdrant"
            " allows one process at a time; wait for the other run to finish, or run a Qdrant"
            " server and set [qdrant] url (see docker-compose.yml)"
        ) from None


class QdrantStore(VectorStore):
    def __init__(self, retry: RetryPolicy, url: str | None, api_key: str | None, path: Path | None):
        from qdrant_client import QdrantClient

        secrets = (api_key, urlsplit(url).password if url else None)
        if url:
            super().__init__(f"Qdrant server {redact_url(url)}", retry, secrets)
            self.client = QdrantClient(
                url=url, api_key=api_key, timeout=retry.timeout_s, check_compatibility=False
            )
        else:
            assert path is not None
            path.mkdir(parents=True, exist_ok=True)
            super().__init__(f"embedded Qdrant at {path}", retry, secrets)
            self.client = _open_embedded(path)

    def _is_transient(self, exc: BaseException) -> bool:
        import httpx
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        if isinstance(exc, UnexpectedResponse):
            return exc.status_code is not None and (
                exc.status_code >= 500 or exc.status_code == 429
            )
        return isinstance(
            exc, httpx.TransportError | ResponseHandlingException | ConnectionError | TimeoutError
        )

    def _auth_failure(self, exc: BaseException) -> str | None:
        from qdrant_client.http.exceptions import UnexpectedResponse

        if isinstance(exc, UnexpectedResponse) and exc.status_code in (401, 403):
            return f"HTTP {exc.status_code}"
        return None

    def _is_rejected(self, exc: BaseException) -> bool:
        from qdrant_client.http.exceptions import UnexpectedResponse

        return isinstance(exc, UnexpectedResponse) or super()._is_rejected(exc)

    def _create_collection(self, name: str, dimension: int) -> None:
        from qdrant_client import models

        params = models.VectorParams(size=dimension, distance=models.Distance.COSINE)
        self.client.create_collection(name, vectors_config=params)

    def _drop_collection(self, name: str) -> None:
        self.client.delete_collection(name)

    def _collections(self) -> list[str]:
        return [c.name for c in self.client.get_collections().collections]

    def _upsert(self, collection: str, points: Sequence[Point]) -> None:
        from qdrant_client import models

        # Points are built from typed columns (uuid ids, float vectors, JSON payloads), so
        # pydantic's per-float validation is skipped; the store validates again.
        structs = [
            models.PointStruct.model_construct(
                id=p.id,
                vector=p.vector if isinstance(p.vector, list) else list(p.vector),
                payload=p.payload,
            )
            for p in points
        ]
        self.client.upsert(collection, points=structs)

    def _delete(self, collection: str, ids: list[str]) -> None:
        from qdrant_client import models

        self.client.delete(collection, models.PointIdsList(points=ids))

    def _count(self, collection: str) -> int:
        return self.client.count(collection, exact=True).count

    def _scroll(self, collection: str, fields: list[str], offset: Any) -> Page:
        records, following = self.client.scroll(
            collection, limit=SCROLL_PAGE, offset=offset, with_payload=fields,
            with_vectors=False,
        )  # fmt: skip
        return [(str(r.id), r.payload or {}) for r in records], following

    def _alias_target(self, alias: str) -> str | None:
        aliases = self.client.get_aliases().aliases
        return next((a.collection_name for a in aliases if a.alias_name == alias), None)

    def _point_alias(self, alias: str, collection: str) -> None:
        from qdrant_client import models

        operations: list = []
        if self._alias_target(alias) is not None:
            operations.append(
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))
            )
        create = models.CreateAlias(collection_name=collection, alias_name=alias)
        operations.append(models.CreateAliasOperation(create_alias=create))
        self.client.update_collection_aliases(operations)

    def _search(
        self, collection: str, vector: Sequence[float], k: int, filters: dict[str, str]
    ) -> list[Hit]:
        from qdrant_client import models

        conditions = [
            models.FieldCondition(key=key, match=models.MatchValue(value=value))
            for key, value in filters.items()
        ]
        response = self.client.query_points(
            collection, query=list(vector), limit=k,
            query_filter=models.Filter(must=conditions) if conditions else None,
            with_payload=True,
        )  # fmt: skip
        return [Hit(str(p.id), float(p.score), p.payload or {}) for p in response.points]

    def _vectors(self, collection: str, ids: list[str]) -> dict[str, list[float]]:
        records = self.client.retrieve(collection, ids, with_vectors=True)
        return {str(r.id): list(r.vector) for r in records}

    def _payloads(self, collection: str, ids: list[str]) -> dict[str, dict]:
        records = self.client.retrieve(collection, ids, with_payload=True)
        return {str(r.id): r.payload or {} for r in records}

    def close(self) -> None:
        self.client.close()

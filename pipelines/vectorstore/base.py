"""The vector store interface, and Qdrant behind it (embedded on-disk mode or a server).

Every call goes through ``_call``: transient failures (refused connections, timeouts, 5xx,
429) are retried with exponential backoff by tenacity, a bounded number of times and never
past a deadline the publisher sets; auth failures stop at once. Errors name the store but
never the API key or credentials inside the URL.
"""

from __future__ import annotations

import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import urlsplit

from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    wait_exponential,
)

from pipelines.publish.config import PublishConfig
from pipelines.publish.errors import (
    PublishDeadlineExceeded,
    PublishError,
    VectorStoreAuthError,
    VectorStoreLocked,
    VectorStoreUnavailable,
)
from pipelines.runtime.redact import redact_url, scrub

if TYPE_CHECKING:
    from pipelines.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
# Fixed forever: point ids must stay the same across runs and machines.
POINT_NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-5e9f-8a10-2c4d6e8f0a1b")


def point_id(key: str) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, key))


@dataclass(frozen=True)
class Point:
    id: str
    vector: Sequence[float]
    payload: dict[str, Any]


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class Deadline:
    seconds: float
    at: float  # time.monotonic()

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()


class VectorStore(ABC):
    """What publishing, reconciliation and queries need from a vector store."""

    description: str
    _deadline: Deadline | None = None

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Inside, calls stop retrying once ``seconds`` have passed, and later calls raise
        ``PublishDeadlineExceeded`` ([publish] deadline_s)."""
        previous, self._deadline = self._deadline, Deadline.after(seconds)
        try:
            yield
        finally:
            self._deadline = previous

    @abstractmethod
    def create_collection(self, name: str, dimension: int) -> None: ...

    @abstractmethod
    def drop_collection(self, name: str) -> None: ...

    @abstractmethod
    def collections(self) -> list[str]: ...

    @abstractmethod
    def upsert(self, collection: str, points: Sequence[Point]) -> None: ...

    @abstractmethod
    def delete(self, collection: str, ids: Sequence[str]) -> None: ...

    @abstractmethod
    def count(self, collection: str) -> int: ...

    @abstractmethod
    def scroll(self, collection: str, fields: list[str]) -> Iterator[tuple[str, dict]]: ...

    @abstractmethod
    def alias_target(self, alias: str) -> str | None: ...

    @abstractmethod
    def point_alias(self, alias: str, collection: str) -> None:
        """Move (or create) ``alias`` to ``collection`` in one atomic operation."""

    @abstractmethod
    def search(
        self, collection: str, vector: Sequence[float], k: int, filters: dict[str, str]
    ) -> list[Hit]: ...

    @abstractmethod
    def vectors(self, collection: str, ids: Sequence[str]) -> dict[str, list[float]]: ...

    @abstractmethod
    def payloads(self, collection: str, ids: Sequence[str]) -> dict[str, dict]: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


def open_store(settings: Settings) -> VectorStore:
    """Qdrant from [qdrant]: a server when ``url`` is set, else embedded under the lake."""
    qdrant = settings.qdrant
    return QdrantStore(settings.publish, qdrant.url, qdrant.key(), settings.qdrant_path)


def _is_transient(exc: BaseException) -> bool:
    import httpx
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    if isinstance(exc, UnexpectedResponse):
        return exc.status_code is not None and (exc.status_code >= 500 or exc.status_code == 429)
    return isinstance(
        exc, httpx.TransportError | ResponseHandlingException | ConnectionError | TimeoutError
    )


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


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
    def __init__(
        self, config: PublishConfig, url: str | None, api_key: str | None, path: Path | None
    ):
        from qdrant_client import QdrantClient

        self.config = config
        self._secrets = (api_key, urlsplit(url).password if url else None)
        if url:
            self.description = f"Qdrant server {redact_url(url)}"
            self.client = QdrantClient(
                url=url, api_key=api_key, timeout=config.timeout_s, check_compatibility=False
            )
        else:
            assert path is not None
            path.mkdir(parents=True, exist_ok=True)
            self.description = f"embedded Qdrant at {path}"
            self.client = _open_embedded(path)

    def _scrub(self, text: str) -> str:
        return scrub(text, *self._secrets)

    def _leaks(self, exc: BaseException) -> bool:
        return any(self._scrub(str(e)) != str(e) for e in _exception_chain(exc))

    def _raise(self, error: PublishError, cause: BaseException) -> NoReturn:
        # a cause that repeats the key would print it in any traceback
        raise error from (None if self._leaks(cause) else cause)

    def _past_deadline(self, state: RetryCallState) -> bool:
        # stop rather than sleep into the deadline
        return self._deadline is not None and state.upcoming_sleep >= self._deadline.remaining()

    def _check_deadline(self, what: str) -> None:
        if self._deadline is not None and self._deadline.remaining() <= 0:
            raise PublishDeadlineExceeded(
                f"{self.description}: {what} not attempted: the publish deadline of"
                f" {self._deadline.seconds:g}s has passed; raise publish.deadline_s or find"
                " what makes the store slow"
            )

    def _retrying(self, what: str) -> Retrying:
        return Retrying(
            stop=stop_any(stop_after_attempt(self.config.retry_attempts), self._past_deadline),
            wait=wait_exponential(
                multiplier=self.config.retry_wait_s, max=self.config.retry_max_wait_s
            ),
            retry=retry_if_exception(_is_transient),
            before_sleep=lambda state: log.warning(
                "%s: %s failed (attempt %d), retrying",
                self.description,
                what,
                state.attempt_number,
            ),  # fmt: skip
            reraise=False,
        )

    def _gave_up(self, what: str, cause: BaseException, attempts: int) -> PublishError:
        failure = f"{what} failed ({type(cause).__name__}: {self._scrub(str(cause))})"
        if attempts < self.config.retry_attempts and self._deadline is not None:
            return PublishDeadlineExceeded(
                f"{self.description}: {failure} and the publish deadline of"
                f" {self._deadline.seconds:g}s ran out after {attempts} attempts; check that"
                " the server runs and qdrant.url is right, or raise publish.deadline_s"
            )
        return VectorStoreUnavailable(
            f"{self.description}: {what} failed after {attempts} attempts"
            f" ({type(cause).__name__}: {self._scrub(str(cause))}); check that the server"
            " runs and qdrant.url is right, or raise publish.retry_attempts"
        )

    def _failed(self, what: str, exc: BaseException) -> PublishError:
        detail = self._scrub(str(exc))
        return PublishError(f"{self.description}: {what} failed: {type(exc).__name__}: {detail}")

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        from qdrant_client.http.exceptions import UnexpectedResponse

        self._check_deadline(what)
        try:
            return self._retrying(what)(fn, *args, **kwargs)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            self._raise(self._gave_up(what, cause, exc.last_attempt.attempt_number), cause)
        except UnexpectedResponse as exc:
            if exc.status_code in (401, 403):
                raise VectorStoreAuthError(
                    f"{self.description} rejected the API key (HTTP {exc.status_code}) during"
                    f" {what}; set qdrant.api_key (or PIPELINES__QDRANT__API_KEY, or the Airflow"
                    " connection's password) to the server's key"
                ) from None
            self._raise(self._failed(what, exc), exc)
        except (ValueError, KeyError) as exc:
            self._raise(self._failed(what, exc), exc)
        except Exception as exc:
            if self._leaks(exc):
                raise self._failed(what, exc) from None
            raise

    def create_collection(self, name: str, dimension: int) -> None:
        from qdrant_client import models

        params = models.VectorParams(size=dimension, distance=models.Distance.COSINE)
        self._call(f"create {name}", self.client.create_collection, name, vectors_config=params)

    def drop_collection(self, name: str) -> None:
        self._call(f"drop {name}", self.client.delete_collection, name)

    def collections(self) -> list[str]:
        response = self._call("list collections", self.client.get_collections)
        return sorted(c.name for c in response.collections)

    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        from qdrant_client import models

        # Points are built here from typed columns (uuid ids, float vectors, JSON payloads):
        # pydantic's per-float validation would cost ~40 us a point; the store validates again.
        # Copying vectors that are lists already cost 0.04 s per 5,000 points.
        structs = [
            models.PointStruct.model_construct(
                id=p.id,
                vector=p.vector if isinstance(p.vector, list) else list(p.vector),
                payload=p.payload,
            )
            for p in points
        ]
        self._call(f"upsert into {collection}", self.client.upsert, collection, points=structs)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        from qdrant_client import models

        selector = models.PointIdsList(points=list(ids))
        self._call(f"delete from {collection}", self.client.delete, collection, selector)

    def count(self, collection: str) -> int:
        return self._call(f"count {collection}", self.client.count, collection, exact=True).count

    def scroll(self, collection: str, fields: list[str]) -> Iterator[tuple[str, dict]]:
        offset = None
        while True:
            records, offset = self._call(
                f"scroll {collection}", self.client.scroll, collection, limit=1000,
                offset=offset, with_payload=fields, with_vectors=False,
            )  # fmt: skip
            for record in records:
                yield str(record.id), record.payload or {}
            if offset is None:
                return

    def alias_target(self, alias: str) -> str | None:
        aliases = self._call("list aliases", self.client.get_aliases).aliases
        return next((a.collection_name for a in aliases if a.alias_name == alias), None)

    def point_alias(self, alias: str, collection: str) -> None:
        from qdrant_client import models

        operations: list = []
        if self.alias_target(alias) is not None:
            operations.append(
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))
            )
        create = models.CreateAlias(collection_name=collection, alias_name=alias)
        operations.append(models.CreateAliasOperation(create_alias=create))
        self._call(f"point alias {alias}", self.client.update_collection_aliases, operations)

    def search(
        self, collection: str, vector: Sequence[float], k: int, filters: dict[str, str]
    ) -> list[Hit]:
        from qdrant_client import models

        conditions = [
            models.FieldCondition(key=key, match=models.MatchValue(value=value))
            for key, value in filters.items()
        ]
        response = self._call(
            f"query {collection}", self.client.query_points, collection, query=list(vector),
            limit=k, query_filter=models.Filter(must=conditions) if conditions else None,
            with_payload=True,
        )  # fmt: skip
        return [Hit(str(p.id), float(p.score), p.payload or {}) for p in response.points]

    def vectors(self, collection: str, ids: Sequence[str]) -> dict[str, list[float]]:
        records = self._call(
            f"retrieve from {collection}", self.client.retrieve, collection, list(ids),
            with_vectors=True,
        )  # fmt: skip
        return {str(r.id): list(r.vector) for r in records}

    def payloads(self, collection: str, ids: Sequence[str]) -> dict[str, dict]:
        records = self._call(
            f"retrieve from {collection}", self.client.retrieve, collection, list(ids),
            with_payload=True,
        )  # fmt: skip
        return {str(r.id): r.payload or {} for r in records}

    def close(self) -> None:
        self.client.close()

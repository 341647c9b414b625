"""The vector store interface: public methods are final templates that bound, retry and
translate every call; a store implements only small ``_hooks`` that make one raw call.

Transient failures (the store's ``_is_transient``) are retried with exponential backoff by
tenacity, a bounded number of times and never past a deadline the publisher sets; credentials
the store rejects (``_auth_failure``) stop at once. Errors name the store but never the
secrets it was given.
"""

from __future__ import annotations

import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar, final

from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    wait_exponential,
)

from pipelines.errors import PipelineError
from pipelines.runtime.redact import scrub
from pipelines.vectorstore.config import RetryPolicy
from pipelines.vectorstore.errors import (
    PublishDeadlineExceeded,
    VectorStoreAuthError,
    VectorStoreError,
    VectorStoreUnavailable,
)

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


# a page of scrolled (point id, payload) records and the offset of the next page (None: done)
Page = tuple[list[tuple[str, dict]], Any]


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class VectorStore(ABC):
    """What publishing, reconciliation and queries need from a vector store. Collections
    hold points under cosine distance; point operations accept an alias for a collection."""

    def __init__(self, description: str, retry: RetryPolicy, secrets: Iterable[str | None] = ()):
        self.description = description
        self.retry = retry
        self._secrets = tuple(secrets)
        self._deadline: Deadline | None = None

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Inside, calls stop retrying once ``seconds`` have passed, and later calls raise
        ``PublishDeadlineExceeded`` ([publish] deadline_s)."""
        previous, self._deadline = self._deadline, Deadline.after(seconds)
        try:
            yield
        finally:
            self._deadline = previous

    @final
    def create_collection(self, name: str, dimension: int) -> None:
        self._call(f"create {name}", self._create_collection, name, dimension)

    @final
    def drop_collection(self, name: str) -> None:
        self._call(f"drop {name}", self._drop_collection, name)

    @final
    def collections(self) -> list[str]:
        return sorted(self._call("list collections", self._collections))

    @final
    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        self._call(f"upsert into {collection}", self._upsert, collection, points)

    @final
    def delete(self, collection: str, ids: Sequence[str]) -> None:
        self._call(f"delete from {collection}", self._delete, collection, list(ids))

    @final
    def count(self, collection: str) -> int:
        return self._call(f"count {collection}", self._count, collection)

    @final
    def scroll(self, collection: str, fields: list[str]) -> Iterator[tuple[str, dict]]:
        """Every point's id and the payload ``fields`` it has, a page per call."""
        offset = None
        while True:
            records, offset = self._call(
                f"scroll {collection}", self._scroll, collection, fields, offset
            )
            yield from records
            if offset is None:
                return

    @final
    def alias_target(self, alias: str) -> str | None:
        return self._call("list aliases", self._alias_target, alias)

    @final
    def point_alias(self, alias: str, collection: str) -> None:
        """Move (or create) ``alias`` to ``collection`` in one atomic operation."""
        self._call(f"point alias {alias}", self._point_alias, alias, collection)

    @final
    def search(
        self, collection: str, vector: Sequence[float], k: int, filters: dict[str, str]
    ) -> list[Hit]:
        """The ``k`` points nearest ``vector`` whose payload matches ``filters``, best first."""
        return self._call(f"query {collection}", self._search, collection, vector, k, filters)

    @final
    def vectors(self, collection: str, ids: Sequence[str]) -> dict[str, list[float]]:
        return self._call(f"retrieve from {collection}", self._vectors, collection, list(ids))

    @final
    def payloads(self, collection: str, ids: Sequence[str]) -> dict[str, dict]:
        return self._call(f"retrieve from {collection}", self._payloads, collection, list(ids))

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    # Hooks: one raw call each, no retries, the store's own exceptions.

    @abstractmethod
    def _create_collection(self, name: str, dimension: int) -> None: ...

    @abstractmethod
    def _drop_collection(self, name: str) -> None: ...

    @abstractmethod
    def _collections(self) -> list[str]: ...

    @abstractmethod
    def _upsert(self, collection: str, points: Sequence[Point]) -> None: ...

    @abstractmethod
    def _delete(self, collection: str, ids: list[str]) -> None: ...

    @abstractmethod
    def _count(self, collection: str) -> int: ...

    @abstractmethod
    def _scroll(self, collection: str, fields: list[str], offset: Any) -> Page: ...

    @abstractmethod
    def _alias_target(self, alias: str) -> str | None: ...

    @abstractmethod
    def _point_alias(self, alias: str, collection: str) -> None: ...

    @abstractmethod
    def _search(
        self, collection: str, vector: Sequence[float], k: int, filters: dict[str, str]
    ) -> list[Hit]: ...

    @abstractmethod
    def _vectors(self, collection: str, ids: list[str]) -> dict[str, list[float]]: ...

    @abstractmethod
    def _payloads(self, collection: str, ids: list[str]) -> dict[str, dict]: ...

    def _is_transient(self, exc: BaseException) -> bool:
        """Whether trying ``exc``'s call again may succeed."""
        return isinstance(exc, ConnectionError | TimeoutError)

    def _auth_failure(self, exc: BaseException) -> str | None:
        """How the store said it rejected the credentials (e.g. "HTTP 401"); None otherwise."""
        return None

    def _is_rejected(self, exc: BaseException) -> bool:
        """Whether ``exc`` is the store refusing the request (not a bug in the caller)."""
        return isinstance(exc, ValueError | KeyError)

    # The template every public method runs through.

    @final
    def _call(self, what: str, hook: Callable[..., T], *args: Any) -> T:
        self._check_deadline(what)
        try:
            return self._retrying(what)(hook, *args)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            assert cause is not None
            self._raise(self._gave_up(what, cause, exc.last_attempt.attempt_number), cause)
        except PipelineError:
            raise
        except Exception as exc:
            self._translate(what, exc)

    def _translate(self, what: str, exc: Exception) -> NoReturn:
        auth = self._auth_failure(exc)
        if auth is not None:
            raise VectorStoreAuthError(
                f"{self.description} rejected the API key ({auth}) during"
                f" {what}; set qdrant.api_key (or PIPELINES__QDRANT__API_KEY, or the Airflow"
                " connection's password) to the server's key"
            ) from None
        if self._is_rejected(exc):
            self._raise(self._failed(what, exc), exc)
        if self._leaks(exc):
            raise self._failed(what, exc) from None
        raise exc

    def _scrub(self, text: str) -> str:
        return scrub(text, *self._secrets)

    def _leaks(self, exc: BaseException) -> bool:
        return any(self._scrub(str(e)) != str(e) for e in _exception_chain(exc))

    def _raise(self, error: VectorStoreError, cause: BaseException) -> NoReturn:
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

    def _retryable(self, exc: BaseException) -> bool:
        # rejected credentials stay rejected, however the store reports them
        return self._auth_failure(exc) is None and self._is_transient(exc)

    def _retrying(self, what: str) -> Retrying:
        return Retrying(
            stop=stop_any(stop_after_attempt(self.retry.retry_attempts), self._past_deadline),
            wait=wait_exponential(
                multiplier=self.retry.retry_wait_s, max=self.retry.retry_max_wait_s
            ),
            retry=retry_if_exception(self._retryable),
            before_sleep=lambda state: log.warning(
                "%s: %s failed (attempt %d), retrying",
                self.description,
                what,
                state.attempt_number,
            ),  # fmt: skip
            reraise=False,
        )

    def _gave_up(self, what: str, cause: BaseException, attempts: int) -> VectorStoreError:
        failure = f"{what} failed ({type(cause).__name__}: {self._scrub(str(cause))})"
        if attempts < self.retry.retry_attempts and self._deadline is not None:
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

    def _failed(self, what: str, exc: BaseException) -> VectorStoreError:
        detail = self._scrub(str(exc))
        return VectorStoreError(
            f"{self.description}: {what} failed: {type(exc).__name__}: {detail}"
        )

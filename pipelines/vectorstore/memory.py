"""A vector store in a dict, for fast tests: the same answers Qdrant gives for what the
pipeline uses (cosine scores on vectors normalised and stored as float32, aliases resolved
by point operations, upserts that replace, the same ``ValueError`` on a missing name)."""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipelines.vectorstore.base import Hit, Page, Point, VectorStore
from pipelines.vectorstore.config import RetryPolicy


@dataclass
class _Collection:
    dimension: int
    points: dict[str, tuple[np.ndarray, dict]] = field(default_factory=dict)


def _unit(vector: Sequence[float], dimension: int) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    if array.shape != (dimension,):
        raise ValueError(f"wrong vector dimension: expected {dimension}, got {array.shape}")
    norm = np.linalg.norm(array)
    return array / norm if norm else array


def _matches(payload: dict, filters: dict[str, str]) -> bool:
    def match(value: Any, wanted: str) -> bool:
        return wanted in value if isinstance(value, list) else value == wanted

    return all(key in payload and match(payload[key], v) for key, v in filters.items())


def _fields(payload: dict, fields: list[str]) -> dict:
    return {name: payload[name] for name in fields if name in payload}


class InMemoryStore(VectorStore):
    page_size = 1000  # of a scroll, as QdrantStore's

    def __init__(self, retry: RetryPolicy | None = None, description: str = "in-memory store"):
        super().__init__(description, retry or RetryPolicy())
        self._stored: dict[str, _Collection] = {}
        self._aliases: dict[str, str] = {}

    def _resolve(self, name: str) -> _Collection:
        found = self._stored.get(self._aliases.get(name, name))
        if found is None:
            raise ValueError(f"Collection {name} not found")
        return found

    def _create_collection(self, name: str, dimension: int) -> None:
        if name in self._stored:
            raise ValueError(f"Collection {name} already exists")
        if name in self._aliases:
            raise ValueError(f"Alias {name} already exists")
        self._stored[name] = _Collection(dimension)

    def _drop_collection(self, name: str) -> None:
        self._stored.pop(name, None)
        self._aliases = {a: c for a, c in self._aliases.items() if c != name}

    def _collections(self) -> list[str]:
        return list(self._stored)

    def _upsert(self, collection: str, points: Sequence[Point]) -> None:
        target = self._resolve(collection)
        # validated in full first: the store applies a batch whole or not at all
        rows = {str(uuid.UUID(p.id)): (_unit(p.vector, target.dimension), p) for p in points}
        for pid, (vector, point) in rows.items():
            target.points[pid] = (vector, dict(point.payload))

    def _delete(self, collection: str, ids: list[str]) -> None:
        points = self._resolve(collection).points
        for pid in ids:
            points.pop(pid, None)

    def _count(self, collection: str) -> int:
        return len(self._resolve(collection).points)

    def _scroll(self, collection: str, fields: list[str], offset: Any) -> Page:
        points = self._resolve(collection).points
        ids = sorted(points)
        # an offset is the first id of the next page, whether or not it is still stored
        start = 0 if offset is None else bisect.bisect_left(ids, offset)
        page, rest = ids[start : start + self.page_size], ids[start + self.page_size :]
        records = [(pid, _fields(points[pid][1], fields)) for pid in page]
        return records, (rest[0] if rest else None)

    def _alias_target(self, alias: str) -> str | None:
        return self._aliases.get(alias)

    def _point_alias(self, alias: str, collection: str) -> None:
        if collection not in self._stored:
            raise ValueError(f"Collection {collection} not found")
        if alias in self._stored:
            raise ValueError(f"Collection {alias} already exists")
        self._aliases[alias] = collection

    def _search(
        self, collection: str, vector: Sequence[float], k: int, filters: dict[str, str]
    ) -> list[Hit]:
        target = self._resolve(collection)
        query = _unit(vector, target.dimension)
        scored = [
            Hit(pid, float(np.dot(stored, query)), dict(payload))
            for pid, (stored, payload) in target.points.items()
            if _matches(payload, filters)
        ]
        return sorted(scored, key=lambda hit: (-hit.score, hit.id))[:k]

    def _vectors(self, collection: str, ids: list[str]) -> dict[str, list[float]]:
        points = self._resolve(collection).points
        return {pid: points[pid][0].tolist() for pid in ids if pid in points}

    def _payloads(self, collection: str, ids: list[str]) -> dict[str, dict]:
        points = self._resolve(collection).points
        return {pid: dict(points[pid][1]) for pid in ids if pid in points}

"""The vector store: one interface whose template methods bound, retry and translate every
call (``base``), Qdrant behind it (``qdrant``) and a dict-backed fake for tests (``memory``)."""

from pipelines.vectorstore.base import Hit, Point, VectorStore, point_id
from pipelines.vectorstore.config import QdrantConfig, RetryPolicy
from pipelines.vectorstore.errors import VectorStoreError, VectorStoreUnavailable
from pipelines.vectorstore.memory import InMemoryStore
from pipelines.vectorstore.qdrant import QdrantStore, open_store

__all__ = [
    "Hit",
    "InMemoryStore",
    "Point",
    "QdrantConfig",
    "QdrantStore",
    "RetryPolicy",
    "VectorStore",
    "VectorStoreError",
    "VectorStoreUnavailable",
    "open_store",
    "point_id",
]

"""The publish deadline: retries stop at it, and no store call starts after it."""

from __future__ import annotations

import time
from types import SimpleNamespace

import httpx
import pytest

from pipelines.vectorstore import QdrantStore, RetryPolicy
from pipelines.vectorstore.errors import PublishDeadlineExceeded, VectorStoreUnavailable


class _FakeClient:
    """Each call sleeps ``delay`` seconds, then fails transiently when ``refuse`` is set."""

    def __init__(self, delay: float = 0.0, refuse: bool = False):
        self.delay, self.refuse, self.calls = delay, refuse, 0

    def get_collections(self):
        self.calls += 1
        time.sleep(self.delay)
        if self.refuse:
            raise httpx.ConnectError("connection refused")
        return SimpleNamespace(collections=[])

    def close(self):
        pass


def _store(tmp_path, client: _FakeClient, **retries) -> QdrantStore:
    store = QdrantStore(RetryPolicy(**retries), None, None, tmp_path / "qdrant")
    store.client.close()
    store.client = client
    return store


@pytest.mark.scenario(
    "Qdrant keeps failing past [publish] deadline_s",
    "retries stop at the deadline: PublishDeadlineExceeded (exit 75)",
)
def test_retries_stop_at_the_deadline(tmp_path):
    client = _FakeClient(refuse=True)
    store = _store(tmp_path, client, retry_attempts=20, retry_wait_s=0.1, retry_max_wait_s=0.1)
    started = time.monotonic()
    with store.deadline(1), pytest.raises(PublishDeadlineExceeded) as err:
        store.collections()
    assert time.monotonic() - started < 1.5
    assert 2 <= client.calls < 20
    message = str(err.value)
    assert "deadline of 1s ran out" in message and "publish.deadline_s" in message
    assert "ConnectError" in message


def test_no_backoff_sleep_past_the_deadline(tmp_path):
    client = _FakeClient(refuse=True)
    store = _store(tmp_path, client, retry_attempts=5, retry_wait_s=30, retry_max_wait_s=30)
    started = time.monotonic()
    with store.deadline(2), pytest.raises(PublishDeadlineExceeded):
        store.collections()
    assert time.monotonic() - started < 1.5 and client.calls == 1


def test_a_call_after_the_deadline_is_not_made(tmp_path):
    client = _FakeClient(delay=1.2)
    store = _store(tmp_path, client)
    with store.deadline(1):
        assert store.collections() == []  # a call already running is not cut short
        with pytest.raises(PublishDeadlineExceeded, match=r"list collections not attempted.*1s"):
            store.collections()
    assert client.calls == 1


def test_deadline_is_transient_and_a_store_unavailable():
    assert issubclass(PublishDeadlineExceeded, VectorStoreUnavailable)
    assert PublishDeadlineExceeded.transient


def test_the_deadline_ends_with_its_block(tmp_path):
    client = _FakeClient(refuse=True)
    store = _store(tmp_path, client, retry_attempts=3, retry_wait_s=0, retry_max_wait_s=0)
    with store.deadline(60):
        pass
    with pytest.raises(VectorStoreUnavailable, match="after 3 attempts") as err:
        store.collections()
    assert not isinstance(err.value, PublishDeadlineExceeded) and client.calls == 3

"""The store's template methods: which failures are retried, when retrying stops, and what
the caller sees; exercised through a fake store whose hook fails as scripted."""

from __future__ import annotations

import time
import traceback

import pytest

from pipelines.orchestration.runner import exit_code
from pipelines.vectorstore import InMemoryStore, RetryPolicy
from pipelines.vectorstore.errors import (
    PublishDeadlineExceeded,
    VectorStoreAuthError,
    VectorStoreError,
    VectorStoreLocked,
    VectorStoreUnavailable,
)

KEY = "sk-live-0123456789"


class _Rejected(ConnectionError):
    """What a server answers to a wrong key, dressed as a failure that is otherwise retried."""


class _ScriptedStore(InMemoryStore):
    """Listing collections raises ``failures`` in turn, then answers."""

    def __init__(self, *failures: BaseException, **retry):
        policy = RetryPolicy(**({"retry_wait_s": 0, "retry_max_wait_s": 0} | retry))
        super().__init__(policy, description="scripted store")
        self._secrets = (KEY,)
        self.failures, self.calls = list(failures), 0

    def _collections(self) -> list[str]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return ["b", "a"]

    def _auth_failure(self, exc: BaseException) -> str | None:
        return "HTTP 401" if isinstance(exc, _Rejected) else None


def test_transient_failures_are_retried_until_the_call_succeeds():
    store = _ScriptedStore(ConnectionError("refused"), TimeoutError("slow"), retry_attempts=3)
    assert store.collections() == ["a", "b"] and store.calls == 3


def test_retries_stop_after_the_configured_attempts():
    store = _ScriptedStore(*[ConnectionError("refused")] * 10, retry_attempts=4)
    with pytest.raises(VectorStoreUnavailable) as err:
        store.collections()
    assert store.calls == 4 and not isinstance(err.value, PublishDeadlineExceeded)
    message = str(err.value)
    assert message.startswith("scripted store: list collections failed after 4 attempts")
    assert "ConnectionError: refused" in message and "publish.retry_attempts" in message
    assert exit_code(err.value) == 75


def test_retries_stop_at_the_deadline():
    store = _ScriptedStore(
        *[ConnectionError("refused")] * 100, retry_attempts=100, retry_wait_s=0.05,
        retry_max_wait_s=0.05,
    )  # fmt: skip
    started = time.monotonic()
    with store.deadline(0.3), pytest.raises(PublishDeadlineExceeded, match="deadline of 0.3s"):
        store.collections()
    assert time.monotonic() - started < 1 and 2 <= store.calls < 100


def test_a_call_after_the_deadline_is_not_made():
    store = _ScriptedStore()
    with store.deadline(0.01):
        time.sleep(0.02)
        with pytest.raises(PublishDeadlineExceeded, match="list collections not attempted"):
            store.collections()
    assert store.calls == 0
    assert store.collections() == ["a", "b"]  # the deadline ended with its block


def test_rejected_credentials_are_not_retried():
    store = _ScriptedStore(_Rejected("unauthorized"), retry_attempts=5)
    with pytest.raises(VectorStoreAuthError, match=r"rejected the API key \(HTTP 401\)") as err:
        store.collections()
    assert store.calls == 1 and exit_code(err.value) == 2


def test_a_rejected_request_is_a_store_error_and_not_retried():
    store = _ScriptedStore(ValueError("Collection x not found"), retry_attempts=5)
    with pytest.raises(VectorStoreError) as err:
        store.collections()
    assert store.calls == 1 and not err.value.transient
    assert str(err.value) == (
        "scripted store: list collections failed: ValueError: Collection x not found"
    )


def test_a_bug_passes_through_unchanged_unless_it_repeats_a_secret():
    bug = RuntimeError("unexpected")
    store = _ScriptedStore(bug)
    with pytest.raises(RuntimeError) as err:
        store.collections()
    assert err.value is bug
    store = _ScriptedStore(RuntimeError(f"unexpected {KEY}"))
    with pytest.raises(VectorStoreError) as leaked:
        store.collections()
    printed = "".join(traceback.format_exception(leaked.value))
    assert KEY not in printed and "***" in str(leaked.value)


def test_a_secret_in_a_transient_failure_is_scrubbed():
    store = _ScriptedStore(*[ConnectionError(f"refused ?api_key={KEY}")] * 2, retry_attempts=2)
    with pytest.raises(VectorStoreUnavailable) as err:
        store.collections()
    assert KEY not in "".join(traceback.format_exception(err.value))


def test_the_pipelines_own_errors_pass_through():
    locked = VectorStoreLocked("in use")
    store = _ScriptedStore(locked, retry_attempts=5)
    with pytest.raises(VectorStoreLocked) as err:
        store.collections()
    assert err.value is locked and store.calls == 1


def test_transient_and_terminal_store_errors():
    assert VectorStoreUnavailable.transient and PublishDeadlineExceeded.transient
    assert not (VectorStoreError.transient or VectorStoreAuthError.transient)
    assert not VectorStoreLocked.transient

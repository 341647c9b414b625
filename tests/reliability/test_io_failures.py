"""A full, read-only or unwritable file system is named with its path and the fix."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest

from pipelines.lake.errors import LakeError, io_failure

FULL = "No space left on device writing {}: free space there or move [lake] root"
READ_ONLY = "Read-only file system at {}: make [lake] root writable or point it elsewhere"


class _Throwable:
    """Stands in for a py4j JavaObject: ``toString()`` and ``getCause()``."""

    def __init__(self, text: str, cause: _Throwable | None = None):
        self.text, self.cause = text, cause

    def toString(self) -> str:  # noqa: N802 - the Java name
        return self.text

    def getCause(self) -> _Throwable | None:  # noqa: N802 - the Java name
        return self.cause


class _JavaError(Exception):
    """Like py4j's Py4JJavaError: the Python message says nothing of the cause."""

    def __init__(self, java_exception: _Throwable):
        super().__init__("An error occurred while calling o42.save.")
        self.java_exception = java_exception


def _first_line(failure: LakeError | None) -> str:
    assert failure is not None
    return str(failure).splitlines()[0]


def test_os_error_as_a_cause():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise RuntimeError("write failed") from exc
    except RuntimeError as exc:
        assert _first_line(io_failure(exc, "/lake/t")) == FULL.format("/lake/t")


def test_os_error_as_a_context_with_only_its_errno():
    try:
        try:
            raise OSError(errno.EROFS, "localised text")
        except OSError:
            raise ValueError("cleanup failed")  # noqa: B904 - the context is the point
    except ValueError as exc:
        assert _first_line(io_failure(exc, "/lake/t")) == READ_ONLY.format("/lake/t")


def test_java_cause_chain():
    deepest = _Throwable("java.io.IOException: Disk quota exceeded")
    outer = _Throwable("org.apache.spark.SparkException: [TASK_WRITE_FAILED]", deepest)
    line = _first_line(io_failure(_JavaError(outer), "/lake/t"))
    assert line.startswith("Disk quota exceeded writing /lake/t: ")


def test_permission_denied_inside_a_message():
    exc = RuntimeError("Generic LocalFileSystem error: Permission denied (os error 13)")
    assert _first_line(io_failure(exc, "/lake/t")).startswith("Permission denied writing /lake/t")


def test_other_failures_are_not_io_failures(tmp_path):
    assert io_failure(ValueError("column 'x' not found"), tmp_path) is None
    assert io_failure(_JavaError(_Throwable("java.lang.ArithmeticException")), tmp_path) is None


def test_a_cyclic_chain_ends():
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert io_failure(first, "/lake/t") is None


def test_real_java_cause_chain(spark):
    jvm = spark._jvm
    cause = jvm.java.io.IOException("No space left on device")
    wrapped = jvm.java.lang.RuntimeException("Task failed while writing rows", cause)
    with pytest.raises(Exception) as err:
        jvm.java.util.concurrent.CompletableFuture.failedFuture(wrapped).get()
    assert _first_line(io_failure(err.value, "/lake/t")) == FULL.format("/lake/t")


def _sh(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _unmount(folder: Path) -> None:
    if _sh("umount", str(folder)).returncode != 0:
        _sh("umount", "-l", str(folder))  # a JVM may still hold a file there


@pytest.fixture
def full_disk(tmp_path):
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = _sh("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 1 MB tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        _unmount(folder)


@pytest.fixture
def read_only(tmp_path):
    source, folder = tmp_path / "source", tmp_path / "read-only"
    source.mkdir()
    folder.mkdir()
    if _sh("mount", "--bind", str(source), str(folder)).returncode != 0:
        pytest.skip("cannot bind-mount here")
    try:
        remounted = _sh("mount", "-o", "remount,ro,bind", str(folder))
        if remounted.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {remounted.stderr.strip()}")
        yield folder
    finally:
        _unmount(folder)


def _write_megabytes(spark, target: Path) -> None:
    frame = spark.range(200_000).selectExpr("id", "sha2(cast(id AS string), 256) AS digest")
    frame.coalesce(1).write.parquet(str(target))


@pytest.mark.scenario(
    "A Spark write to a full disk (1 MB tmpfs)",
    "LakeWriteError: No space left on device writing <path>, and the fix",
)
def test_spark_write_to_a_full_disk(spark, full_disk):
    target = full_disk / "table"
    with pytest.raises(Exception) as err:
        _write_megabytes(spark, target)
    assert _first_line(io_failure(err.value, target)) == FULL.format(target)


@pytest.mark.scenario(
    "A Spark write to a read-only mount",
    "LakeWriteError: Read-only file system at <path>, and the fix",
)
def test_spark_write_to_a_read_only_mount(spark, read_only):
    target = read_only / "table"
    with pytest.raises(Exception) as err:
        _write_megabytes(spark, target)
    assert _first_line(io_failure(err.value, target)) == READ_ONLY.format(target)

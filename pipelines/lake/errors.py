"""Errors of the lake (table engines), and the file-system failures behind a write."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

from pipelines.errors import InputError, PipelineError


class LakeError(PipelineError):
    """A table cannot be read or written."""


class TableNotFoundError(LakeError):
    """The table has no Delta log yet."""


class EngineUnavailableError(LakeError):
    """The configured engine cannot run in this Spark session (e.g. a missing jar)."""


class ConcurrentWriteError(LakeError):
    """Another run committed the table after this run read it; nothing was written."""

    transient = True  # a re-run reads the new version and succeeds


class LakeWriteError(LakeError):
    """The file system refused a write: full, over quota, read-only or not writable."""


# the marker the OS puts in the message, and what the user can do about it
_IO_FAILURES = {
    "No space left on device": "No space left on device writing {path}: free space there or"
    " move [lake] root",
    "Disk quota exceeded": "Disk quota exceeded writing {path}: free space in your quota or"
    " move [lake] root",
    "Read-only file system": "Read-only file system at {path}: make [lake] root writable or"
    " point it elsewhere",
    "Permission denied": "Permission denied writing {path}: give this user write access there"
    " or point [lake] root elsewhere",
}
_ERRNO_MARKERS = {
    errno.ENOSPC: "No space left on device",
    errno.EDQUOT: "Disk quota exceeded",
    errno.EROFS: "Read-only file system",
    errno.EACCES: "Permission denied",
}
# errors that give no reason ("Mkdirs failed to create ..."): ask the file system instead
_UNEXPLAINED_IO = ("Mkdirs failed", "IOException", "os error", "OSError")
_MAX_CHAIN = 32


def _python_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < _MAX_CHAIN:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def java_causes(exc: BaseException) -> list[str]:
    """``toString()`` of a Java-backed exception (py4j's ``java_exception``, pyspark's
    captured ``_origin``) and of each of its causes, outermost first; [] for others."""
    throwable = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    texts: list[str] = []
    try:
        while throwable is not None and len(texts) < _MAX_CHAIN:
            texts.append(str(throwable.toString()))
            throwable = throwable.getCause()
    except Exception:  # the JVM may be gone; keep what was read
        pass
    return texts


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # py4j's str() asks the JVM
        return " ".join(map(str, exc.args))


def _failure_texts(exc: BaseException) -> Iterator[str]:
    for error in _python_chain(exc):
        if isinstance(error, OSError) and error.errno in _ERRNO_MARKERS:
            yield _ERRNO_MARKERS[error.errno]
        yield from java_causes(error)
        yield _safe_str(error)


def _probe(path: object) -> str | None:
    """The marker for a local ``path`` whose file system is read-only or not writable."""
    text = str(path).removeprefix("file://").removeprefix("file:")
    if "://" in text:
        return None
    folder = Path(text)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if os.statvfs(folder).f_flag & os.ST_RDONLY:
        return "Read-only file system"
    return None if os.access(folder, os.W_OK) else "Permission denied"


def _marker(exc: BaseException, path: object) -> str | None:
    texts = list(_failure_texts(exc))
    for text in texts:
        for marker in _IO_FAILURES:
            if marker in text:
                return marker
    unexplained = any(sign in text for text in texts for sign in _UNEXPLAINED_IO)
    return _probe(path) if unexplained else None


def io_failure(exc: BaseException, path: object) -> LakeWriteError | None:
    """A ``LakeWriteError`` naming ``path`` when ``exc`` (or anything it wraps, Java causes
    included) is a full, read-only or unwritable file system; else None."""
    marker = _marker(exc, path)
    return LakeWriteError(_IO_FAILURES[marker].format(path=path)) if marker else None


class NoValidatedVersionError(InputError):
    """No version of a table has passed validation, so nothing downstream may read it."""


class UnreadableTableError(LakeError):
    """The table uses a Delta feature this engine's reader lacks; nothing was read."""

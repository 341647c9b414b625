"""Working folders owned by a live process, and the sweep that reclaims dead ones.

An owner holds an exclusive ``flock`` on ``<folder>.lock`` for as long as it works in the
folder. The kernel drops the lock when the owner dies, even by ``kill -9``, so a sweep can
tell a crashed run's leftovers from a running one's work without timestamps.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_SUFFIX = ".lock"


def _lock_file(folder: Path) -> Path:
    return folder.with_name(folder.name + LOCK_SUFFIX)


class LockTimeout(TimeoutError):
    """Another live process held the lock for longer than the wait allowed."""


@contextmanager
def held(lock_path: Path, timeout_s: float | None = None) -> Iterator[int]:
    """Hold an exclusive flock on ``lock_path`` (created if missing) until the block ends;
    waits at most ``timeout_s`` (None: as long as it takes) for another holder."""
    fd = _acquire(Path(lock_path), timeout_s)
    try:
        yield fd
    finally:
        os.close(fd)  # closing releases the flock


def _acquire(lock_path: Path, timeout_s: float | None) -> int:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _lock_before(fd, deadline):
            os.close(fd)
            raise LockTimeout(f"{lock_path} is held by another process")
        # a sweeper may have unlinked the file between our open and our flock
        if _same_file(fd, lock_path):
            return fd
        os.close(fd)


def _lock_before(fd: int, deadline: float | None) -> bool:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def is_held(lock_path: Path) -> bool:
    """Whether a live process holds ``lock_path``; False when the file is missing."""
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextmanager
def owned_workdir(parent: Path, prefix: str = "work") -> Iterator[Path]:
    """A fresh folder under ``parent`` that is ours while the block runs, removed after it
    (also on error); a crash leaves it to ``sweep_workdirs``."""
    folder = Path(parent) / f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    lock = _lock_file(folder)
    with held(lock):
        folder.mkdir(parents=True)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            lock.unlink(missing_ok=True)


def stage_workdir(parent: Path, prefix: str = "work"):
    """``owned_workdir`` after sweeping what crashed runs left under ``parent``."""
    sweep_workdirs(parent)
    return owned_workdir(parent, prefix)


def sweep_workdirs(parent: Path) -> list[Path]:
    """Remove the folders under ``parent`` whose owner is gone; returns what was removed.
    Folders with no lock file at all are left alone: they were not made by ``owned_workdir``."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    removed = []
    for lock in sorted(parent.glob(f"*{LOCK_SUFFIX}")):
        folder = lock.with_name(lock.name.removesuffix(LOCK_SUFFIX))
        if is_held(lock):
            continue
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        lock.unlink(missing_ok=True)
    return removed

"""Delta tables under the lake root and their VACUUM through deltalake."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

# the lake's folders that hold no tables: working files, models, the vector store, reports
NOT_TABLES = frozenset({"_work", "_models", "qdrant", "reports"})
LOG = "_delta_log"
SPARK_IN_PROGRESS = "_temporary"


def find_tables(root: Path) -> list[str]:
    """Folders under ``root`` holding a ``_delta_log``, as table names ('embeddings/catalog')."""
    root = Path(root)
    tables = []
    for folder, subdirs, _ in os.walk(root):
        here = Path(folder)
        if LOG in subdirs and here != root:
            tables.append(here.relative_to(root).as_posix())
            subdirs.clear()  # a table's folders hold data files, not tables
            continue
        subdirs[:] = sorted(d for d in subdirs if not _skipped(d, here == root))
    return sorted(tables)


def _skipped(name: str, top: bool) -> bool:
    return name.startswith((".", "_")) or (top and name in NOT_TABLES)


def commit_times(path: Path) -> dict[int, int]:
    """version -> commit time (epoch ms) of every commit in the table's log."""
    from deltalake import DeltaTable

    return {int(e["version"]): int(e["timestamp"]) for e in DeltaTable(str(path)).history()}


def vacuum_table(path: Path, hours: int) -> int:
    """VACUUM the table at ``path`` keeping ``hours`` of history; the number of files it
    deleted. The files VACUUM lists are deleted here rather than by deltalake, whose VACUUM
    commits two versions: table versions stay the ones validation and publishing recorded."""
    from deltalake import DeltaTable

    table = DeltaTable(str(path))
    options = {"retention_hours": hours, "enforce_retention_duration": False}
    listed = [_local(path, uri) for uri in table.vacuum(dry_run=True, **options)]
    deleted = 0
    for file in listed:
        with contextlib.suppress(FileNotFoundError):
            file.unlink()
            deleted += 1
    return deleted


def _local(table_path: Path, uri: str) -> Path:
    if uri.startswith("file:"):
        return Path(unquote(urlparse(uri).path))
    found = Path(unquote(uri))
    return found if found.is_absolute() else table_path / found


def remove_orphan_sidecars(table_path: Path) -> int:
    """Remove Spark's ``.<file>.crc`` checksums whose file is gone, then the emptied folders;
    the count of checksums removed. Folders a Spark job still writes (``_temporary``) and the
    log are left alone."""
    removed = 0
    for folder, subdirs, files in os.walk(table_path, topdown=False):
        here = Path(folder)
        parts = here.relative_to(table_path).parts
        if LOG in parts or SPARK_IN_PROGRESS in parts or SPARK_IN_PROGRESS in subdirs:
            continue
        for name in files:
            if _orphan_checksum(here, name):
                (here / name).unlink(missing_ok=True)
                removed += 1
        if here != table_path and not any(here.iterdir()):
            with contextlib.suppress(OSError):  # a writer may have just made it its own
                here.rmdir()
    return removed


def _orphan_checksum(folder: Path, name: str) -> bool:
    if not (name.startswith(".") and name.endswith(".crc")):
        return False
    return not (folder / name[1:].removesuffix(".crc")).exists()

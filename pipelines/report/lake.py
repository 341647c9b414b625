"""The lake as one run left it, read without Spark: each table's Delta history, the version
a run wrote (or the one it saw), and that version's rows as pandas."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import InputError
from pipelines.tables import TABLES, Table

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow.dataset as ds


@dataclass(frozen=True)
class Commit:
    table: str
    version: int
    timestamp: datetime
    operation: str
    run_id: str | None
    metadata: dict[str, str]


def _commit(table: str, entry: dict) -> Commit:
    metadata = {k: v for k, v in entry.items() if isinstance(v, str)}
    if entry.get("userMetadata"):  # delta-spark keeps custom metadata there
        metadata |= json.loads(entry["userMetadata"])
    return Commit(
        table=table,
        version=int(entry["version"]),
        timestamp=datetime.fromtimestamp(entry["timestamp"] / 1000, tz=UTC),
        operation=str(entry.get("operation", "")),
        run_id=metadata.get("run_id"),
        metadata=metadata,
    )


class LakeView:
    """Every declared table at the version ``run_id`` wrote, else the newest one committed
    before that run's last commit (what the run saw); None where the table did not exist."""

    def __init__(self, root: Path, run_id: str | None = None):
        self.root = Path(root)
        self._history: dict[str, list[Commit]] = {}
        self.run_id = run_id or self.latest_run()
        self.commits = sorted(
            (c for t in TABLES for c in self.history(t) if c.run_id == self.run_id),
            key=lambda c: c.timestamp,
        )
        self.run_end = self.commits[-1].timestamp if self.commits else None

    def exists(self, table: str) -> bool:
        return (self.root / table / "_delta_log").is_dir()

    def history(self, table: str) -> list[Commit]:
        """Newest first; [] for a table that does not exist."""
        if table not in self._history:
            found: list[Commit] = []
            if self.exists(table):
                from deltalake import DeltaTable

                entries = DeltaTable(str(self.root / table)).history()
                found = [_commit(table, entry) for entry in entries]
            self._history[table] = found
        return self._history[table]

    def latest_run(self) -> str:
        newest = [c for t in TABLES for c in self.history(t) if c.run_id]
        if not newest:
            raise InputError(
                f"no run has committed a table under {self.root} yet; run the pipeline first"
                " (pipelines run, or make demo)"
            )
        return max(newest, key=lambda c: c.timestamp).run_id or ""

    def known_runs(self, limit: int = 5) -> list[str]:
        """The newest run ids, newest first."""
        commits = sorted(
            (c for t in TABLES for c in self.history(t) if c.run_id),
            key=lambda c: c.timestamp,
            reverse=True,
        )
        return list(dict.fromkeys(c.run_id for c in commits))[:limit]

    def version(self, table: str) -> int | None:
        for commit in self.history(table):
            if commit.run_id == self.run_id:
                return commit.version
        for commit in self.history(table):
            if self.run_end is None or commit.timestamp <= self.run_end:
                return commit.version
        return None

    def commit(self, table: str) -> Commit | None:
        version = self.version(table)
        return next((c for c in self.history(table) if c.version == version), None)

    def provenance(self, table: Table) -> str:
        """``embeddings/catalog v3 (this run)``, or the run that wrote the version shown."""
        commit = self.commit(table)
        if commit is None:
            return f"{table} (none)"
        by = "this run" if commit.run_id == self.run_id else f"run {commit.run_id or '?'}"
        return f"{table} v{commit.version} ({by})"

    def version_by(self, table: str, run_id: str | None) -> int | None:
        """The newest version of ``table`` that ``run_id`` committed, else the one shown."""
        found = next((c.version for c in self.history(table) if c.run_id == run_id), None)
        return self.version(table) if found is None or run_id is None else found

    def dataset(
        self, table: Table, columns: list[str] | None = None, version: int | None = None
    ) -> ds.Dataset | None:
        """The version shown (or ``version``) as a pyarrow dataset; None for no table."""
        from pipelines.lake.arrow import table_dataset

        version = self.version(table) if version is None else version
        if version is None:
            return None
        return table_dataset(self.root / table, version, columns)

    def frame(
        self,
        table: Table,
        columns: list[str] | None = None,
        where=None,
        version: int | None = None,
    ) -> pd.DataFrame:
        """The rows of the version shown, or of ``version`` (``where``: a pyarrow filter
        expression); a missing table gives an empty frame: check ``version`` to tell."""
        import pandas as pd

        dataset = self.dataset(table, columns, version)
        if dataset is None:
            return pd.DataFrame(columns=columns or list(table.columns))
        present = [c for c in columns or dataset.schema.names if c in dataset.schema.names]
        return dataset.to_table(columns=present, filter=where).to_pandas()


def payload_labels(catalog: pd.DataFrame) -> dict[str, str]:
    """item id -> its title from the payload, else its embedded text (shortened)."""
    labels = {}
    for item_id, payload, text in zip(
        catalog["item_id"], catalog["payload"], catalog["text"], strict=True
    ):
        fields = parse_payload(payload)
        label = fields.get("title") or fields.get("name") or text or ""
        labels[item_id] = shorten(str(label), 90)
    return labels


def parse_payload(payload: str | None) -> dict:
    if not payload:
        return {}
    try:
        parsed = json.loads(payload)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

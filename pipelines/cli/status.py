"""What the pipeline has produced, read without Spark: tables, validation, the served alias."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipelines.config import Settings


def lake_tables(root: Path) -> list[tuple[str, int, int, str]]:
    """(table, version, rows, last run id) for every Delta table under ``root``; rows of a
    table with tombstones count its live rows only."""
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    from pipelines.lake.arrow import table_dataset

    found = []
    for log in sorted(root.glob("**/_delta_log")):
        table = DeltaTable(str(log.parent))
        run_id = table.history(1)[0].get("run_id", "")
        names = [field.name for field in table.schema().fields]
        tombstones = "is_deleted" in names
        # a counted column only: a table with deletion vectors is read into memory
        dataset = table_dataset(log.parent, columns=["is_deleted"] if tombstones else names[:1])
        live = ~pc.field("is_deleted") if tombstones else None
        rows = dataset.count_rows(filter=live)
        found.append((str(log.parent.relative_to(root)), table.version(), rows, run_id))
    return found


def latest_validations(root: Path) -> list[dict]:
    """The newest validation report of each validated table."""
    folders = sorted(p for p in (root / "reports" / "validation").glob("*") if p.is_dir())
    newest = [max(f.glob("v*.json"), default=None) for f in folders]
    return [json.loads(path.read_text()) for path in newest if path is not None]


def print_status(settings: Settings, console: Console, query: str | None) -> None:
    root = settings.lake.root
    table = Table(title=f"tables under {root}")
    for column in ("table", "version", "rows", "last run id"):
        table.add_column(column)
    for name, version, rows, run_id in lake_tables(root):
        table.add_row(name, str(version), str(rows), run_id)
    console.print(table)
    for report in latest_validations(root):
        verdict = "passed" if report["success"] else "FAILED: " + "; ".join(report["failures"])
        console.print(f"validation of {report['table']} v{report['version']}: {verdict}")
        console.print(f"  drift: {report['drift']['status']} ({report['drift']['message']})")
        console.print(f"  Data Docs: {report['data_docs']}")
    _print_serving(settings, console, query)


def _print_serving(settings: Settings, console: Console, query: str | None) -> None:
    from pipelines.cli.client import CatalogClient
    from pipelines.vectorstore import open_store

    store = open_store(settings)
    try:
        for alias in (settings.publish.alias, settings.publish.users_alias):
            target = store.alias_target(alias)
            served = f"{target} ({store.count(alias)} points)" if target else "not published yet"
            console.print(f"{store.description}: alias {alias} -> {served}")
        if query and store.alias_target(settings.publish.alias):
            client = CatalogClient(store, settings)
            hits = client.query(query, k=3)
            console.print(f"query {query!r}: " + ", ".join(_hit(h) for h in hits))
            if hits:
                similar = client.similar(hits[0].item_id, k=3)
                console.print(
                    f"similar to {hits[0].item_id}: " + ", ".join(_hit(h) for h in similar)
                )
    finally:
        store.close()


def print_alias(settings: Settings, console: Console, alias: str) -> None:
    """Where ``alias`` points, the collections kept, and the publication behind it."""
    from pipelines.vectorstore import open_store

    store = open_store(settings)
    try:
        target = store.alias_target(alias)
        console.print(f"{store.description}: alias {alias} -> {target or 'not published yet'}")
        console.print(f"collections: {', '.join(store.collections()) or 'none'}")
    finally:
        store.close()
    last = last_publication(settings.lake.root, alias)
    if last is not None:
        console.print(
            f"last publication: {last['mode']} of {last['table']} version"
            f" {last['table_version']} by run {last['run_id']}, {last['points']} points"
            f" into {last['collection']} at {last['published_at']}"
        )


def last_publication(root: Path, alias: str) -> dict | None:
    """The newest row of ``publish/history`` for ``alias``, read with pyarrow."""
    import pyarrow.compute as pc

    from pipelines.lake.arrow import table_dataset
    from pipelines.tables import PUBLICATIONS

    path = root / PUBLICATIONS
    if not (path / "_delta_log").is_dir():
        return None
    rows = table_dataset(path).to_table(filter=pc.field("alias") == alias).to_pylist()
    return max(rows, key=lambda row: row["published_at"], default=None)


def _hit(hit) -> str:
    title = hit.payload.get("title", "")
    return f"{hit.item_id} {title!r} ({hit.score:.3f})"

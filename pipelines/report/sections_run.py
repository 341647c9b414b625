"""Sections about the run itself: its stages, validation and drift, evaluation, Qdrant."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.compute as pc

from pipelines.report.charts import Marker, line_chart
from pipelines.report.html import Raw, missing, note, table, verdict
from pipelines.report.lake import LakeView
from pipelines.report.stage_results import read_stage_results
from pipelines.tables import (
    CATALOG_EMBEDDINGS,
    CATALOG_QUARANTINE,
    EVENTS_QUARANTINE,
    PUBLICATIONS,
    TABLES,
)

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.config import Settings

DRIFT_VERSIONS = 12
RESULT_COLUMNS = ("rows_read", "embedded", "skipped", "quarantined", "tombstoned", "seconds")


def stages_section(view: LakeView, reports: Path) -> str:
    recorded = read_stage_results(reports, view.run_id)
    if not recorded and not view.commits:
        return missing(f"run {view.run_id} recorded nothing")
    parts = [_recorded(recorded), _commits(view), _quarantine(view), _catalog_rows(view)]
    return "".join(parts)


def _recorded(rows: list[dict]) -> str:
    if not rows:
        return note(
            "stage timings were not recorded for this run (no stage results under"
            " reports/runs/); the commits below show when each table was written"
        )
    columns = ["stage", "read", "embedded", "unchanged", "quarantined", "tombstoned", "seconds"]
    fields = ["stage", *RESULT_COLUMNS, "table_version"]
    if any(row.get("error") for row in rows):  # a failed stage recorded as {stage, error}
        fields.append("error")
    heads = [*columns, "version", "error"][: len(fields)]
    return "<h3>Stage results</h3>" + table(heads, [[r.get(f) for f in fields] for r in rows])


def _commits(view: LakeView) -> str:
    if not view.commits:
        return note(f"run {view.run_id} committed no table")
    producers = {table.name: table.producer for table in TABLES}
    rows, previous = [], None
    for commit in view.commits:
        since = (commit.timestamp - previous).total_seconds() if previous else None
        previous = commit.timestamp
        rows.append(
            [producers.get(commit.table, "?"), commit.table, commit.version,
             commit.timestamp.strftime("%Y-%m-%d %H:%M:%S"), commit.operation,
             _rows(view, commit.table), since]
        )  # fmt: skip
    columns = ["stage", "table", "version", "committed (UTC)", "operation", "rows", "s since"]
    return "<h3>Tables this run committed</h3>" + table(columns, rows)


def _rows(view: LakeView, name: str) -> int:
    found = next(t for t in TABLES if t.name == name)
    has_tombstones = "is_deleted" in found.columns
    dataset = view.dataset(found, ["is_deleted"] if has_tombstones else None)
    live = ~pc.field("is_deleted") if has_tombstones else None
    return dataset.count_rows(filter=live) if dataset is not None else 0


def _quarantine(view: LakeView) -> str:
    parts = []
    for source in (CATALOG_QUARANTINE, EVENTS_QUARANTINE):
        if not view.exists(source):
            continue
        rows = view.frame(source, ["reason", "run_id"], pc.field("run_id") == view.run_id)
        counts = rows.groupby("reason").size().sort_values(ascending=False)
        if len(counts):
            parts.append(f"<h3>Quarantined by reason ({source})</h3>")
            parts.append(table(["reason", "rows"], list(counts.items())))
    return "".join(parts)


def _catalog_rows(view: LakeView) -> str:
    """The catalog's accounting as the table shows it: rows this run embedded or
    tombstoned carry its run id."""
    commit = view.commit(CATALOG_EMBEDDINGS)
    if commit is None or commit.run_id != view.run_id:
        return ""
    rows = view.frame(CATALOG_EMBEDDINGS, ["run_id", "is_deleted"])
    ours = rows.run_id == view.run_id
    deleted = rows.is_deleted.fillna(False).astype(bool)
    quarantined = 0
    if view.exists(CATALOG_QUARANTINE):
        where = pc.field("run_id") == view.run_id
        quarantined = len(view.frame(CATALOG_QUARANTINE, ["run_id"], where))
    embedded, unchanged = int((ours & ~deleted).sum()), int((~ours & ~deleted).sum())
    line = [embedded + unchanged + quarantined, embedded, unchanged, quarantined]
    columns = ["read", "embedded or updated", "unchanged", "quarantined", "tombstoned"]
    return f"<h3>Catalog rows ({escape(view.provenance(CATALOG_EMBEDDINGS))})</h3>" + table(
        columns, [[*line, int((ours & deleted).sum())]]
    )


def validation_section(view: LakeView, reports: Path, settings: Settings) -> str:
    folders = sorted(p for p in (reports / "validation").glob("*") if p.is_dir())
    found = [shown for shown in (_validated(view, folder) for folder in folders) if shown]
    if not found:
        return missing("no validation report", "run validate-catalog")
    return "".join(_validation_table(view, shown, settings) for shown in found)


def _validated(view: LakeView, folder: Path) -> list[dict]:
    """The last reports of a table up to the version this run shows: a past run's page
    reads the same later."""
    files = sorted(folder.glob("v*.json"))
    if not files:
        return []
    table_name = json.loads(files[-1].read_text()).get("table", "")
    upto = view.version(table_name)
    if upto is None:
        return []
    files = [f for f in files if int(f.stem.removeprefix("v")) <= upto][-DRIFT_VERSIONS:]
    return [json.loads(f.read_text()) for f in files]


def _validation_table(view: LakeView, reports: list[dict], settings: Settings) -> str:
    rows, ours = [], []
    for r in reports:
        drift = r.get("drift") or {}
        status = "passed" if r.get("success") else "FAILED: " + "; ".join(r.get("failures", []))
        drifted = str(drift.get("status", ""))
        if drift.get("accepted_by"):  # a failed check let through on purpose
            drifted = f"{drifted} by {drift['accepted_by']}"
        rows.append(
            [r.get("version"), r.get("run_id"), str(r.get("validated_at", ""))[:19],
             verdict(status), verdict(drifted),
             drift.get("previous_version"), drift.get("centroid_shift"), drift.get("stability")]
        )  # fmt: skip
        ours.append(r.get("run_id") == view.run_id)
    columns = ["version", "run", "validated (UTC)", "verdict", "drift", "against", "centroid shift"]
    name = reports[-1].get("table", "")
    text = f"<h3>{escape(name)}: the last {len(reports)} versions validated</h3>"
    return text + table([*columns, "stability"], rows, ours) + _drift_charts(reports, settings)


def _drift_charts(reports: list[dict], settings: Settings) -> str:
    shift = [(r["version"], r["drift"]["centroid_shift"]) for r in reports if _measured(r)]
    stable = [(r["version"], r["drift"]["stability"]) for r in reports if _measured(r)]
    if not shift:
        return note("no drift measured yet: a version is compared with the last published one")
    cfg, name = settings.validate, reports[-1].get("table", "")
    charts = [
        line_chart({"centroid shift": shift}, title=f"{name}: centroid shift", xlabel="version",
                   ylabel="cosine distance", markers=[Marker(cfg.centroid_shift_warn, "warn"),
                                                      Marker(cfg.centroid_shift_fail, "fail")]),
        line_chart({"sentinel stability": stable}, title=f"{name}: sentinel stability",
                   xlabel="version", ylabel="share stable", markers=[
                       Marker(cfg.stability_warn, "warn"), Marker(cfg.stability_fail, "fail")]),
    ]  # fmt: skip
    return f'<div class="charts">{"".join(charts)}</div>'


def _measured(report: dict) -> bool:
    drift = report.get("drift") or {}
    return drift.get("centroid_shift") is not None and drift.get("stability") is not None


def evaluation_section(view: LakeView, reports: Path) -> str:
    files = sorted((reports / "evaluate").glob("*.json"))
    if not files:
        fix = "run the evaluate stage ([evaluate] dedup_gold, recs_items, recs_users)"
        return missing("no evaluate report", fix)
    parts = [_evaluation(path.stem, json.loads(path.read_text()), view) for path in files]
    return "".join(parts)


def _evaluation(name: str, report: dict, view: LakeView) -> str:
    run = report.get("run_id")
    whose = "this run" if run == view.run_id else f"run {run}"
    scalars = [
        [k, v] for k, v in report.items() if not isinstance(v, dict | list) and k != "run_id"
    ]
    parts = [
        f"<h3>{escape(name)} ({escape(whose)})</h3>",
        table(["metric", "value"], scalars) if scalars else "",
    ]
    results = report.get("results")
    if isinstance(results, list) and results and isinstance(results[0], dict):
        columns = list(results[0])
        parts.append(table(columns, [[row.get(c) for c in columns] for row in results]))
    return "".join(parts)


def qdrant_section(view: LakeView, settings: Settings) -> str:
    if view.version(PUBLICATIONS) is None:
        return missing("nothing published", "run publish-catalog")
    history = view.frame(PUBLICATIONS).sort_values("published_at", ascending=False)
    served = _served_aliases(settings)
    rows = []
    for alias in (settings.publish.alias, settings.publish.users_alias):
        mine = history[history.alias == alias]
        now = served.get(alias, "no alias") if served is not None else "a server: not queried"
        rows.append(_alias_row(alias, mine.iloc[0] if len(mine) else None, now))
    columns = ["alias", "collection (last publish)", "served now", "points", "table version"]
    where = (
        f"Qdrant: {settings.qdrant.url or settings.qdrant_path} ({view.provenance(PUBLICATIONS)})"
    )
    return table([*columns, "mode", "run"], rows) + note(where) + _publishes(view, history)


def _publishes(view: LakeView, history: pd.DataFrame) -> str:
    recent = history.head(10).astype(object).where(history.head(10).notna(), None)
    columns = ["published_at", "alias", "collection", "table_version", "mode", "points", "run_id"]
    if "drift_accepted_by" in recent and recent.drift_accepted_by.notna().any():
        columns.append("drift_accepted_by")  # a version published past a failed drift check
    rows = [[str(row[0])[:19], *row[1:]] for row in recent[columns].to_numpy()]
    heads = [c.replace("_", " ").replace("published at", "published (UTC)") for c in columns]
    return "<h3>Recent publishes</h3>" + table(heads, rows, list(recent.run_id == view.run_id))


def _alias_row(alias: str, last, now: str) -> list:
    if last is None:
        return [alias, "not published yet", now, None, None, None, None]
    collection = last["collection"]
    flag = now if now == collection else Raw(f'<span class="warn">{escape(now)}</span>')
    return [alias, collection, flag, *last[["points", "table_version", "mode", "run_id"]]]


def _served_aliases(settings: Settings) -> dict[str, str] | None:
    """Aliases of embedded Qdrant from its meta.json, read as a file: opening a client would
    lock the folder against a running pipeline. None for a Qdrant server."""
    if settings.qdrant.url:
        return None
    meta = Path(settings.qdrant_path) / "meta.json"
    if not meta.is_file():
        return {}
    try:
        return dict(json.loads(meta.read_text()).get("aliases", {}))
    except (ValueError, AttributeError):
        return {}

"""The maintain stage on a real lake: VACUUM frees what no kept version needs and spares
protected versions; dead working folders and GX leftovers go; validation leaves no temp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from helpers.data import make_catalog, write_settings

from pipelines.config import load_settings
from pipelines.io.reports import write_report
from pipelines.io.workdirs import owned_workdir
from pipelines.lake import open_lake
from pipelines.maintain.stage import maintain
from pipelines.runtime.context import RunContext
from pipelines.vectorstore.history import Publication, record

TABLE = "embeddings/catalog"
DAY_MS = 86_400_000


def _context(spark, tmp_path: Path, **lake) -> RunContext:
    csv = tmp_path / "catalog.csv"
    make_catalog(3).to_csv(csv, index=False)
    settings = load_settings(write_settings(tmp_path, csv, lake=lake))
    return RunContext(settings, spark, open_lake(spark, settings.lake), "maintain-test")


def _overwrite(ctx: RunContext, versions: int) -> list[set[Path]]:
    """``versions`` overwrites of TABLE, version v holding 3 + v rows; each version's files."""
    for v in range(versions):
        rows = [(f"I{i}", v) for i in range(3 + v)]
        ctx.lake.write(ctx.spark.createDataFrame(rows, "item_id string, v int"), TABLE, f"r{v}")
    return [_files(ctx.lake.path(TABLE), v) for v in range(versions)]


def _files(path: Path, version: int) -> set[Path]:
    from deltalake import DeltaTable

    uris = DeltaTable(str(path), version=version).file_uris()
    return {Path(urlparse(u).path) if u.startswith("file:") else Path(u) for u in uris}


def _on_disk(path: Path) -> set[Path]:
    return set(path.rglob("*.parquet"))


def _backdate(path: Path, days_ago: dict[int, float]) -> None:
    """Move each version's commit, and the files it added and removed, ``days_ago`` back."""
    now_ms = int(time.time() * 1000)
    stamped = {"commitInfo": "timestamp", "add": "modificationTime", "remove": "deletionTimestamp"}
    for version, days in days_ago.items():
        log = path / "_delta_log" / f"{version:020d}.json"
        stamp = now_ms - int(days * DAY_MS)
        actions = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        for action in actions:
            for kind, key in stamped.items():
                if kind in action:
                    action[kind][key] = stamp
        log.write_text("".join(json.dumps(action) + "\n" for action in actions))
        os.utime(log, (stamp / 1000, stamp / 1000))


@pytest.mark.scenario(
    "Old table files pile up (every overwrite keeps the last one)",
    "maintain VACUUMs every table under its writer lock; the current version still reads",
)
def test_vacuum_deletes_unreferenced_files_under_the_writer_lock(spark, tmp_path, monkeypatch):
    ctx = _context(spark, tmp_path, retention_hours=0)
    files = _overwrite(ctx, 3)
    path = ctx.lake.path(TABLE)
    stale = files[0] | files[1]
    events = []

    @contextmanager
    def lock(table, timeout_s=None):
        events.append(("locked", table, all(f.exists() for f in stale)))
        yield
        events.append(("released", table, not any(f.exists() for f in stale)))

    monkeypatch.setattr(ctx.lake, "table_lock", lock)
    result = maintain(ctx)

    assert result.stage == "maintain"
    entry = result.details["tables"][TABLE]
    assert (entry["files_deleted"], entry["retention_hours"]) == (len(stale), 0)
    assert events == [("locked", TABLE, True), ("released", TABLE, True)]
    assert _on_disk(path) == files[2]
    assert ctx.lake.read(TABLE).count() == 5
    checksums = {c.with_name(c.name[1:].removesuffix(".crc")) for c in path.rglob(".*.crc")}
    assert checksums == files[2]  # the deleted files' checksums went with them
    assert all(any(folder.iterdir()) for folder in path.iterdir())  # no emptied folder left


def test_second_maintain_deletes_nothing_and_commits_nothing(spark, tmp_path):
    ctx = _context(spark, tmp_path, retention_hours=0)
    _overwrite(ctx, 2)
    maintain(ctx)
    version = ctx.lake.version(TABLE)
    again = maintain(ctx)
    assert again.details["tables"][TABLE]["files_deleted"] == 0
    assert ctx.lake.version(TABLE) == version


def _publish(ctx: RunContext, version: int) -> None:
    publication = Publication(
        ctx.settings.publish.alias, f"catalog__m__r{version}", TABLE, version, "m",
        f"r{version}", "full", 3 + version, datetime.now(UTC),
    )  # fmt: skip
    record(ctx.lake, publication)


def _validate(ctx: RunContext, version: int) -> None:
    for v, success in [(version, True), (version + 1, False)]:  # a newer failed one protects not
        write_report(ctx.reports_dir, TABLE, v, {"table": TABLE, "version": v, "success": success})


@pytest.mark.parametrize("protect", [_publish, _validate], ids=["published", "validated"])
@pytest.mark.scenario(
    "VACUUM with a short window while a published or validated version is older",
    "that version's files survive and it still reads",
)
def test_protected_version_older_than_the_window_still_reads(spark, tmp_path, protect):
    ctx = _context(spark, tmp_path, retention_hours=24)
    files = _overwrite(ctx, 5)
    path = ctx.lake.path(TABLE)
    _backdate(path, {0: 40, 1: 30, 2: 20, 3: 10, 4: 5})
    protect(ctx, 2)

    entry = maintain(ctx).details["tables"][TABLE]

    assert 20 * 24 < entry["retention_hours"] <= 20 * 24 + 2
    # version 0's files were tombstoned 30 days ago, before the stretched window
    assert entry["files_deleted"] == len(files[0])
    assert _on_disk(path) == files[1] | files[2] | files[3] | files[4]
    assert ctx.lake.read(TABLE, 2).count() == 5
    assert ctx.lake.read(TABLE).count() == 7


DEAD_OWNER = """
import os, sys
from pathlib import Path
from pipelines.io.workdirs import owned_workdir
with owned_workdir(Path(sys.argv[1])) as folder:
    (folder / "part.parquet").write_text("half written")
    print(folder, flush=True)
    os._exit(1)  # a crash: no cleanup runs
"""


def _dead_workdir(parent: Path) -> Path:
    run = subprocess.run(
        [sys.executable, "-c", DEAD_OWNER, str(parent)], capture_output=True, text=True
    )
    assert run.returncode == 1, run.stderr
    return Path(run.stdout.strip())


def _gx_site(folder: Path, age_s: float = 0) -> Path:
    (folder / "static" / "styles").mkdir(parents=True)
    (folder / "index.html").write_text("<html/>")
    (folder / "static" / "styles" / "data_docs_default_styles.css").write_text("")
    then = time.time() - age_s
    os.utime(folder, (then, then))
    return folder


@pytest.mark.scenario(
    "Working folders of killed runs and old GX Data Docs temp sites",
    "maintain removes them; a live run's folder stays",
)
def test_sweeps_dead_workdirs_and_old_gx_sites(spark, tmp_path, monkeypatch):
    ctx = _context(spark, tmp_path)
    parent = ctx.settings.lake.root / "_work" / "evaluate"
    dead = _dead_workdir(parent)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    old_site = _gx_site(scratch / "tmpold", age_s=2 * 3600)
    fresh_site = _gx_site(scratch / "tmpfresh")
    (scratch / "tmpother").mkdir()
    os.utime(scratch / "tmpother", (0, 0))

    assert dead.is_dir()
    with owned_workdir(parent) as live:
        result = maintain(ctx)
        assert live.is_dir()
    assert not dead.exists()
    assert result.details["swept"] == [str(dead)]
    assert result.details["gx_temp_sites"] == [str(old_site)]
    assert fresh_site.is_dir() and (scratch / "tmpother").is_dir()


def _vectors(spark, n: int = 20, dim: int = 8):
    from pipelines.validate.metrics import with_vector_metrics

    rng = np.random.default_rng(5)
    rows = []
    for i in range(n):
        v = rng.normal(size=dim)
        rows.append((f"I{i}", (v / np.linalg.norm(v)).astype(float).tolist(), f"t{i}", "m"))
    schema = "item_id string, vector array<float>, text string, model_id string"
    return with_vector_metrics(spark.createDataFrame(rows, schema))


@pytest.mark.scenario(
    "A validation run's GX temp folder",
    "removed in finally: nothing is left in the temp folder",
)
def test_validation_leaves_no_temporary_folder_and_no_progress_bars(
    spark, tmp_path, monkeypatch, capfd
):
    from pipelines.validate.config import ValidateConfig
    from pipelines.validate.suite import expectations, run_suite

    df = _vectors(spark).persist()
    df.count()
    scratch, cwd = tmp_path / "tmp", tmp_path / "cwd"
    scratch.mkdir()
    cwd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(cwd)

    outcome = run_suite(df, "maintain_probe", expectations(ValidateConfig(), 20, 8))

    assert outcome.success, outcome.failures
    assert list(scratch.iterdir()) == [] and list(cwd.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "tmp"]
    assert "Calculating Metrics" not in capfd.readouterr().err

"""kill -9 of a whole job (driver, Spark JVM, Python workers) at its riskiest moments, then
a plain re-run: Delta and Qdrant agree, no item is lost or doubled, the served alias never
showed a half-applied version, and no orphan file is left after the re-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers.data import make_catalog
from helpers.pipeline_lake import build_golden
from qdrant_client import QdrantClient

from pipelines.lake.delta_rs import _committed

pytestmark = pytest.mark.slow
N = 40
PUBLISH = ["embed-catalog", "validate-catalog", "publish-catalog", "reconcile-catalog"]


@pytest.fixture(scope="module")
def golden(spark, tmp_path_factory):
    lake = build_golden(spark, tmp_path_factory.mktemp("crash-golden"), N)
    lake.run("neighbors", "dedup")
    lake.ctx.close()
    return lake


@pytest.fixture
def folder(golden, tmp_path) -> Path:
    copy = golden.copy_to(tmp_path / "lake")
    copy.ctx.close()
    return copy.folder


def _run(folder: Path, stages: list[str], crash_at: str | None = None, *extra: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINES")}
    env |= {"HF_HUB_OFFLINE": "1", "PIPELINES__PUBLISH__BATCH_SIZE": "8"}
    if crash_at:
        env["PIPELINES_CRASH_AT"] = crash_at
    command = [sys.executable, "-m", "pipelines.cli", "run", "--config", "pipelines.toml"]
    command += [arg for stage in stages for arg in ("--stage", stage)] + list(extra)
    return subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=600,
        start_new_session=True,  # its own process group: the crash kills it, not pytest
    )  # fmt: skip


def _crash(folder: Path, stages: list[str], point: str, *extra: str) -> None:
    done = _run(folder, stages, point, *extra)
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]


def _edit_source(folder: Path, changed: int, added: int) -> pd.DataFrame:
    catalog = make_catalog(N + added)
    catalog.loc[catalog.index < changed, "title"] = catalog.title + " (new edition)"
    catalog.to_csv(folder / "catalog.csv", index=False)
    return catalog


def _served_matches_a_published_version(folder: Path) -> None:
    """The alias serves exactly the live rows of the version published last, nothing else."""
    from deltalake import DeltaTable

    from pipelines.lake.arrow import table_dataset

    history = DeltaTable(str(folder / "lake/publish/history")).to_pandas()
    last = history.sort_values("published_at").iloc[-1]
    rows = table_dataset(folder / "lake/embeddings/catalog", int(last.table_version)).to_table()
    live = rows.to_pandas().query("is_deleted == False").set_index("item_id")
    client = QdrantClient(path=str(folder / "lake/qdrant"))
    try:
        [alias] = [a for a in client.get_aliases().aliases if a.alias_name == "catalog"]
        points, _ = client.scroll(alias.collection_name, limit=10_000, with_payload=True)
    finally:
        client.close()
    served = {p.payload["item_id"]: p.payload["content_hash"] for p in points}
    assert alias.collection_name == last.collection
    assert served == live["content_hash"].to_dict()


def _converged(folder: Path, catalog: pd.DataFrame) -> None:
    """A plain re-run succeeds and leaves one live row per source id, served as such."""
    done = _run(folder, PUBLISH)
    assert done.returncode == 0, done.stderr[-3000:]
    from pipelines.lake.arrow import table_dataset

    # deletion vectors: deltalake's to_pandas refuses them, its scan applies them
    table = table_dataset(folder / "lake/embeddings/catalog").to_table().to_pandas()
    live = table.query("is_deleted == False")
    assert sorted(live.item_id) == sorted(catalog.item_id) and live.item_id.is_unique
    _served_matches_a_published_version(folder)
    _no_orphans(folder / "lake")


def _no_orphans(lake: Path) -> None:
    staged = [p for p in lake.rglob("part-*") if p.is_dir()]
    orphans = [p for p in staged if not _committed(p.parent, p.name)]
    locks = list(lake.rglob(".part-*.lock"))
    work = list(lake.glob("_work/*/*"))  # working folders of runs, under their stage's folder
    assert (orphans, locks, work) == ([], [], []), "crashed runs left files behind"


@pytest.mark.scenario(
    "kill -9 during the embeddings write, before its commit",
    "table stays at its version; the re-run embeds, publishes and sweeps the staged files",
)
def test_killed_before_the_embeddings_commit(folder):
    catalog = _edit_source(folder, changed=10, added=5)
    _crash(folder, ["embed-catalog"], "lake.before_commit")
    staged = [p for p in (folder / "lake/embeddings/catalog").glob("part-*")]
    assert any(not _committed(p.parent, p.name) for p in staged), "the crash left no staging"
    _served_matches_a_published_version(folder)
    _converged(folder, catalog)


@pytest.mark.scenario(
    "kill -9 after the embeddings commit, before the quarantine write",
    "the re-run embeds nothing again and writes the quarantine; Delta and Qdrant agree",
)
def test_killed_between_the_embeddings_and_quarantine_commits(folder):
    catalog = _edit_source(folder, changed=3, added=2)
    with_bad_row = pd.concat([catalog, catalog.iloc[[0]].assign(item_id="  ")])
    with_bad_row.to_csv(folder / "catalog.csv", index=False)
    _crash(folder, ["embed-catalog"], "embed.after_commit")
    _served_matches_a_published_version(folder)
    _converged(folder, catalog)
    from deltalake import DeltaTable

    reasons = DeltaTable(str(folder / "lake/quarantine/catalog")).to_pandas().reason
    assert list(reasons) == ["null_id"]


@pytest.mark.scenario(
    "kill -9 in the middle of a full publish (new collection)",
    "the alias keeps serving the previous collection whole; the re-run publishes",
)
def test_killed_mid_full_publish(folder):
    _crash(folder, ["publish-catalog"], "publish.mid_upsert", "--full-refresh")
    _served_matches_a_published_version(folder)
    _converged(folder, make_catalog(N))


@pytest.mark.scenario(
    "kill -9 in the middle of an incremental publish (30 changed items)",
    "readers see the old version whole, never 10 of 30 changes; the re-run moves the alias",
)
def test_killed_mid_incremental_publish(folder):
    catalog = _edit_source(folder, changed=30, added=0)
    done = _run(folder, ["embed-catalog", "validate-catalog"])
    assert done.returncode == 0, done.stderr[-3000:]
    _crash(folder, ["publish-catalog"], "publish.mid_upsert")
    _served_matches_a_published_version(folder)
    _converged(folder, catalog)


@pytest.mark.scenario(
    "kill -9 between the dedup/pairs and dedup/clusters commits",
    "readers keep the pairs of the clusters' run; the re-run writes both",
)
def test_killed_between_the_dedup_commits(folder):
    from deltalake import DeltaTable

    clusters = DeltaTable(str(folder / "lake/dedup/clusters"))
    before = clusters.version()
    _crash(folder, ["dedup"], "dedup.between_commits")
    assert DeltaTable(str(folder / "lake/dedup/clusters")).version() == before
    done = _run(folder, ["dedup"])
    assert done.returncode == 0, done.stderr[-3000:]
    pairs = DeltaTable(str(folder / "lake/dedup/pairs")).to_pandas()
    clusters = DeltaTable(str(folder / "lake/dedup/clusters")).to_pandas()
    assert set(pairs.run_id) == set(clusters.run_id) or clusters.empty
    _no_orphans(folder / "lake")


@pytest.mark.scenario(
    "Two embed-catalog runs started together on one lake",
    "one commits; the other commits after it or exits 75 writing nothing; no update lost",
)
def test_two_concurrent_runs_never_lose_an_update(folder):
    catalog = _edit_source(folder, changed=20, added=5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINES")}
    command = [sys.executable, "-m", "pipelines.cli", "run", "--config", "pipelines.toml"]
    command += ["--stage", "embed-catalog"]
    runs = [
        subprocess.Popen(
            [*command, "--run-id", f"run-{n}"],
            cwd=folder,
            env=env | {"HF_HUB_OFFLINE": "1"},
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )  # fmt: skip
        for n in (1, 2)
    ]
    codes = [run.wait(timeout=600) for run in runs]
    errors = [run.stderr.read() for run in runs]
    assert sorted(codes) in ([0, 0], [0, 75]), errors
    if 75 in codes:
        assert "changed while this run worked" in errors[codes.index(75)]
    from deltalake import DeltaTable

    table = DeltaTable(str(folder / "lake/embeddings/catalog"))
    live = table.to_pandas().query("is_deleted == False").set_index("item_id")
    assert sorted(live.index) == sorted(catalog.item_id)
    edited = live.loc[catalog.item_id[:20], "text"]
    assert edited.str.contains("new edition").all(), "an edit was lost"

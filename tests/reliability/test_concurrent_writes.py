"""Two runs writing one table: a commit never lands on data another run replaced."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from pipelines.lake import LakeConfig, open_lake
from pipelines.lake.errors import ConcurrentWriteError

TABLE = "embeddings/catalog"


def _rows(spark, ids, tag):
    return spark.createDataFrame([(i, tag) for i in ids], "item_id string, tag string")


@pytest.fixture
def lakes(spark, tmp_path):
    """Two engines on one lake: two runs, as two processes would hold them."""
    config = LakeConfig(root=tmp_path / "lake")
    return open_lake(spark, config), open_lake(spark, config)


@pytest.mark.scenario(
    "Run A reads, run B commits, then A commits (lost update)",
    "A fails with ConcurrentWriteError (exit 75) and writes nothing; B's rows stay",
)
def test_a_commit_built_on_a_replaced_version_is_refused(lakes, spark):
    run_a, run_b = lakes
    run_a.write(_rows(spark, ["1", "2"], "v0"), TABLE, "seed")
    seen_by_a = run_a.read(TABLE)  # A reads version 0 ...
    b_state = run_b.read(TABLE).unionByName(_rows(spark, ["3"], "b"))
    assert run_b.write(b_state, TABLE, "run-b") == 1  # ... B commits version 1 meanwhile
    with pytest.raises(ConcurrentWriteError, match=r"read version 0, but version 1 \(run run-b\)"):
        run_a.write(seen_by_a.withColumn("tag", F.lit("a")), TABLE, "run-a")
    assert run_a.version(TABLE) == 1
    assert sorted(r.item_id for r in run_b.read(TABLE).collect()) == ["1", "2", "3"]
    leftovers = [p.name for p in run_a.path(TABLE).iterdir() if p.name != "_delta_log"]
    assert len(leftovers) == 2, f"A's staged files must be gone: {leftovers}"


def test_two_first_loads_do_not_overwrite_each_other(lakes, spark):
    run_a, run_b = lakes
    assert not run_a.exists(TABLE) and not run_b.exists(TABLE)
    run_b.write(_rows(spark, ["b"], "b"), TABLE, "run-b")
    with pytest.raises(ConcurrentWriteError, match="read no table, but version 0"):
        run_a.write(_rows(spark, ["a"], "a"), TABLE, "run-a")
    assert [r.item_id for r in run_a.read(TABLE).collect()] == ["b"]


def test_merge_after_a_concurrent_commit_is_refused(lakes, spark):
    run_a, run_b = lakes
    run_a.write(_rows(spark, ["1"], "v0"), TABLE, "seed")
    run_a.read(TABLE)
    run_b.write(_rows(spark, ["1", "2"], "b"), TABLE, "run-b")
    with pytest.raises(ConcurrentWriteError):
        run_a.merge(_rows(spark, ["1"], "a"), TABLE, ["item_id"], "run-a")
    assert {r.item_id: r.tag for r in run_a.read(TABLE).collect()} == {"1": "b", "2": "b"}


def test_writes_in_turn_commit_serially(lakes, spark):
    run_a, run_b = lakes
    run_a.write(_rows(spark, ["1"], "v0"), TABLE, "seed")
    for n, run in enumerate([run_b, run_a, run_b], start=1):
        state = run.read(TABLE).unionByName(_rows(spark, [f"n{n}"], "x"))
        assert run.write(state, TABLE, f"run-{n}") == n
    assert run_a.read(TABLE).count() == 4


def test_a_commit_records_the_versions_it_read(lakes, spark):
    run_a, _ = lakes
    run_a.write(_rows(spark, ["1"], "v0"), "neighbors/catalog", "seed")
    run_a.begin()
    run_a.read("neighbors/catalog")
    version = run_a.write(_rows(spark, ["9"], "x"), TABLE, "run-x")
    assert run_a.commit_metadata(TABLE, version)["read_versions"] == '{"neighbors/catalog": 0}'


def test_a_writer_waits_for_the_lock_and_a_dead_holder_does_not_block(lakes, tmp_path):
    import subprocess
    import sys

    run_a, _ = lakes
    lock = run_a.root / "_locks" / "embeddings__catalog.lock"
    holder = (
        "import sys; from pipelines.io.workdirs import held\n"
        "with held(__import__('pathlib').Path(sys.argv[1])): sys.exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", holder, str(lock)], check=True, timeout=60)
    with run_a.table_lock(TABLE, timeout_s=1):  # the holder exited: the lock is free
        pass
    sleeper = subprocess.Popen(
        [sys.executable, "-c", holder.replace("sys.exit(0)", "__import__('time').sleep(30)"),
         str(lock)]
    )  # fmt: skip
    try:
        import time

        deadline = time.monotonic() + 20
        from pipelines.io.workdirs import is_held

        while not is_held(lock) and time.monotonic() < deadline:
            time.sleep(0.1)
        lock_held = pytest.raises(ConcurrentWriteError, match="being written by another run")
        with lock_held, run_a.table_lock(TABLE, timeout_s=0.5):
            pass
    finally:
        sleeper.kill()
        sleeper.wait()


def test_appends_from_two_runs_both_land(lakes, spark):
    run_a, run_b = lakes
    run_a.write(_rows(spark, ["1"], "seed"), "publish/history", "seed")
    run_a.read("publish/history")  # A read the history before B appended to it
    run_b.write(_rows(spark, ["b"], "b"), "publish/history", "run-b", mode="append")
    run_a.write(_rows(spark, ["a"], "a"), "publish/history", "run-a", mode="append")
    assert sorted(r.item_id for r in run_a.read("publish/history").collect()) == ["1", "a", "b"]

"""Delta tables other tools wrote, read through the delta-rs engine: partition values,
deletion vectors and column mapping live in the log, not in the data files."""

from __future__ import annotations

import base64
import datetime as dt
import json
import struct
import time

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from pipelines.io.workdirs import is_held, sweep_workdirs
from pipelines.lake import LakeConfig, open_lake
from pipelines.lake.delta_rs import SNAPSHOTS
from pipelines.lake.errors import UnreadableTableError


@pytest.fixture
def lake(spark, tmp_path):
    return open_lake(spark, LakeConfig(root=tmp_path / "lake"))


ITEMS = pa.schema(
    [("item_id", pa.string()), ("shop", pa.string()), ("day", pa.date32()), ("price", pa.float64())]
)


def _items(n: int) -> pa.Table:
    columns = {
        "item_id": [f"I{i}" for i in range(n)],
        "shop": [["north", "south", None][i % 3] for i in range(n)],
        "day": [dt.date(2024, 1, 1 + i % 2) for i in range(n)],
        "price": [float(i) for i in range(n)],
    }
    return pa.table(columns, schema=ITEMS)


def _rows(df) -> dict[str, tuple]:
    return {r.item_id: (r.shop, r.day, r.price) for r in df.collect()}


def _expected(table: pa.Table) -> dict[str, tuple]:
    return {r["item_id"]: (r["shop"], r["day"], r["price"]) for r in table.to_pylist()}


def test_partition_values_are_read(lake, tmp_path):
    path = tmp_path / "items"
    write_deltalake(str(path), _items(9), partition_by=["shop", "day"])
    df = lake.read_path(path)
    assert df.columns == ["item_id", "shop", "day", "price"]
    assert _rows(df) == _expected(_items(9))


def test_partitioned_table_in_the_lake_reads_and_travels(lake, tmp_path):
    path = tmp_path / "lake" / "sources" / "items"
    write_deltalake(str(path), _items(9), partition_by=["day"])
    DeltaTable(str(path)).delete("price < 3")  # rewrites files: no deletion vector
    assert sorted(_rows(lake.read("sources/items"))) == [f"I{i}" for i in range(3, 9)]
    assert _rows(lake.read("sources/items", version=0)) == _expected(_items(9))
    assert lake.arrow_dataset("sources/items").to_table().num_rows == 6


def test_deleted_rows_are_absent(lake, tmp_path):
    path = tmp_path / "items"
    _table_with_deletion_vector(path, _items(9), deleted=[0, 1, 2])
    assert "deletionVector" in (path / "_delta_log" / "00000000000000000001.json").read_text()
    assert sorted(_rows(lake.read_path(path))) == [f"I{i}" for i in range(3, 9)]
    assert _rows(lake.read_path(path, version=0)) == _expected(_items(9))


def test_column_mapped_names_are_read(lake, tmp_path):
    path = tmp_path / "lake" / "mapped"
    table = pa.table({"item_id": ["a", "b"], "list price": [1.5, 2.5]})
    write_deltalake(str(path), table, configuration={"delta.columnMapping.mode": "name"})
    rows = lake.read("mapped").collect()
    assert sorted((r["item_id"], r["list price"]) for r in rows) == [("a", 1.5), ("b", 2.5)]
    assert lake.arrow_dataset("mapped") is None  # pyarrow would read physical names


def test_a_feature_deltalake_lacks_fails_naming_table_and_feature(lake, tmp_path):
    path = tmp_path / "fancy"
    write_deltalake(str(path), _items(2))
    protocol = {
        "minReaderVersion": 3,
        "minWriterVersion": 7,
        "readerFeatures": ["fancyFeature"],
        "writerFeatures": ["fancyFeature"],
    }
    _commit(path, 1, [{"protocol": protocol}])
    with pytest.raises(UnreadableTableError, match=rf"{path}.*fancyFeature.*delta-spark"):
        lake.read_path(path)


def test_a_copy_is_made_once_and_held_while_this_process_lives(lake, tmp_path):
    path = tmp_path / "items"
    write_deltalake(str(path), _items(4), partition_by=["day"])
    assert lake.read_path(path).count() == lake.read_path(path).count() == 4
    folders = [p for p in (tmp_path / "lake" / SNAPSHOTS).iterdir() if p.is_dir()]
    assert len(folders) == 1
    assert is_held(folders[0].with_name(folders[0].name + ".lock"))
    assert sweep_workdirs(tmp_path / "lake" / SNAPSHOTS) == []


def test_plain_tables_are_read_from_their_own_files(lake, spark, tmp_path):
    lake.write(spark.range(3).selectExpr("cast(id as string) as item_id"), "t/own", "run-1")
    path = tmp_path / "items"
    write_deltalake(str(path), _items(3), configuration={"delta.enableDeletionVectors": "true"})
    assert lake.read("t/own").count() == 3 and lake.read_path(path).count() == 3
    assert not (tmp_path / "lake" / SNAPSHOTS).exists()


def test_an_empty_partitioned_table_reads_with_its_schema(lake, tmp_path):
    path = tmp_path / "items"
    write_deltalake(str(path), _items(0), partition_by=["day"])
    df = lake.read_path(path)
    assert df.count() == 0 and df.columns == ["item_id", "shop", "day", "price"]


# deltalake deletes by rewriting files and writes no deletion vector, so the test commits
# one itself: an inline vector as the Delta protocol defines it, which Databricks writes too


def _table_with_deletion_vector(path, table: pa.Table, deleted: list[int]) -> None:
    write_deltalake(str(path), table, configuration={"delta.enableDeletionVectors": "true"})
    [add] = [json.loads(line)["add"] for line in _log(path, 0) if line.startswith('{"add"')]
    now = int(time.time() * 1000)
    data = _deletion_vector(deleted)
    vector = {
        "storageType": "i",
        "pathOrInlineDv": _z85(data),
        "sizeInBytes": len(data),
        "cardinality": len(deleted),
    }
    remove = {
        "path": add["path"],
        "deletionTimestamp": now,
        "dataChange": True,
        "extendedFileMetadata": True,
        "partitionValues": add["partitionValues"],
        "size": add["size"],
    }
    info = {"timestamp": now, "operation": "DELETE", "operationParameters": {}}
    actions = [{"commitInfo": info}, {"remove": remove}, {"add": add | {"deletionVector": vector}}]
    _commit(path, 1, actions)


def _deletion_vector(rows: list[int]) -> bytes:
    """A RoaringBitmapArray of ``rows`` (all below 65536): magic, one 32-bit bitmap with
    one array container, in the portable serialization."""
    values = sorted(rows)
    bitmap = struct.pack("<IIHHI", 12346, 1, 0, len(values) - 1, 16)
    bitmap += struct.pack(f"<{len(values)}H", *values)
    return struct.pack("<iqi", 1681511377, 1, 0) + bitmap


def _z85(data: bytes) -> str:
    b85 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
    z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
    padded = data + b"\0" * (-len(data) % 4)
    return base64.b85encode(padded).decode().translate(str.maketrans(b85, z85))


def _log(path, version: int) -> list[str]:
    return (path / "_delta_log" / f"{version:020d}.json").read_text().splitlines()


def _commit(path, version: int, actions: list[dict]) -> None:
    text = "".join(json.dumps(action) + "\n" for action in actions)
    (path / "_delta_log" / f"{version:020d}.json").write_text(text)

"""`pipelines status` counts what a table serves: tombstones are not rows."""

from __future__ import annotations

import pyarrow as pa
from deltalake import write_deltalake

from pipelines.cli.status import lake_tables


def test_tables_with_tombstones_count_live_rows_only(tmp_path):
    rows = {"item_id": ["a", "b", "c", "d"], "is_deleted": [False, True, None, False]}
    write_deltalake(str(tmp_path / "embeddings/catalog"), pa.table(rows))
    write_deltalake(str(tmp_path / "dedup/clusters"), pa.table({"item_id": ["a", "b"]}))
    counts = {table: rows for table, _, rows, _ in lake_tables(tmp_path)}
    assert counts == {"embeddings/catalog": 2, "dedup/clusters": 2}

"""Every case of the bad-input corpus (data/cases.toml) read with read_source."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from pipelines.io.errors import SourceError
from pipelines.io.ids import normalize_id
from pipelines.io.sources import read_source
from pipelines.io.workdirs import owned_workdir
from pipelines.lake import LakeConfig, open_lake

DATA = Path(__file__).parent / "data"
CASES = tomllib.loads((DATA / "cases.toml").read_text(encoding="utf-8"))["case"]
COLUMNS = ["item_id", "title", "brand", "description", "price"]


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    return open_lake(spark, LakeConfig(root=tmp_path_factory.mktemp("lake")))


@pytest.mark.scenario(
    "A corpus of malformed CSV files (stray quotes, unquoted commas, missing fields, bad"
    " bytes, Latin-1 read as UTF-8, BOM, reordered or differing headers, empty, odd ids)",
    "each gives its stated quarantine reason or error; rows in = rows out + rows quarantined",
)
@pytest.mark.parametrize("case", CASES, ids=[f"{i:02d}-{c['file']}" for i, c in enumerate(CASES)])
def test_corpus_case(case, lake, tmp_path):
    expect, path = case["expect"], DATA / case["file"]
    options = {"encoding": case.get("encoding", "utf-8"), "multiline": case.get("multiline", False)}
    with owned_workdir(tmp_path) as workdir:
        if "error" in expect:
            with pytest.raises(SourceError, match=re.escape(expect["error"])):
                read_source(lake, "catalog", path, "csv", COLUMNS, workdir=workdir, **options)
            return
        result = read_source(lake, "catalog", path, "csv", COLUMNS, workdir=workdir, **options)
        rows = [row.asDict() for row in result.rows.collect()]
        reasons = Counter(row.reason for row in result.rejected.collect())
        stage_reasons = _stage_reasons(result.rows)
    assert len(rows) == expect["rows"], case["what"]
    assert sum(stage_reasons.values()) == len(rows), "the stage's row rules lost or added rows"
    if "null_ids_after_normalize" in expect:
        assert stage_reasons["null_id"] == expect["null_ids_after_normalize"]
    assert reasons == Counter(expect.get("rejected", {})), case["what"]
    _check_ids(rows, expect)
    _check_values(rows, expect.get("values_match", {}))


def _stage_reasons(rows) -> Counter:
    """What embed-catalog makes of the rows read: a quarantine reason each, None if valid."""
    from pipelines.embed.config import CatalogConfig
    from pipelines.embed.rows import prepare_rows

    config = CatalogConfig(text_template="{title} by {brand}: {description}")
    prepared = prepare_rows(rows, config, model_id="m")
    return Counter(r._reason for r in prepared.select("_reason").collect())


def _check_ids(rows: list[dict], expect: dict) -> None:
    ids = [normalize_id(row["item_id"]) for row in rows]
    if "ids_after_normalize" in expect:
        assert len({i for i in ids if i is not None}) == expect["ids_after_normalize"]
    if "null_ids_after_normalize" in expect:
        assert ids.count(None) == expect["null_ids_after_normalize"]


def _check_values(rows: list[dict], patterns: dict[str, str]) -> None:
    for column, pattern in patterns.items():
        for row in rows:
            assert re.fullmatch(pattern, row[column] or ""), (column, row)

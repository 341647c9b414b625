"""read_source: every CSV record is a row, a rejected record with its reason, or an error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.io import csv_reader, sources
from pipelines.io.errors import SourceError
from pipelines.io.sources import read_source
from pipelines.io.workdirs import owned_workdir
from pipelines.lake import LakeConfig, open_lake

HEADER = "item_id,title,brand,description,price"
NEEDED = ["item_id", "title"]


@pytest.fixture
def lake(spark, tmp_path):
    return open_lake(spark, LakeConfig(root=tmp_path / "lake"))


@pytest.fixture
def workdir(tmp_path):
    with owned_workdir(tmp_path) as folder:
        yield folder


@pytest.fixture
def read(lake, workdir):
    def read_csv(path: Path, **options):
        return read_source(lake, "catalog", path, "csv", NEEDED, workdir=workdir, **options)

    return read_csv


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def rows_of(read) -> dict[str, dict]:
    return {row.item_id: row.asDict() for row in read.rows.collect()}


def rejects_of(read) -> dict[int, dict]:
    return {row.line: row.asDict() for row in read.rejected.collect()}


def test_rfc4180_values_are_read_exactly(read, tmp_path):
    text = (
        f"{HEADER}\r\n"
        'P1,"Tent, 2 person",Acme,"The ""Summit"" model",99.00\r\n'
        "\r\n"
        'P2,"",Acme,,5\r\n'
        "P3,Mug,Acme,Blue mug,3"  # no final line break
    )
    result = read(write(tmp_path / "c.csv", text))
    rows = rows_of(result)
    assert rows["P1"]["title"] == "Tent, 2 person"
    assert rows["P1"]["description"] == 'The "Summit" model'
    assert rows["P2"]["title"] == ""  # quoted empty is the empty string
    assert rows["P2"]["description"] is None  # unquoted empty is null
    assert rows["P3"]["price"] == "3"
    assert result.rejected.count() == 0
    assert result.files == [str(tmp_path / "c.csv")]
    assert dict(result.rows.dtypes) == dict.fromkeys(HEADER.split(","), "string")


def test_stray_quotes_and_wrong_field_counts_are_rejected_one_record_each(read, tmp_path):
    bad = {
        3: ('P5,"Big tent,Brand5,desc,9.99', "a quote opens in column 'title'"),
        4: ('P6,5" screen,Brand6,desc,9.99', "a quote inside the unquoted value of column"),
        5: ('P7,"Tent" large,Brand7,desc,9.99', "text after the closing quote of column"),
        7: ("P9,Tent, large,Brand9,desc,9.99", "6 fields, header has 5"),
        8: ("P10,Tent,Brand10,9.99", "4 fields, header has 5"),
    }
    lines = [HEADER, "P1,Tent,Acme,desc,1", bad[3][0], bad[4][0], bad[5][0]]
    lines += ["P8,Lamp,Acme,desc,2", bad[7][0], bad[8][0], "P11,Cup,Acme,desc,3"]
    result = read(write(tmp_path / "c.csv", "\n".join(lines) + "\n"))
    assert sorted(rows_of(result)) == ["P1", "P11", "P8"]
    rejects = rejects_of(result)
    assert sorted(rejects) == sorted(bad)
    for line, (raw, detail) in bad.items():
        assert rejects[line]["reason"] == "malformed_row"
        assert rejects[line]["raw"] == raw
        assert detail in rejects[line]["detail"]
        assert rejects[line]["file"] == str(tmp_path / "c.csv")
    assert result.rows.count() + result.rejected.count() == len(lines) - 1


def test_line_breaks_in_values_are_rejected_unless_multiline(read, tmp_path):
    text = f'{HEADER}\nP1,"Tent\r\nwith poles",Acme,desc,1\nP2,Mug,Acme,desc,2\n'
    path = write(tmp_path / "c.csv", text)
    strict = read(path)
    assert sorted(rows_of(strict)) == ["P2"]
    rejects = rejects_of(strict)
    assert sorted(rejects) == [2, 3]  # both halves of the broken record
    assert "multiline = true" in rejects[2]["detail"]
    multiline = read(path, multiline=True)
    assert rows_of(multiline)["P1"]["title"] == "Tent\r\nwith poles"
    assert multiline.rows.count() == 2 and multiline.rejected.count() == 0


def test_multiline_stray_quote_that_never_closes_fails_naming_the_line(read, tmp_path):
    path = write(tmp_path / "c.csv", f'{HEADER}\nP1,ok,A,d,1\nP2,"Big tent,A,d,1\nP3,x,A,d,1\n')
    with pytest.raises(SourceError, match=r"c\.csv: a quoted value opened on line 3 never"):
        read(path, multiline=True)


def test_multiline_merged_record_is_rejected_whole(read, tmp_path):
    text = f'{HEADER}\nP1,"Big tent,A,d,1\nP2,5" screen,A,d,1\nP3,x,A,d,1\n'
    result = read(write(tmp_path / "c.csv", text), multiline=True)
    assert sorted(rows_of(result)) == ["P3"]
    assert rejects_of(result)[2]["raw"] == 'P1,"Big tent,A,d,1\nP2,5" screen,A,d,1'


def test_invalid_utf8_rejects_only_its_record_and_names_the_column(read, tmp_path):
    content = f"{HEADER}\nP1,Tent,Acme,desc,1\n".encode() + b"P2,Caf\xe9 mug,Acme,desc,2\n"
    result = read(write(tmp_path / "c.csv", content + b"P3,Lamp,Acme,desc,3\n"))
    assert sorted(rows_of(result)) == ["P1", "P3"]
    reject = rejects_of(result)[3]
    assert reject["reason"] == "bad_encoding"
    assert reject["raw"] == "P2,Caf\ufffd mug,Acme,desc,2"
    assert "'title'" in reject["detail"] and "[catalog] encoding" in reject["detail"]


def test_bad_byte_inside_a_quoted_value_names_that_column(read, tmp_path):
    content = f'{HEADER}\nP1,"Tent, ""big""",Acme,"'.encode() + b'caf\xe9, ok",1\n'
    result = read(write(tmp_path / "c.csv", content))
    assert "'description'" in rejects_of(result)[2]["detail"]


def test_other_encoding_is_transcoded(read, tmp_path):
    text = f"{HEADER}\nP1,Caf\u00e9 \u2013 \u2018Lisboa\u2019,Acme,desc,1\nP2,\u00e9,Acme,desc\n"
    result = read(write(tmp_path / "c.csv", text.encode("cp1252")), encoding="cp1252")
    assert rows_of(result)["P1"]["title"] == "Caf\u00e9 \u2013 \u2018Lisboa\u2019"
    assert rejects_of(result)[3]["raw"] == "P2,\u00e9,Acme,desc"


def test_byte_the_declared_encoding_cannot_decode_fails(read, tmp_path):
    content = f"{HEADER}\nP1,ok,A,d,1\n".encode() + b"P2,bad \x81,A,d,1\n"
    with pytest.raises(SourceError) as error:
        read(write(tmp_path / "c.csv", content), encoding="cp1252")
    message = str(error.value)
    assert "c.csv line 3 is not valid cp1252" in message and "[catalog] encoding" in message


@pytest.mark.parametrize(
    ("encoding", "message"), [("klingon", "is not known"), ("utf-16", "convert the file")]
)
def test_unusable_encoding_fails(read, tmp_path, encoding, message):
    with pytest.raises(SourceError, match=message):
        read(write(tmp_path / "c.csv", f"{HEADER}\n"), encoding=encoding)


def test_empty_file_fails_naming_it(read, tmp_path):
    with pytest.raises(SourceError, match=r"empty\.csv is empty \(0 bytes\)"):
        read(write(tmp_path / "empty.csv", b""))


def test_header_only_file_has_no_rows(read, tmp_path):
    result = read(write(tmp_path / "c.csv", HEADER + "\n"))
    assert result.rows.count() == 0 and result.rejected.count() == 0
    assert result.rows.columns == HEADER.split(",")


def test_bom_is_not_part_of_the_first_column(read, tmp_path):
    result = read(write(tmp_path / "c.csv", f"\ufeff{HEADER}\nP1,Tent,A,d,1\n"))
    assert result.rows.columns[0] == "item_id"
    assert sorted(rows_of(result)) == ["P1"]


def test_files_with_reordered_columns_are_read_by_name(read, tmp_path):
    write(tmp_path / "src/a.csv", f"{HEADER}\nP1,Tent,Acme,desc,1\n")
    write(tmp_path / "src/b.csv", "title,price,item_id,brand,description\nMug,2,P2,Acme,desc\n")
    result = read(tmp_path / "src")
    assert result.rows.columns == HEADER.split(",")
    assert rows_of(result)["P2"] == {
        "item_id": "P2", "title": "Mug", "brand": "Acme", "description": "desc", "price": "2"
    }  # fmt: skip
    assert result.files == [str(tmp_path / "src/a.csv"), str(tmp_path / "src/b.csv")]


def test_file_with_other_columns_fails_naming_it_and_the_difference(read, tmp_path):
    write(tmp_path / "src/a.csv", f"{HEADER}\nP1,Tent,Acme,desc,1\n")
    write(tmp_path / "src/b.csv", "item_id,title,brand,colour\nP2,Mug,Acme,red\n")
    with pytest.raises(SourceError) as error:
        read(tmp_path / "src")
    message = str(error.value)
    assert "b.csv has other columns than" in message
    assert "lacks 'description', 'price' and adds 'colour'" in message


def test_missing_needed_column_names_section_path_columns_and_fix(lake, workdir, tmp_path):
    path = write(tmp_path / "c.csv", "item_id,name\nP1,Tent\n")
    with pytest.raises(SourceError) as error:
        read_source(lake, "catalog", path, "csv", ["item_id", "title"], workdir=workdir)
    message = str(error.value)
    for part in ("[catalog]", str(path), "no column 'title'", "'item_id', 'name'", "fix the"):
        assert part in message


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("item_id,title,title", "'title' appears twice"),
        ("item_id,title,", "column 3 has no name"),
        ('item_id,"title', "stray quote"),
    ],
)
def test_unusable_header_fails(read, tmp_path, header, message):
    with pytest.raises(SourceError, match=message):
        read(write(tmp_path / "c.csv", f"{header}\nP1,a,b\n"))


def test_path_problems_fail_before_reading(read, tmp_path):
    with pytest.raises(SourceError, match=r"\[catalog\] source is not set"):
        read(None)
    with pytest.raises(SourceError, match="does not exist"):
        read(tmp_path / "nope.csv")
    (tmp_path / "folder").mkdir()
    with pytest.raises(SourceError, match=r"holds no \*\.csv files"):
        read(tmp_path / "folder")


def test_rejects_stream_in_batches(read, tmp_path, monkeypatch):
    monkeypatch.setattr(sources._RejectSink, "BATCH", 2)
    lines = [HEADER] + [f"P{i},x,A,d" for i in range(5)] + ["P9,x,A,d,1"]
    result = read(write(tmp_path / "c.csv", "\n".join(lines)))
    assert result.rejected.count() == 5 and result.rows.count() == 1


def test_a_large_file_becomes_several_parts_holding_every_row_once(read, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_reader, "PART_ROWS", 3)
    monkeypatch.setattr(csv_reader, "BLOCK_BYTES", 64)  # a batch of a row or two
    lines = [HEADER] + [f"P{i},Tent {i},Acme,desc,{i}" for i in range(20)]
    result = read(write(tmp_path / "c.csv", "\n".join(lines)))
    assert len(result.rows.inputFiles()) >= 4
    found = sorted(int(r.item_id[1:]) for r in result.rows.collect())
    assert found == list(range(20))


def test_overlong_record_fails_instead_of_filling_memory(read, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_reader, "MAX_RECORD_BYTES", 64)
    text = f"{HEADER}\r" + "P1,Tent,Acme,desc,1\r" * 10  # lone CR line breaks: one long line
    with pytest.raises(SourceError, match="longer than"):
        read(write(tmp_path / "c.csv", text))


def test_parquet_source_has_no_rejects(lake, workdir, tmp_path):
    path = tmp_path / "items.parquet"
    pd.DataFrame({"item_id": ["P1"], "title": ["Tent"]}).to_parquet(path)
    result = read_source(lake, "catalog", path, "parquet", NEEDED, workdir=workdir)
    assert result.rows.count() == 1 and result.rejected.count() == 0
    assert result.rejected.columns == ["file", "line", "reason", "raw", "detail"]
    assert result.files == [path.resolve().as_uri()]
    with pytest.raises(SourceError, match=r"items\.parquet \(parquet\) has no column 'brand'"):
        read_source(lake, "catalog", path, "parquet", ["brand"], workdir=workdir)


def test_delta_source(lake, workdir, tmp_path):
    from deltalake import write_deltalake

    path = tmp_path / "items"
    write_deltalake(str(path), pd.DataFrame({"item_id": ["P1", "P2"], "title": ["a", "b"]}))
    result = read_source(lake, "catalog", path, "delta", NEEDED, workdir=workdir)
    assert result.rows.count() == 2 and result.rejected.count() == 0
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(SourceError, match=r"is not a Delta table \(no _delta_log\)"):
        read_source(lake, "catalog", plain, "delta", NEEDED, workdir=workdir)

"""`pipelines tour` on a real small lake: a dedup cluster with titles and field scores, five
similar items with titles, a user's recommendations beside their history, the evaluation and
the run report; and ./pipelines.toml written only where that is safe."""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from pipelines.cli.tour import GONE, cmd_tour, local_config
from pipelines.config import load_settings
from pipelines.lake.arrow import table_dataset


@pytest.fixture
def lake(report_lake, tmp_path):
    """A copy: the tour writes the newest run's report into the lake."""
    shutil.copytree(report_lake.folder, tmp_path / "copy")
    return load_settings(tmp_path / "copy" / "pipelines.toml")


def _table(settings, name: str) -> pd.DataFrame:
    return table_dataset(settings.lake.root / name).to_table().to_pandas()


def _tour(settings, tmp_path, monkeypatch, capsys) -> list[str]:
    monkeypatch.setenv("COLUMNS", "400")  # rich keeps whole titles on one line
    monkeypatch.chdir(tmp_path)
    assert cmd_tour(settings, argparse.Namespace(config=None)) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.slow
def test_tour_shows_what_each_dag_made(lake, tmp_path, monkeypatch, capsys):
    lines = _tour(lake, tmp_path, monkeypatch, capsys)
    out = "\n".join(lines)
    catalog = _table(lake, "embeddings/catalog")
    live = catalog[~catalog.is_deleted]
    titles = defaultdict(lambda: GONE)  # run-2 deleted a few items run-1 recommended
    titles.update(zip(live.item_id, [json.loads(p)["title"] for p in live.payload], strict=True))

    clusters = _table(lake, "dedup/clusters")
    sizes = clusters.cluster_id.value_counts()
    shown = re.search(r"cluster (\S+): (\d+) records", out).group(1)
    assert sizes[shown] == sizes.max()  # one of the largest
    members = sorted(clusters[clusters.cluster_id == shown].item_id)
    for item in members:
        assert any(item in line and titles[item] in line for line in lines), item
    a, b = members[:2]
    assert any(a in line and b in line and re.search(r"title \d\.\d\d", line) for line in lines)

    item = re.search(r"similar to (\S+):", out).group(1)
    recs = _table(lake, "recs/item_to_item")
    top = recs[(recs.item_id == item) & (recs["rank"] <= 5)].sort_values("rank")
    assert len(top) == 5
    for rank, rec in zip(top["rank"], top.rec_id, strict=True):
        row = rf"\W*{rank}\W+{rec}\W+{re.escape(titles[rec])}"
        assert any(re.match(row, line) for line in lines), (rank, rec)

    user = re.search(r"^\s*user (\S+)\s*$", out, re.M).group(1)
    given = _table(lake, "recs/user_to_item")
    given = given[given.user_id == user].sort_values("rank").item_id.tolist()
    events = _table(lake, "events/clean")
    latest = events[events.user_id == user].sort_values(["event_time", "item_id"], ascending=False)
    for n, (seen, rec) in enumerate(zip(latest.item_id[:5], given[:5], strict=True), 1):
        beside = [f"{titles[seen]} [{seen}]", f"{titles[rec]} [{rec}]"]
        row = [line for line in lines if re.match(rf"\W*{n}\W", line) and beside[0] in line]
        assert row and beside[1] in row[0], (n, beside)

    assert "dedup against planted_pairs.csv" in out
    report = Path(re.search(r"run run-2: (\S+\.html)", out).group(1)).resolve()
    assert report.is_file() and report.parent == lake.lake.root / "reports" / "runs"
    assert f"pipelines similar {item}" in out and f"pipelines recommend {user}" in out
    assert "--config" not in out  # the settings were ./pipelines.toml's


def test_local_config_copies_only_where_paths_mean_the_same(tmp_path):
    console = Console(file=io.StringIO())
    example = tmp_path / "pipelines.example.toml"
    example.write_text('[lake]\nroot = "lakehouse"\n')
    assert local_config(str(example), tmp_path, console) == ""
    assert (tmp_path / "pipelines.toml").read_text() == example.read_text()

    (tmp_path / "pipelines.toml").write_text('[lake]\nroot = "mine"\n')
    assert local_config(str(example), tmp_path, console) == f" --config {example}"
    assert (tmp_path / "pipelines.toml").read_text() == '[lake]\nroot = "mine"\n'

    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    assert local_config(str(example), elsewhere, console) == f" --config {example}"
    assert not (elsewhere / "pipelines.toml").exists()

"""`pipelines evaluate` on the sample catalog: planted duplicates as gold, events split
leave-last-out, baselines computed in the same run."""

from __future__ import annotations

import json
from itertools import combinations

import pandas as pd
import pytest
from helpers.pipeline_lake import PipelineLake

from pipelines.cli.demo import SAMPLE_TEMPLATE
from pipelines.cli.main import main
from pipelines.datasets.sample import SAMPLE_DEDUP_FIELDS, generate_sample
from pipelines.recs.config import DEFAULT_BLEND_GRID

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluate")
    files = generate_sample(folder / "data", n_items=80, n_users=12, n_events=300)
    catalog = pd.read_csv(files["catalog"], dtype=str, keep_default_na=False)
    sections = {
        "catalog": {"text_template": SAMPLE_TEMPLATE, "payload_columns": ["title"]},
        "events": {"source": str(files["events"]), "format": "csv"},
        "dedup": {"fields": SAMPLE_DEDUP_FIELDS},
    }
    built = PipelineLake(spark, folder, catalog, **sections)
    built.run("embed-catalog", "validate-catalog", "neighbors", "dedup")
    built.ctx.close()
    planted = pd.read_csv(files["duplicates"], dtype=str)
    pairs = [p for _, g in planted.groupby("group_id") for p in combinations(sorted(g.item_id), 2)]
    gold = folder / "gold.csv"
    pd.DataFrame(pairs, columns=["a", "b"]).to_csv(gold, index=False)
    return built, files, gold


def test_dedup_against_planted_pairs_finds_them_all(lake, capsys):
    built, _, gold = lake
    config = str(built.folder / "pipelines.toml")
    capsys.readouterr()
    assert main(["evaluate", "dedup", "--gold", str(gold), "--json", "--config", config]) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert report["pairwise_recall"] == 1.0 and report["bcubed_recall"] == 1.0
    assert 0 < report["pairwise_precision"] <= 1 and report["gold_pairs"] == len(pd.read_csv(gold))
    assert (built.settings.lake.root / "reports/evaluate/dedup.json").is_file()


def test_dedup_needs_gold_pairs(lake, capsys):
    config = str(lake[0].folder / "pipelines.toml")
    assert main(["evaluate", "dedup", "--config", config]) == 2
    assert "--gold" in capsys.readouterr().err


def test_recs_items_scores_three_methods_on_the_same_users(lake, capsys):
    built, files, _ = lake
    config = str(built.folder / "pipelines.toml")
    capsys.readouterr()
    assert main(["evaluate", "recs-items", "--json", "--config", config]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in rows] == ["item-to-item (embeddings)", "popularity", "random"]
    events = pd.read_csv(files["events"], dtype=str)
    events = events[pd.to_datetime(events.event_time, errors="coerce", utc=True).notna()]
    users = (events.dropna(subset=["user_id", "item_id"]).groupby("user_id").size() >= 2).sum()
    assert {r["users"] for r in rows} == {users}
    assert all(0 <= r["ndcg_at_k"] <= r["hr_at_k"] <= 1 for r in rows)


def test_recs_users_scores_every_weight_and_the_blend_tuned_without_the_test_events(
    lake, capsys, monkeypatch
):
    built = lake[0]
    built.run("embed-events")
    built.ctx.close()
    monkeypatch.setenv("PIPELINES__RECS__BLEND_MIN_USERS", "2")  # the sample has 12 users
    capsys.readouterr()
    config = str(built.folder / "pipelines.toml")
    assert main(["evaluate", "recs-users", "--json", "--config", config]) == 0
    rows = {r["method"]: r for r in json.loads(capsys.readouterr().out)}
    grid = [f"blend (w={w:g})" for w in DEFAULT_BLEND_GRID if 0 < w < 1]
    alone = ["co-occurrence alone (w=1)", "embeddings alone (w=0)"]
    tuned = [m for m in rows if m.startswith("tuned blend")]
    assert list(rows)[:-1] == ["popularity", *alone, *grid] and len(tuned) == 1
    assert len({r["users"] for r in rows.values()}) == 1
    report = json.loads((built.settings.lake.root / "reports/evaluate/recs_users.json").read_text())
    tuning = report["tuning"]
    assert tuning["blend_source"] == "validation"
    assert tuning["validation_users"] <= rows["popularity"]["users"]  # nested in the training part
    weight = tuning["cooccurrence_weight"]
    same = {1.0: alone[0], 0.0: alone[1]}.get(weight, f"blend (w={weight:g})")
    assert tuned == [f"tuned blend (w={weight:g}, validation)"]
    assert rows[tuned[0]]["hr_at_k"] == rows[same]["hr_at_k"]  # the same weight, the same lists

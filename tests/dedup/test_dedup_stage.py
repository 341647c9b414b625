"""neighbors -> dedup -> recs-items on the sample catalog with its planted duplicates."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers.data import make_catalog
from helpers.pipeline_lake import PipelineLake
from pyspark.sql import functions as F

from pipelines.cli.demo import SAMPLE_TEMPLATE
from pipelines.datasets.sample import SAMPLE_DEDUP_FIELDS, generate_sample
from pipelines.tables import DEDUP_CLUSTERS, DEDUP_PAIRS, ITEM_RECS, NEIGHBORS, OUTLIERS

pytestmark = pytest.mark.slow
STAGES = ("embed-catalog", "validate-catalog", "neighbors", "dedup", "recs-items")
CATALOG = {"text_template": SAMPLE_TEMPLATE, "payload_columns": ["title"]}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    files = generate_sample(tmp_path_factory.mktemp("data"), n_items=150, n_users=5, n_events=20)
    catalog = pd.read_csv(files["catalog"], dtype=str, keep_default_na=False)
    return catalog, pd.read_csv(files["duplicates"], dtype=str)


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory, sample):
    lake = PipelineLake(
        spark, tmp_path_factory.mktemp("lake"), sample[0], catalog=CATALOG,
        dedup={"fields": SAMPLE_DEDUP_FIELDS},
    )  # fmt: skip
    lake.results = {result.stage: result for result in lake.run(*STAGES)}
    return lake


def _clusters(lake) -> pd.DataFrame:
    return lake.ctx.lake.read(DEDUP_CLUSTERS).toPandas().set_index("item_id")


def test_planted_duplicates_form_one_cluster_each(built, sample):
    clusters = _clusters(built)
    planted = sample[1]
    assert planted.item_id.isin(clusters.index).all()
    per_group = planted.assign(cluster=clusters.cluster_id.reindex(planted.item_id).to_numpy())
    assert (per_group.groupby("group_id").cluster.nunique() == 1).all()
    assert per_group.groupby("group_id").cluster.first().is_unique
    assert (clusters.groupby("cluster_id").is_canonical.sum() == 1).all()


def test_pairs_table_explains_each_decision(built):
    pairs = built.ctx.lake.read(DEDUP_PAIRS).toPandas()
    assert (pairs.a < pairs.b).all() and not pairs.duplicated(["a", "b"]).any()
    assert set(pairs.decision) <= {"match", "no_match"}
    matched = pairs[pairs.decision == "match"]
    assert (matched.match_score >= built.settings.dedup.threshold()).all()
    assert (
        (pairs.match_score >= built.settings.dedup.threshold()) == (pairs.decision == "match")
    ).all()
    assert (pairs.cosine >= built.settings.dedup.cosine_threshold).all()
    for column in ("field_scores", "field_levels", "field_weights"):
        assert all(set(row) == set(SAMPLE_DEDUP_FIELDS) for row in pairs[column])
    # the match weight is the prior plus the fields' weights, the same prior for every pair
    prior = pairs.match_weight - pairs.field_weights.map(lambda w: sum(w.values()))
    assert prior.max() - prior.min() < 1e-6


def test_result_reports_cluster_sizes_and_the_model(built):
    result = built.results["dedup"]
    sizes = result.details["cluster_sizes"]
    assert sum(int(size) * n for size, n in sizes.items()) == result.details["clustered_items"]
    model = json.loads((built.ctx.reports_dir / "dedup" / "model.json").read_text())
    assert [f["name"] for f in model["fields"]] == SAMPLE_DEDUP_FIELDS
    assert model["m_from"] == "EM" and 0 < model["match_share"] < 0.5


def test_no_recommendation_is_the_item_or_in_its_cluster(built):
    recs = built.ctx.lake.read(ITEM_RECS).toPandas()
    cluster = _clusters(built).cluster_id
    assert not (recs.item_id == recs.rec_id).any()
    own, theirs = recs.item_id.map(cluster), recs.rec_id.map(cluster)
    assert not ((own == theirs) & own.notna()).any()
    # 150 items, clusters of 3 at most: every item gets its full top-N
    assert (recs.groupby("item_id").size() == built.settings.recs.items_top_n).all()
    assert recs.item_id.nunique() == 150
    assert (recs.groupby("item_id")["rank"].min() == 1).all()


def test_graph_and_outliers_cover_live_items(built):
    graph = built.ctx.lake.read(NEIGHBORS)
    k = built.settings.neighbors.k
    assert graph.groupBy("item_id").count().filter(F.col("count") != k).count() == 0
    outliers = built.ctx.lake.read(OUTLIERS).toPandas()
    best = graph.filter("rank = 1").toPandas().set_index("item_id").score
    assert (outliers.best_score < best.median()).all()


def test_cluster_ids_survive_a_rerun_with_one_new_member(built, sample, tmp_path):
    lake = built.copy_to(tmp_path / "copy")
    before = _clusters(lake)
    member = sample[1].item_id.iloc[0]
    row = sample[0][sample[0].item_id == member].iloc[0].copy()
    row["item_id"], row["title"] = "P99999", row["title"] + "!"
    lake.write_source(pd.concat([sample[0], row.to_frame().T]))
    lake.run(*STAGES)
    after = _clusters(lake)
    assert after.loc["P99999", "cluster_id"] == before.loc[member, "cluster_id"]
    common = before.index.intersection(after.index)
    assert (after.loc[common, "cluster_id"] == before.loc[common, "cluster_id"]).all()


def test_catalog_without_duplicates_makes_no_clusters(spark, tmp_path):
    lake = PipelineLake(spark, tmp_path, make_catalog(7))  # every kind and colour differ
    lake.run("embed-catalog", "validate-catalog", "neighbors", "dedup")
    assert lake.ctx.lake.read(DEDUP_CLUSTERS).count() == 0


def test_similar_serves_precomputed_recs_without_duplicates(built, sample, tmp_path):
    from pipelines.cli.client import CatalogClient

    lake = built.copy_to(tmp_path / "served")
    lake.run("validate-catalog", "publish-catalog")
    member = sample[1].item_id.iloc[0]
    recs = lake.ctx.lake.read(ITEM_RECS).toPandas()
    expected = list(recs[recs.item_id == member].sort_values("rank").rec_id[:5])
    client = CatalogClient(lake.store, lake.settings)
    served = client.similar(member, k=5)
    assert [r.item_id for r in served] == expected
    assert all(r.payload.get("item_id") == r.item_id for r in served)
    live = client.similar(member, k=lake.settings.recs.items_top_n + 5)  # more than stored
    assert len(live) == lake.settings.recs.items_top_n + 5
    assert member not in [r.item_id for r in live]


def test_explain_pair_prints_every_field(built, sample, capsys):
    from pipelines.cli.main import main

    first, second = sample[1].item_id.iloc[0], sample[1].item_id.iloc[1]
    config = str(built.folder / "pipelines.toml")
    assert main(["explain-pair", second, first, "--config", config]) == 0
    out = capsys.readouterr().out
    for field in ["prior", *SAMPLE_DEDUP_FIELDS, "total: match"]:
        assert field in out
    assert main(["explain-pair", first, second, "--json", "--config", config]) == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    assert [s["step"] for s in steps[1:-1]] == SAMPLE_DEDUP_FIELDS
    assert abs(steps[-2]["running total"] - steps[-1]["weight"]) < 1e-6
    assert main(["explain-pair", first, "NO-SUCH-ITEM", "--config", config]) == 2
    assert "dedup.cosine_threshold" in capsys.readouterr().err


def test_dedup_train_takes_m_from_labelled_pairs(built, sample, tmp_path):
    from pipelines.cli.main import main
    from pipelines.datasets.sample import write_planted_pairs

    lake = built.copy_to(tmp_path / "trained")
    planted = tmp_path / "planted.csv"
    sample[1].to_csv(planted, index=False)
    gold = write_planted_pairs(planted, tmp_path / "gold.csv")
    config = str(lake.folder / "pipelines.toml")
    assert main(["dedup", "train", "--gold", str(gold), "--config", config]) == 0
    model = json.loads((lake.ctx.reports_dir / "dedup" / "model.json").read_text())
    assert model["m_from"] == "labelled pairs"
    clusters = _clusters(lake)
    assert sample[1].item_id.isin(clusters.index).all()

"""Events ingestion, user vectors, co-occurrence and user recs on a small catalog."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from helpers.data import make_catalog
from helpers.pipeline_lake import PipelineLake
from pyspark.sql import functions as F

from pipelines.errors import PipelineError
from pipelines.methods.user_vectors import blend_text, decay_weights, weighted_unit_mean
from pipelines.publish.errors import NotValidatedError
from pipelines.tables import (
    COOCCURRENCE,
    EVENTS,
    EVENTS_QUARANTINE,
    TABLES,
    USER_EMBEDDINGS,
    USER_RECS,
)
from pipelines.validate.errors import ValidationFailed
from pipelines.vectorstore.base import point_id

pytestmark = pytest.mark.slow
DAY = 86_400
QUERY = "waterproof hiking jacket"


def test_decay_and_type_weights_on_a_hand_computed_case():
    # buy (weight 3) today, view (weight 1) 30 days earlier, half-life 30 days:
    # weights 3 * 0.5**0 = 3 and 1 * 0.5**1 = 0.5
    weights = decay_weights(np.array([1.0, 3.0]), np.array([0.0, 30 * DAY]), 30.0)
    np.testing.assert_allclose(weights, [0.5, 3.0])
    # mean of (1, 0) and (0, 1) with those weights, normalised: (0.5, 3) / sqrt(9.25)
    mean = weighted_unit_mean(np.eye(2), weights)
    np.testing.assert_allclose(mean, np.array([0.5, 3.0]) / np.sqrt(9.25), rtol=1e-6)


def _events() -> pd.DataFrame:
    rows = []
    for user in range(6):  # users 0-2 like items 1-5, users 3-5 items 20-24
        base = 1 if user < 3 else 20
        for n in range(5):
            day = 1 + user + n
            rows.append((f"U{user}", f"I{base + n:04d}", "view", f"2026-01-{day:02d}T10:00:00Z"))
    bad = [
        ("", "I0001", "view", "2026-01-02T10:00:00Z"),  # null_user
        ("U9", "", "view", "2026-01-02T10:00:00Z"),  # null_item
        ("U9", "I9999", "view", "2026-01-02T10:00:00Z"),  # unknown_item
        ("U9", "I0001", "view", "yesterday-ish"),  # bad_timestamp
        ("U9", "I0001", "view", "2999-01-01T00:00:00Z"),  # future_timestamp
    ]
    frame = pd.DataFrame(rows + bad, columns=["user_id", "item_id", "event_type", "event_time"])
    frame["query"] = ""
    frame.loc[(frame.user_id == "U3") & (frame.item_id == "I0024"), "query"] = QUERY
    return frame


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("users")
    events = folder / "events.csv"
    _events().to_csv(events, index=False)
    sections = {
        "events": {"source": "events.csv", "format": "csv", "text_column": "query"},
        "users": {"event_weights": {"buy": 3.0}},
    }
    built = PipelineLake(spark, folder, make_catalog(40), **sections)
    built.run("embed-catalog", "validate-catalog")
    built.ctx.close()
    return built


def _run(lake, *stages, interval=None, full_refresh=False):
    lake.ctx.interval = interval
    return lake.run(*stages, full_refresh=full_refresh)


def test_bad_events_are_quarantined_with_their_reasons(lake):
    [result] = _run(lake, "embed-events")
    bad = lake.ctx.lake.read(EVENTS_QUARANTINE).collect()  # year 2999 is past pandas' range
    assert sorted(r.reason for r in bad) == [
        "bad_timestamp", "future_timestamp", "null_item", "null_user", "unknown_item",
    ]  # fmt: skip
    assert lake.ctx.lake.read(EVENTS).count() == 30
    assert result.quarantined == 5 and result.embedded == 6


def test_user_vector_is_the_decayed_weighted_mean_of_item_vectors(lake):
    _run(lake, "embed-events")
    items = lake.ctx.lake.read("embeddings/catalog").toPandas().set_index("item_id").vector
    user = lake.ctx.lake.read(USER_EMBEDDINGS).filter(F.col("user_id") == "U0").first()
    days = np.arange(5)  # U0 saw I0001..I0005 on five consecutive days, all views
    weights = 0.5 ** ((days.max() - days) / 30.0)
    vectors = np.stack([items[f"I{n:04d}"] for n in range(1, 6)])
    np.testing.assert_allclose(user.vector, weighted_unit_mean(vectors, weights), atol=1e-5)
    assert user.n_events == 5 and user.model_id.endswith("@torch")


def test_event_text_is_embedded_and_blended_in(lake, model_path):
    from pipelines.encoder import BackendSpec, build_backend

    _run(lake, "embed-events")
    items = lake.ctx.lake.read("embeddings/catalog").toPandas().set_index("item_id").vector
    user = lake.ctx.lake.read(USER_EMBEDDINGS).filter(F.col("user_id") == "U3").first()
    days = np.arange(5)
    weights = 0.5 ** ((days.max() - days) / 30.0)
    item_mean = weighted_unit_mean(np.stack([items[f"I{n:04d}"] for n in range(20, 25)]), weights)
    [text] = build_backend(BackendSpec("torch", model_path)).encode([QUERY])
    expected = blend_text(item_mean, text, lake.settings.users.text_weight)  # one text: its own
    np.testing.assert_allclose(user.vector, expected, atol=1e-4)
    assert not np.allclose(user.vector, item_mean, atol=1e-3)


def test_rerunning_an_interval_changes_nothing(lake):
    interval = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 4, tzinfo=UTC))
    _run(lake, "embed-events")  # every event first, then the interval twice
    _run(lake, "embed-events", interval=interval)
    read = lake.ctx.lake.read
    first = (read(EVENTS).drop("run_id").toPandas(), read(USER_EMBEDDINGS).toPandas())
    quarantined = read(EVENTS_QUARANTINE).count()
    _run(lake, "embed-events", interval=interval)
    again = (read(EVENTS).drop("run_id").toPandas(), read(USER_EMBEDDINGS).toPandas())
    key = ["user_id", "item_id", "event_time"]
    pd.testing.assert_frame_equal(
        first[0].sort_values(key).reset_index(drop=True),
        again[0].sort_values(key).reset_index(drop=True),
    )
    assert read(EVENTS_QUARANTINE).count() == quarantined
    vectors = {r.user_id: r.vector for r in again[1].itertuples()}
    assert all(np.allclose(vectors[r.user_id], r.vector) for r in first[1].itertuples())
    assert len(first[0]) == 30  # events outside the interval were kept
    assert len(again[1]) == 6  # the MERGE touched U0-U2 only; U3-U5 were kept
    users = {v.run_id for v in lake.ctx.lake.history(USER_EMBEDDINGS)[:2]}
    assert len(users) == 2  # each interval run committed its own version


def test_recommendations_skip_seen_items_and_reach_cold_items(lake):
    _run(lake, "embed-events", "cooccurrence", "recs-users")
    recs = lake.ctx.lake.read(USER_RECS).toPandas()
    seen = lake.ctx.lake.read(EVENTS).select("user_id", "item_id").toPandas()
    overlap = recs.merge(seen, on=["user_id", "item_id"])
    assert overlap.empty, overlap
    assert (recs.groupby("user_id").size() == lake.settings.recs.users_top_n).all()
    with_events = set(seen.item_id)
    assert (~recs.item_id.isin(with_events)).any()  # items nobody touched are recommended
    cooc = lake.ctx.lake.read(COOCCURRENCE).toPandas()
    # I0001 shares users only with I0002..I0005, never with the other group
    assert set(cooc[cooc.item_id == "I0001"].neighbor_id) == {f"I{n:04d}" for n in range(2, 6)}


def test_every_table_written_holds_the_columns_its_contract_names(lake, tmp_path):
    copy = lake.copy_to(tmp_path / "copy")  # the module's lake keeps its unpublished catalog
    _run(copy, "embed-events", "validate-users", "cooccurrence", "neighbors", "dedup")
    _run(copy, "recs-items", "recs-users", "publish-catalog")
    written = [table for table in TABLES if copy.ctx.lake.exists(table)]
    assert len(written) >= 11, [t.name for t in written]
    missing = {
        table.name: sorted(set(table.columns) - set(copy.ctx.lake.read(table).columns))
        for table in written
    }
    copy.ctx.close()
    assert not any(missing.values()), missing


def test_duplicates_of_seen_items_count_as_seen(spark):
    from pipelines.methods.recommend import seen_items

    events = spark.createDataFrame([("U1", "A"), ("U2", "C")], "user_id string, item_id string")
    clusters = spark.createDataFrame(
        [("A", "dup-1"), ("B", "dup-1"), ("X", "dup-2")], "item_id string, cluster_id string"
    )
    seen = {tuple(r) for r in seen_items(events, clusters).collect()}
    assert seen == {("U1", "A"), ("U1", "B"), ("U2", "C")}


def test_cli_recommend_serves_the_users_row(lake, capsys):
    import json

    from pipelines.cli.main import main

    _run(lake, "embed-events", "cooccurrence", "recs-users")
    lake.ctx.close()
    config = str(lake.folder / "pipelines.toml")
    capsys.readouterr()
    assert main(["recommend", "U0", "--k", "3", "--json", "--config", config]) == 0
    served = [r["item_id"] for r in json.loads(capsys.readouterr().out)]
    recs = lake.ctx.lake.read(USER_RECS).filter(F.col("user_id") == "U0").toPandas()
    assert served == list(recs.sort_values("rank").item_id[:3])
    assert main(["recommend", "NOBODY", "--config", config]) == 2
    assert "NOBODY" in capsys.readouterr().err


def _served_users(lake) -> tuple[str | None, dict[str, list[float]]]:
    target = lake.store.alias_target("users")
    if target is None:
        return None, {}
    ids = [point_id(f"U{n}") for n in range(6)]
    return target, lake.store.vectors("users", ids)


def test_user_alias_moves_only_on_a_valid_run(lake):
    [*_, published] = _run(lake, "embed-events", "validate-users", "publish-users")
    first, vectors = _served_users(lake)
    assert published.details["mode"] == "full" and first.startswith("users__")
    assert len(vectors) == 6 and lake.store.count("users") == 6
    _, payload = next(iter(lake.store.scroll("users", ["user_id", "n_events"])))
    assert payload["user_id"].startswith("U") and payload["n_events"] == 5
    _run(lake, "reconcile-users")  # Qdrant matches the table: does not raise

    table = lake.ctx.lake.read(USER_EMBEDDINGS)
    nan = F.array_repeat(F.lit(float("nan")).cast("float"), 384)
    broken = table.withColumn(
        "vector", F.when(F.col("user_id") == "U1", nan).otherwise(F.col("vector"))
    )
    lake.rewrite(broken.localCheckpoint(), USER_EMBEDDINGS, "broken")
    with pytest.raises(ValidationFailed, match="all_finite"):
        _run(lake, "validate-users")
    with pytest.raises(NotValidatedError, match=f"{USER_EMBEDDINGS}.*failed; nothing is published"):
        _run(lake, "publish-users", full_refresh=True)
    assert _served_users(lake) == (first, vectors)  # same collection, same vectors

    _run(lake, "embed-events", "validate-users")  # a valid table again
    _run(lake, "publish-users", full_refresh=True)
    moved, again = _served_users(lake)
    assert moved != first and moved.startswith("users__") and lake.store.count("users") == 6
    assert all(np.allclose(again[pid], vectors[pid], atol=1e-6) for pid in vectors)


def test_services_search_the_catalog_with_a_served_user_vector(lake):
    from pipelines.cli.client import CatalogClient

    _run(lake, "embed-events", "validate-users", "publish-users")
    client = CatalogClient(lake.store, lake.settings)
    with pytest.raises(PipelineError, match="alias 'catalog' does not exist"):
        client.near_user("U0")
    _run(lake, "validate-catalog", "publish-catalog")
    near = client.near_user("U0", k=5)
    read = lake.ctx.lake.read
    items = read("embeddings/catalog").toPandas().set_index("item_id").vector
    user = read(USER_EMBEDDINGS).filter(F.col("user_id") == "U0").first().vector
    scores = np.stack(items.to_numpy()) @ np.asarray(user)  # brute force over the table
    expected = items.index[np.argsort(-scores)[:5]]
    assert [r.item_id for r in near] == list(expected)
    np.testing.assert_allclose([r.score for r in near], np.sort(scores)[::-1][:5], atol=1e-4)
    with pytest.raises(PipelineError, match="'NOBODY' is not in alias 'users'"):
        client.near_user("NOBODY")

"""The recs-users stage records the blend weight it used and where it came from."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers.data import make_catalog
from helpers.pipeline_lake import PipelineLake

from pipelines.recs.config import DEFAULT_BLEND_GRID, RecsConfig
from pipelines.tables import USER_RECS

pytestmark = pytest.mark.slow
USERS = 24


def _events() -> pd.DataFrame:
    rows = [
        (f"U{u}", f"I{(3 * u + n) % 40 + 1:04d}", "view", f"2026-01-{n + 1:02d}T10:00:00Z")
        for u in range(USERS)
        for n in range(4)
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "event_time"])


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("recs_users")
    _events().to_csv(folder / "events.csv", index=False)
    built = PipelineLake(
        spark, folder, make_catalog(40), events={"source": "events.csv", "format": "csv"}
    )
    built.run("embed-catalog", "validate-catalog", "embed-events", "cooccurrence")
    return built


def _recs_users(lake, **recs) -> dict:
    lake.ctx.settings = lake.settings.model_copy(update={"recs": RecsConfig(**recs)})
    [result] = lake.run("recs-users")
    recs_table = lake.ctx.lake.read(USER_RECS).toPandas()
    assert recs_table.user_id.nunique() == USERS
    return result.details


def test_the_weight_is_tuned_on_the_users_events_by_default(lake):
    details = _recs_users(lake)
    assert details["blend_source"] == "validation"
    assert details["validation_users"] == USERS
    assert list(details["validation_grid"]) == [f"{w:g}" for w in DEFAULT_BLEND_GRID]
    chosen = details["validation_grid"][f"{details['cooccurrence_weight']:g}"]
    best = max(details["validation_grid"].values())
    assert details["validation_hr_at_10"] == chosen
    assert chosen >= best - details["validation_standard_error"] - 1e-4  # 4 decimals shown


def test_a_configured_weight_overrides_tuning(lake):
    details = _recs_users(lake, cooccurrence_weight=0.4)
    assert (details["cooccurrence_weight"], details["blend_source"]) == (0.4, "config")
    assert details["validation_grid"] == {}


def test_too_few_users_fall_back_to_the_default_weight(lake):
    details = _recs_users(lake, blend_min_users=USERS + 1)
    assert details["cooccurrence_weight"] == 0.9
    assert details["blend_source"] == "default (too few users to tune)"


def test_items_scored_in_several_blocks_give_the_recs_of_one_block(lake):
    def recs(**blocks) -> pd.DataFrame:
        _recs_users(lake, cooccurrence_weight=0.4, **blocks)
        table = lake.ctx.lake.read(USER_RECS).toPandas()
        return table.sort_values(["user_id", "rank"]).reset_index(drop=True)

    one, several = recs(item_block_rows=40), recs(item_block_rows=7)  # 40 items: 6 blocks
    assert several[["user_id", "rank", "item_id"]].equals(one[["user_id", "rank", "item_id"]])
    assert (several["score"] - one["score"]).abs().max() < 1e-5

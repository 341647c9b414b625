"""[recs] settings: the blend weight is tuned unless fixed, from a grid checked on load."""

from __future__ import annotations

import pytest
from helpers.data import config_error

from pipelines.config import load_settings
from pipelines.errors import ConfigError
from pipelines.recs.config import DEFAULT_BLEND_GRID, RecsConfig


def test_the_blend_is_tuned_by_default_on_the_default_grid():
    cfg = RecsConfig()
    assert cfg.cooccurrence_weight is None
    assert cfg.blend_grid == DEFAULT_BLEND_GRID == sorted(set(DEFAULT_BLEND_GRID))
    assert RecsConfig(cooccurrence_weight=0.5).cooccurrence_weight == 0.5


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ("[]", "at least one weight"),
        ("[0.5, 1.5]", "[1.5] do not"),
        ("[0.9, 0.5]", "ascending without repeats, e.g. [0.5, 0.9]"),
        ("[0.5, 0.5]", "ascending without repeats"),
    ],
)
def test_a_bad_grid_is_refused_naming_the_key(tmp_path, grid, message):
    error = config_error(tmp_path, f"[recs]\nblend_grid = {grid}\n")
    assert "recs.blend_grid" in error and message in error


def test_user_recs_read_items_in_blocks_of_a_configured_size(tmp_path):
    assert RecsConfig().item_block_rows == 16384
    config = tmp_path / "pipelines.toml"
    config.write_text("[recs]\nitem_block_rows = 0\n")
    with pytest.raises(ConfigError, match="recs.item_block_rows"):
        load_settings(config)

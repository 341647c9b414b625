"""[recs] settings: the blend weight is tuned unless fixed, from a grid checked on load."""

from __future__ import annotations

import pytest

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
    config = tmp_path / "pipelines.toml"
    config.write_text(f"[recs]\nblend_grid = {grid}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert "recs.blend_grid" in str(caught.value)
    assert message in str(caught.value)

"""Configuration errors name the real key and variable, one line per key."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import load_settings
from pipelines.errors import ConfigError


def _config_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    return str(err.value)


def _lines_about(message: str, key: str) -> list[str]:
    return [line for line in message.splitlines() if key in line]


@pytest.mark.scenario(
    "A wrong-type value in the environment (PIPELINES__MODEL__BATCH_SIZE=0)",
    "one line naming model.batch_size and PIPELINES__MODEL__BATCH_SIZE (exit 2)",
)
def test_wrong_type_in_environment_names_the_real_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES__MODEL__BATCH_SIZE", "0")
    message = _config_error(tmp_path, "")
    [line] = _lines_about(message, "batch_size")
    assert "model.batch_size = '0'" in line
    assert "PIPELINES__MODEL__BATCH_SIZE)" in line
    assert "constrained" not in message.lower() and "literal[" not in message


def test_union_members_merge_into_one_line(tmp_path):
    message = _config_error(tmp_path, '[model]\nbatch_size = "fast"\n')
    [line] = _lines_about(message, "batch_size")
    assert "model.batch_size = 'fast':" in line
    assert "integer" in line and "'auto'" in line


def test_each_key_gets_one_line_with_its_index_or_entry(tmp_path):
    text = (
        '[model]\nbatch_size = "fast"\nbackend = "turbo"\n[catalog]\npayload_columns = ["a", 3]\n'
        '[users]\nevent_weights = { view = "x" }\n'
    )
    message = _config_error(tmp_path, text)
    assert len(message.splitlines()) == 5  # the heading and one line per key
    assert "catalog.payload_columns.1 = 3:" in message
    assert "users.event_weights.view = 'x':" in message


def test_unknown_key_suggests_the_known_one(tmp_path):
    message = _config_error(tmp_path, '[lake]\nrooot = "x"\n')
    assert "lake.rooot: unknown key" in message and "did you mean lake.root?" in message


def test_unparseable_environment_value_names_the_section(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES__SPARK__CONF", "not-json")
    message = _config_error(tmp_path, "")
    assert "PIPELINES__SPARK__" in message and "JSON" in message
    assert "not-json" not in message


def test_deadline_must_be_at_least_a_second(tmp_path):
    assert load_settings(_write_empty(tmp_path)).publish.deadline_s == 1800
    message = _config_error(tmp_path, "[publish]\ndeadline_s = 0.5\n")
    assert "publish.deadline_s = 0.5" in message


def _write_empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.toml"
    path.write_text("")
    return path

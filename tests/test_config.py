import re
from pathlib import Path

import pytest

from pipelines.config import Settings, load_settings
from pipelines.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.lake.root == tmp_path / "lakehouse"
    assert settings.lake.engine == "delta-rs"
    assert settings.qdrant_path == tmp_path / "lakehouse" / "qdrant"
    assert (Path(settings.model.name_or_path) / "config.json").is_file()


def test_relative_paths_are_relative_to_the_file(tmp_path):
    sub = tmp_path / "conf"
    sub.mkdir()
    settings = load_settings(_write(sub, '[lake]\nroot = "lake"\n[catalog]\nsource = "c.csv"\n'))
    assert settings.lake.root == sub / "lake"
    assert settings.catalog.source == sub / "c.csv"


def test_bad_value_names_key_value_and_allowed(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path, '[model]\nbackend = "turbo"\n'))
    message = str(err.value)
    assert "model.backend" in message and "'turbo'" in message and "onnx-int8" in message
    assert "PIPELINES__MODEL__BACKEND" in message


def test_unknown_key_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"lake\.rooot: unknown key"):
        load_settings(_write(tmp_path, '[lake]\nrooot = "x"\n'))


def test_environment_overrides_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES__MODEL__BATCH_SIZE", "17")
    monkeypatch.setenv("PIPELINES__LAKE__ENGINE", "delta-spark")
    settings = load_settings(_write(tmp_path, "[model]\nbatch_size = 8\n"))
    assert settings.model.batch_size == 17
    assert settings.lake.engine == "delta-spark"


def test_batch_size_is_auto_or_a_positive_number(tmp_path):
    assert load_settings(_write(tmp_path, "")).model.batch_size == "auto"
    with pytest.raises(ConfigError, match=r"model\.batch_size"):
        load_settings(_write(tmp_path, '[model]\nbatch_size = "fast"\n'))


def test_bad_environment_value_names_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES__MODEL__BATCH_SIZE", "0")
    with pytest.raises(ConfigError, match="PIPELINES__MODEL__BATCH_SIZE"):
        load_settings(_write(tmp_path, ""))


def test_template_with_format_spec_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match=r"catalog\.text_template.*plain column names"):
        load_settings(_write(tmp_path, '[catalog]\ntext_template = "{price:.2f}"\n'))


def test_users_alias_must_differ_from_the_catalog_alias(tmp_path):
    with pytest.raises(ConfigError, match=r"publish.*users_alias.*'catalog'/'catalog'"):
        load_settings(_write(tmp_path, '[publish]\nusers_alias = "catalog"\n'))


def test_model_must_be_a_local_folder(tmp_path):
    with pytest.raises(ConfigError, match="not a local sentence-transformers folder"):
        load_settings(_write(tmp_path, '[model]\nname_or_path = "sentence-transformers/x"\n'))


def test_missing_explicit_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(_write(tmp_path, "[lake\n"))


def test_api_key_is_not_shown(tmp_path):
    settings = load_settings(_write(tmp_path, '[qdrant]\napi_key = "s3cret-key"\n'))
    assert "s3cret-key" not in repr(settings)
    assert settings.qdrant.api_key.get_secret_value() == "s3cret-key"


def test_example_config_is_valid():
    example = Path(__file__).parents[1] / "pipelines.example.toml"
    settings = load_settings(example)
    assert settings.catalog.text_template


def test_the_qdrant_key_can_come_from_a_secret_file(tmp_path, monkeypatch):
    secret = tmp_path / "qdrant_key"
    secret.write_text("s3cr3t-key\n")
    monkeypatch.setenv("PIPELINES__QDRANT__API_KEY_FILE", str(secret))
    assert load_settings(None).qdrant.key() == "s3cr3t-key"
    secret.unlink()
    with pytest.raises(ConfigError, match=r"qdrant.api_key_file .*qdrant_key cannot be read"):
        load_settings(None).qdrant.key()


def test_dedup_fields_load_as_a_list_or_as_a_table_of_weights(tmp_path):
    listed = load_settings(_write(tmp_path, '[dedup]\nfields = ["title", "brand"]\n')).dedup
    assert listed.learned and listed.field_names() == ["title", "brand"]
    assert listed.threshold() == 0.9 and listed.strong_threshold() == 0.999
    table = load_settings(_write(tmp_path, "[dedup]\nfields = { title = 2.0, brand = 1 }\n")).dedup
    assert not table.learned and table.weights() == {"title": 2.0, "brand": 1.0}
    assert table.threshold() == 0.75
    default = load_settings(_write(tmp_path, "[lake]\n")).dedup
    assert default.learned and default.field_names() == ["text"]


@pytest.mark.parametrize(
    "fields",
    [
        '"title"',
        "[1, 2]",
        '["title", "title"]',
        '["title", ""]',
        "{ title = -1 }",
        "{ title = 'x' }",
    ],
)
def test_a_bad_dedup_fields_value_names_the_key(tmp_path, fields):
    with pytest.raises(ConfigError, match=r"dedup\.fields"):
        load_settings(_write(tmp_path, f"[dedup]\nfields = {fields}\n"))


def test_dedup_gold_pairs_is_relative_to_the_file(tmp_path):
    settings = load_settings(_write(tmp_path, '[dedup]\nfields = ["a"]\ngold_pairs = "g.csv"\n'))
    assert settings.dedup.gold_pairs == tmp_path / "g.csv"


def test_the_example_names_every_key_of_every_section():
    example = (Path(__file__).parents[1] / "pipelines.example.toml").read_text()
    section, named = None, set()
    for line in example.splitlines():
        header = re.match(r"\[(\w+)\]", line)
        key = re.match(r"#?\s*(\w+)\s*=", line)
        if header:
            section = header.group(1)
        elif key and section:
            named.add(f"{section}.{key.group(1)}")
    keys = {f"{name}.{key}" for name, f in Settings.model_fields.items()
            for key in f.annotation.model_fields}  # fmt: skip
    assert sorted(keys - named) == []

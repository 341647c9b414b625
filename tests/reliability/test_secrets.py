"""A secret never reaches a message: config errors, store descriptions, store errors."""

from __future__ import annotations

import traceback
from pathlib import Path

import httpx
import pytest
from qdrant_client.http.exceptions import UnexpectedResponse

from pipelines.config import load_settings
from pipelines.errors import ConfigError
from pipelines.runtime.redact import is_secret_name, redact, redact_url
from pipelines.vectorstore import QdrantStore, RetryPolicy
from pipelines.vectorstore.errors import VectorStoreError

KEY = "sk-live-0123456789"


def _config_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    return str(err.value)


@pytest.mark.parametrize(
    "name", ["api_key", "apikey", "API-KEY", "token", "client_secret", "password", "passwd",
             "credentials", "private_key", "auth", "fs.s3a.secret.key", "X-Auth-Token"],
)  # fmt: skip
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["url", "path", "batch_size", "author", "keep_collections"])
def test_ordinary_names(name):
    assert not is_secret_name(name)


def test_redact_url_hides_user_info_and_secret_parameters():
    url = "https://admin:hunter2@qdrant.example:6333/base?api_key=abc&timeout=5&token=t0k"
    shown = redact_url(url)
    assert shown == "https://***@qdrant.example:6333/base?api_key=***&timeout=5&token=***"
    assert redact_url("http://localhost:6333") == "http://localhost:6333"


def test_redact_hides_secret_names_urls_and_nested_secrets():
    assert redact("api_key", KEY) == "***"
    assert redact("url", "http://u:p@h") == "'http://***@h'"
    assert KEY not in redact("qdrant", {"url": "x", "api_key": KEY})
    assert redact("batch_size", 0) == "0"


def test_unknown_key_in_file_never_shows_its_value(tmp_path):
    message = _config_error(tmp_path, f'[qdrant]\napikey = "{KEY}"\n')
    assert KEY not in message
    assert "qdrant.apikey: unknown key" in message and "did you mean qdrant.api_key?" in message


@pytest.mark.scenario(
    "A misspelled secret key (PIPELINES__QDRANT__APIKEY=sk-...)",
    "the unknown key is named with the closest real one; its value is never printed",
)
def test_unknown_variable_never_shows_its_value(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES__QDRANT__APIKEY", KEY)
    message = _config_error(tmp_path, "")
    assert KEY not in message
    assert "PIPELINES__QDRANT__APIKEY" in message and "unknown" in message


def test_unknown_innocent_key_is_not_shown_either(tmp_path):
    message = _config_error(tmp_path, '[lake]\nrooot = "my-lake-folder"\n')
    assert "my-lake-folder" not in message


def test_secret_named_key_with_a_wrong_value_is_hidden(tmp_path):
    message = _config_error(tmp_path, "[qdrant]\napi_key = 98765432109\n")
    assert "98765432109" not in message and "qdrant.api_key = ***" in message


def test_secret_named_dict_entry_is_hidden(tmp_path):
    text = '[spark]\nconf = { "spark.hadoop.fs.s3a.secret.key" = 98765432109 }\n'
    message = _config_error(tmp_path, text)
    assert "98765432109" not in message and "spark.conf.spark.hadoop.fs.s3a.secret.key" in message


def test_credentials_inside_a_url_value_are_hidden(tmp_path):
    message = _config_error(tmp_path, '[qdrant]\nurl = ["http://admin:hunter2@qdrant:6333"]\n')
    assert "hunter2" not in message and "http://***@qdrant:6333" in message


def _store(**config) -> QdrantStore:
    url = "https://admin:hunter2@127.0.0.1:1/?api_key=abc"
    settings = RetryPolicy(retry_attempts=2, retry_wait_s=0, retry_max_wait_s=0, **config)
    return QdrantStore(settings, url, KEY, None)


def test_store_description_hides_url_credentials():
    store = _store()
    assert "hunter2" not in store.description and "abc" not in store.description
    assert store.description == "Qdrant server https://***@127.0.0.1:1/?api_key=***"


class _LeakyClient:
    """A client whose errors repeat the key and the URL, as httpx errors can."""

    def __init__(self, error: Exception):
        self.error = error

    def get_collections(self):
        raise self.error

    def close(self):
        pass


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError(f"refused http://admin:hunter2@h/?api_key={KEY}"),
        UnexpectedResponse(400, "Bad Request", f"bad header api-key: {KEY}".encode(), None),
        ValueError(f"header value {KEY!r} is not allowed"),
        RuntimeError(f"unexpected: {KEY}"),
    ],
    ids=["transient", "http-400", "value-error", "unexpected"],
)
@pytest.mark.scenario(
    "A store error repeats the API key or URL credentials",
    "they are printed as ***, in the message and in any traceback",
)
def test_store_errors_never_carry_the_key(error):
    store = _store()
    store.client = _LeakyClient(error)
    with pytest.raises(VectorStoreError) as err:
        store.collections()
    printed = "".join(traceback.format_exception(err.value))
    assert KEY not in printed and "hunter2" not in printed
    assert "***" in str(err.value)

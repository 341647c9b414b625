"""backend = "auto": a measured choice that agrees with fp32, cached after the first probe."""

from __future__ import annotations

import json

import pytest

from pipelines.encoder import auto
from pipelines.encoder.base import batch_size_for
from pipelines.encoder.config import ModelConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    cache = tmp_path_factory.mktemp("models")
    return cache, auto.resolve_backend(ModelConfig(backend="auto", device="cpu"), cache, 1)


def test_auto_picks_the_fastest_agreeing_backend(resolved):
    cache, spec = resolved
    [record] = [json.loads(p.read_text()) for p in cache.glob("auto-backend-*.json")]
    measured = record["measured"]
    assert record["chosen"] == spec.backend and spec.backend != "auto"
    assert measured[spec.backend]["agreement"] >= 0.99
    eligible = [m["rows_per_s"] for m in measured.values() if m["agreement"] >= 0.99]
    assert measured[spec.backend]["rows_per_s"] == max(eligible)
    assert spec.model_id.endswith(f"@{spec.backend}")


def test_choice_is_cached(resolved, monkeypatch):
    cache, spec = resolved

    def no_probe(*args, **kwargs):
        raise AssertionError("probed again despite a cached choice")

    monkeypatch.setattr(auto, "probe_backends", no_probe)
    again = auto.resolve_backend(ModelConfig(backend="auto", device="cpu"), cache, threads=1)
    assert again == spec


def test_explicit_backend_skips_probe(tmp_path, monkeypatch):
    monkeypatch.setattr(auto, "probe_backends", None)
    spec = auto.resolve_backend(ModelConfig(backend="torch-bf16", device="cpu"), tmp_path, 1)
    assert spec.backend == "torch-bf16" and not list(tmp_path.iterdir())


def test_resolved_spec_gets_the_auto_batch_size(resolved):
    cache, spec = resolved
    assert spec.batch_size == batch_size_for("auto", spec.backend, "cpu", 1)
    [record] = [json.loads(p.read_text()) for p in cache.glob("auto-backend-*.json")]
    for name, measured in record["measured"].items():  # each probed at its own batch size
        assert measured["batch"] == batch_size_for("auto", name, "cpu", 1)


@pytest.mark.parametrize(
    ("setting", "backend", "device", "threads", "expected"),
    [
        ("auto", "onnx-int8", "cpu", 1, 8),
        ("auto", "torch", "cpu", 1, 8),
        ("auto", "torch-bf16", "cpu", 1, 32),
        ("auto", "onnx-int8", "cpu", 2, 32),
        ("auto", "onnx-int8", "cuda", 1, 32),
        (48, "onnx-int8", "cpu", 1, 48),
    ],
)
def test_batch_size_for(setting, backend, device, threads, expected):
    assert batch_size_for(setting, backend, device, threads) == expected


def test_explicit_batch_size_is_kept(tmp_path):
    model = ModelConfig(backend="onnx-int8", device="cpu", batch_size=24)
    assert auto.resolve_backend(model, tmp_path, 1).batch_size == 24

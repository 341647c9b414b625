"""backend = "auto": the fastest backend that agrees with fp32, recorded after the first probe.

A fake measurement stands in for the probe everywhere but one slow test.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from pipelines.encoder import BackendSpec, auto
from pipelines.encoder.auto import Measurement
from pipelines.encoder.base import batch_size_for
from pipelines.encoder.config import ModelConfig


class FakeMeasure:
    """Measurements by backend name; a name mapped to an exception cannot run here."""

    def __init__(self, by_name: dict[str, tuple[float, float] | Exception]) -> None:
        self.by_name = by_name
        self.calls: list[tuple[BackendSpec, BackendSpec]] = []

    def __call__(self, reference: BackendSpec, candidate: BackendSpec) -> Measurement:
        self.calls.append((reference, candidate))
        found = self.by_name[candidate.backend]
        if isinstance(found, Exception):
            raise found
        return Measurement(rows_per_s=found[0], agreement=found[1])

    @property
    def measured(self) -> list[str]:
        return [candidate.backend for _, candidate in self.calls]


def _fake(torch, bf16, onnx=None, int8=None) -> FakeMeasure:
    """(rows/s, agreement) per backend; the ONNX ones only where the probe offers them."""
    by_name = {"torch": torch, "torch-bf16": bf16, "onnx": onnx, "onnx-int8": int8}
    return FakeMeasure({name: value for name, value in by_name.items() if value is not None})


def _never(*args: object) -> Measurement:
    raise AssertionError("probed although no probe was due")


def _resolve(tmp_path, measure, threads: int = 1, **model) -> BackendSpec:
    config = ModelConfig(**{"backend": "auto", "device": "cpu", **model})
    return auto.resolve_backend(config, tmp_path, threads, measure=measure)


def _record(tmp_path) -> dict:
    [path] = tmp_path.glob("auto-backend-*.json")
    return json.loads(path.read_text())


def test_picks_the_fastest_backend_that_agrees(tmp_path):
    # onnx-int8 is fastest but below min_agreement
    fake = _fake((50.0, 1.0), (80.0, 0.995), (120.0, 0.9999), (200.0, 0.95))
    spec = _resolve(tmp_path, fake)
    assert spec.backend == "onnx"
    assert spec.model_id.endswith("@onnx")
    assert spec.batch_size == batch_size_for("auto", "onnx", "cpu", 1)
    assert fake.measured == ["torch", "torch-bf16", "onnx", "onnx-int8"]
    assert all(reference.backend == "torch" for reference, _ in fake.calls)


def test_falls_back_to_torch_when_none_agree(tmp_path):
    fake = _fake((50.0, 1.0), (80.0, 0.9), (120.0, 0.98), (200.0, 0.95))
    assert _resolve(tmp_path, fake).backend == "torch"


def test_min_agreement_is_the_configured_floor(tmp_path):
    fake = _fake((50.0, 1.0), (80.0, 0.9), (60.0, 0.9), (200.0, 0.95))
    assert _resolve(tmp_path, fake, min_agreement=0.95).backend == "onnx-int8"


def test_a_backend_that_fails_is_skipped(tmp_path):
    broken = RuntimeError("no onnxruntime build for this CPU")
    fake = _fake((50.0, 1.0), (80.0, 0.999), broken, broken)
    assert _resolve(tmp_path, fake).backend == "torch-bf16"
    assert set(_record(tmp_path)["measured"]) == {"torch", "torch-bf16"}


def test_the_choice_is_recorded_with_its_measurements(tmp_path):
    fake = _fake((50.0, 1.0), (80.0, 0.999), (120.0, 0.9999), (200.0, 0.995))
    _resolve(tmp_path, fake)
    record = _record(tmp_path)
    assert record["chosen"] == "onnx-int8"
    assert record["min_agreement"] == 0.99
    assert record["measured"]["onnx"] == {"rows_per_s": 120.0, "agreement": 0.9999, "batch": 8}
    for name, measured in record["measured"].items():  # each probed at its own batch size
        assert measured["batch"] == batch_size_for("auto", name, "cpu", 1)


def test_a_recorded_choice_is_reused(tmp_path):
    fake = _fake((50.0, 1.0), (80.0, 0.999), (120.0, 0.9999), (200.0, 0.9))
    first = _resolve(tmp_path, fake)
    assert _resolve(tmp_path, _never) == first
    assert len(list(tmp_path.glob("auto-backend-*.json"))) == 1


@pytest.mark.parametrize("change", [{"threads": 2}, {"min_agreement": 0.9}, {"batch_size": 16}])
def test_a_changed_setting_probes_again(tmp_path, change):
    fake = _fake((50.0, 1.0), (80.0, 0.9), (60.0, 1.0), (90.0, 0.95))
    _resolve(tmp_path, fake)
    settings = {"threads": 1, **change}
    _resolve(tmp_path, fake, **settings)
    assert fake.measured.count("torch") == 2
    assert len(list(tmp_path.glob("auto-backend-*.json"))) == 2


def test_an_unreadable_record_is_probed_again(tmp_path):
    fake = _fake((50.0, 1.0), (80.0, 0.999), (1.0, 1.0), (1.0, 1.0))
    _resolve(tmp_path, fake)
    [path] = tmp_path.glob("auto-backend-*.json")
    for broken in ["{not json", json.dumps({"chosen": "tensorflow", "measured": {}})]:
        path.write_text(broken)
        assert _resolve(tmp_path, fake).backend == "torch-bf16"
        assert _record(tmp_path)["chosen"] == "torch-bf16"


def test_cuda_probes_only_torch_backends(tmp_path):
    fake = _fake((500.0, 1.0), (900.0, 0.999))
    spec = _resolve(tmp_path, fake, device="cuda")
    assert fake.measured == ["torch", "torch-bf16"]
    assert {candidate.device for _, candidate in fake.calls} == {"cuda"}
    assert spec.backend == "torch-bf16" and spec.device == "cuda"
    assert spec.model_id.endswith("@torch-bf16-cuda")
    assert spec.batch_size == 32


def test_cpu_without_onnxruntime_probes_only_torch_backends(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name)
    )
    fake = _fake((50.0, 1.0), (40.0, 0.999))
    assert _resolve(tmp_path, fake).backend == "torch"
    assert fake.measured == ["torch", "torch-bf16"]


@pytest.mark.parametrize(("cuda", "expected"), [(True, "cuda"), (False, "cpu")])
def test_device_auto_follows_torch(tmp_path, monkeypatch, cuda, expected):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    fake = _fake((50.0, 1.0), (40.0, 0.999), (10.0, 1.0), (10.0, 1.0))
    assert _resolve(tmp_path, fake, device="auto").device == expected


def test_explicit_backend_skips_probe(tmp_path):
    spec = _resolve(tmp_path, _never, backend="torch-bf16")
    assert spec.backend == "torch-bf16" and not list(tmp_path.iterdir())


def test_explicit_batch_size_is_kept(tmp_path):
    assert _resolve(tmp_path, _never, backend="onnx-int8", batch_size=24).batch_size == 24


class _FakeBackend:
    builds: list[str] = []

    def __init__(self, spec: BackendSpec) -> None:
        self.spec = spec
        _FakeBackend.builds.append(spec.backend)

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.spec.backend == "torch":
            return np.tile([1.0, 0.0], (len(texts), 1))
        return np.tile([0.6, 0.8], (len(texts), 1))  # cosine 0.6 to the reference


def test_probe_measure_encodes_the_reference_once(monkeypatch):
    monkeypatch.setattr(auto, "build_backend", _FakeBackend)
    _FakeBackend.builds = []
    measure = auto.ProbeMeasure(["a", "b", "c"])
    reference = BackendSpec("torch", "model")
    assert measure(reference, reference).agreement == pytest.approx(1.0)
    measured = measure(reference, BackendSpec("onnx", "model"))
    assert measured.agreement == pytest.approx(0.6)
    assert measured.rows_per_s > 0
    assert _FakeBackend.builds == ["torch", "onnx"]


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


@pytest.mark.slow
def test_real_probe_picks_an_agreeing_backend(tmp_path):
    spec = auto.resolve_backend(ModelConfig(backend="auto", device="cpu"), tmp_path, 1)
    record = _record(tmp_path)
    measured = record["measured"]
    assert record["chosen"] == spec.backend
    assert measured[spec.backend]["agreement"] >= 0.99
    eligible = [m["rows_per_s"] for m in measured.values() if m["agreement"] >= 0.99]
    assert measured[spec.backend]["rows_per_s"] == max(eligible)
    for name, entry in measured.items():
        assert entry["batch"] == batch_size_for("auto", name, "cpu", 1)

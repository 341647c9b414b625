"""The ONNX backends agree with torch fp32 and export once into their cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.encoder import BackendSpec, build_backend
from pipelines.encoder.errors import BackendError

SENTENCES = [
    "Stainless steel water bottle, 750 ml, keeps drinks cold for 24 hours.",
    "Wireless noise-cancelling headphones with 30 hours of battery life",
    "tent",
    "A lightweight two-person backpacking tent that packs down to the size of a loaf of bread "
    "and survives heavy rain, wind and the occasional curious bear at the campsite.",
    "Cast iron skillet, pre-seasoned, 12 inch",
    "Le Creuset cocotte en fonte émaillée, 24 cm, rouge cerise",
    "Kids' rain jacket (size 6-7), waterproof & breathable; reflective strips.",
    "USB-C to USB-C cable 2m 100W PD fast charging braided nylon SKU-48213",
    "The novel follows three generations of a family living by the sea.",
    "$19.99 only!!! limited offer!!!",
    "Ergonomic mechanical keyboard with hot-swappable switches and RGB backlight",
    "Organic green tea, 100 bags",
    '4K UHD monitor 27" IPS 144Hz HDR400 height-adjustable stand',
    "",
    "red",
    "Memory foam pillow for side sleepers, hypoallergenic cover, machine washable",
    "日本製の包丁、ステンレス鋼、刃渡り21cm",
    "Yoga mat non-slip 6mm thick with carrying strap " * 8,
    "Espresso machine with milk frother, 15 bar pump, 1.8 L removable water tank",
    "Bluetooth speaker, IPX7 waterproof, pairs two speakers for stereo sound",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("onnx-cache"))


@pytest.fixture(scope="module")
def reference(model_path: str) -> np.ndarray:
    return build_backend(BackendSpec("torch", model_path, batch_size=8)).encode(SENTENCES)


def _spec(backend: str, model_path: str, cache_dir: str) -> BackendSpec:
    # batch_size 8 so the 20 sentences run as several length-sorted, padded batches
    return BackendSpec(backend, model_path, batch_size=8, threads=2, cache_dir=cache_dir)


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "floor"), [("onnx", 0.999), ("onnx-int8", 0.95)])
def test_agrees_with_torch_fp32(
    backend: str, floor: float, model_path: str, cache_dir: str, reference: np.ndarray
) -> None:
    vectors = build_backend(_spec(backend, model_path, cache_dir)).encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.mean() >= floor, cosines


@pytest.mark.slow
def test_order_and_batching_do_not_change_vectors(model_path: str, cache_dir: str) -> None:
    backend = build_backend(_spec("onnx", model_path, cache_dir))
    together = backend.encode(SENTENCES)
    one_by_one = np.vstack([backend.encode([s]) for s in SENTENCES])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    assert backend.encode([]).shape == (0, 384)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_export_is_cached(
    backend: str, model_path: str, cache_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.encoder import onnx_backend

    spec = _spec(backend, model_path, cache_dir)
    first = onnx_backend.export_onnx(spec)
    mtime = first.stat().st_mtime_ns

    def fail(*args: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_backend, "_export_fp32", fail)
    monkeypatch.setattr(onnx_backend, "_quantize_int8", fail)
    second = onnx_backend.export_onnx(spec)
    assert second == first
    assert second.stat().st_mtime_ns == mtime
    assert first.parent.parent == Path(cache_dir) / "onnx"
    assert first.parent.name.startswith(spec.model_name + "-")
    assert not list(first.parent.glob("*.tmp.onnx"))


def test_export_rejects_other_backends(model_path: str, cache_dir: str) -> None:
    from pipelines.encoder.onnx_backend import export_onnx

    with pytest.raises(BackendError):
        export_onnx(_spec("torch", model_path, cache_dir))

"""The ONNX backends agree with torch fp32, pool as the model's config says, refuse what they
cannot reproduce, and export once into their cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipelines.encoder import BackendSpec, build_backend
from pipelines.encoder.errors import BackendError
from pipelines.encoder.pooling import pool, read_pooling

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


def _variant(model_path: str, target: Path, pooling: dict) -> str:
    """The bundled model's folder, its files linked, with ``pooling`` as 1_Pooling/config.json."""
    shutil.copytree(model_path, target, copy_function=lambda src, dst: Path(dst).symlink_to(src))
    config = target / "1_Pooling" / "config.json"
    settings = {"word_embedding_dimension": 384, **pooling}
    config.unlink()
    config.write_text(json.dumps(settings))
    return str(target)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("pooling", "mode"),
    [
        ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, "cls"),
        ({"pooling_mode": "max"}, "max"),
        ({"pooling_mode": ["lasttoken"]}, "lasttoken"),
    ],
)
def test_pools_as_the_model_config_says(
    pooling: dict, mode: str, model_path: str, cache_dir: str, tmp_path: Path, reference
) -> None:
    # one folder name for every variant: the pooling is not in the graph, so they share an export
    folder = _variant(model_path, tmp_path / "pooled-minilm", pooling)
    assert read_pooling(folder) == mode
    expected = build_backend(BackendSpec("torch", folder, batch_size=8)).encode(SENTENCES)
    vectors = build_backend(_spec("onnx", folder, cache_dir)).encode(SENTENCES)
    assert (vectors * expected).sum(axis=1).min() > 0.99
    assert (expected * reference).sum(axis=1).mean() < 0.99  # the mode did change the vectors


def _folder(tmp_path: Path, modules: list[str], pooling: dict | None) -> Path:
    """A model folder's configs only: enough to read its pooling, not to run it."""
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    paths = {"Transformer": "", "Pooling": "1_Pooling"}
    entries = [
        {
            "idx": i,
            "path": paths.get(kind, f"{i}_{kind}"),
            "type": f"sentence_transformers.models.{kind}",
        }
        for i, kind in enumerate(modules)
    ]
    (tmp_path / "modules.json").write_text(json.dumps(entries))
    if pooling is not None:
        (tmp_path / "1_Pooling").mkdir()
        (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return tmp_path


def test_the_bundled_model_is_mean_pooled(model_path: str) -> None:
    assert read_pooling(model_path) == "mean"


@pytest.mark.parametrize(
    ("pooling", "mode"),
    [
        ({"pooling_mode_mean_tokens": True}, "mean"),
        ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, "cls"),
        ({"pooling_mode_max_tokens": True}, "max"),
        ({"pooling_mode_mean_sqrt_len_tokens": True}, "mean_sqrt_len_tokens"),
        ({"pooling_mode_lasttoken": True}, "lasttoken"),
        ({"pooling_mode": "cls"}, "cls"),
        ({"pooling_mode": ["max"]}, "max"),
        ({}, "mean"),  # sentence-transformers' default
    ],
)
def test_reads_the_pooling_mode(tmp_path: Path, pooling: dict, mode: str) -> None:
    folder = _folder(tmp_path, ["Transformer", "Pooling", "Normalize"], pooling)
    assert read_pooling(folder) == mode


@pytest.mark.parametrize(
    ("architecture", "mode"), [("BertModel", "mean"), ("Qwen2ForCausalLM", "lasttoken")]
)
def test_a_folder_without_modules_gets_the_sentence_transformers_default(
    tmp_path: Path, architecture: str, mode: str
) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": [architecture]}))
    assert read_pooling(tmp_path) == mode


@pytest.mark.parametrize(
    ("modules", "pooling", "named"),
    [
        (["Transformer", "Pooling"], {"pooling_mode_weightedmean_tokens": True}, "weightedmean"),
        (["Transformer", "Pooling"], {"pooling_mode": ["mean", "max"]}, "'max'"),
        (
            ["Transformer", "Pooling"],
            {"pooling_mode_cls_token": 1, "pooling_mode_max_tokens": 1},
            "[",
        ),
        (["Transformer", "Pooling", "Dense", "Normalize"], {}, "Dense"),
        (["Transformer", "Pooling", "LayerNorm"], {}, "LayerNorm"),
        (["Transformer"], None, "Transformer"),
        (["Transformer", "WeightedLayerPooling", "Pooling"], {}, "WeightedLayerPooling"),
    ],
)
def test_refuses_what_it_cannot_pool(
    tmp_path: Path, modules: list[str], pooling: dict | None, named: str
) -> None:
    folder = _folder(tmp_path, modules, pooling)
    with pytest.raises(BackendError) as refused:
        read_pooling(folder)
    message = str(refused.value)
    assert named in message and str(folder) in message and 'backend = "torch"' in message


@pytest.mark.parametrize(
    ("file", "settings", "named"),
    [
        ("config_sentence_transformers.json", {"default_prompt_name": "query"}, "'query'"),
        ("sentence_bert_config.json", {"do_lower_case": True}, "do_lower_case"),
    ],
)
def test_refuses_a_text_it_would_tokenise_differently(
    tmp_path: Path, file: str, settings: dict, named: str
) -> None:
    folder = _folder(tmp_path, ["Transformer", "Pooling"], {})
    (folder / file).write_text(json.dumps(settings))
    with pytest.raises(BackendError, match=named):
        read_pooling(folder)


def test_refuses_a_transformer_in_a_subfolder(tmp_path: Path) -> None:
    folder = _folder(tmp_path, ["Transformer", "Pooling"], {})
    modules = json.loads((folder / "modules.json").read_text())
    modules[0]["path"] = "0_Transformer"
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(BackendError, match="0_Transformer"):
        read_pooling(folder)


def test_backend_refuses_before_exporting(
    model_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.encoder import onnx_backend

    def fail(*args: object) -> None:
        raise AssertionError("exported a model it cannot pool")

    monkeypatch.setattr(onnx_backend, "_export_fp32", fail)
    folder = _variant(model_path, tmp_path / "weighted", {"pooling_mode": "weightedmean"})
    with pytest.raises(BackendError, match="weightedmean"):
        build_backend(_spec("onnx", folder, str(tmp_path / "cache")))


def test_pool_ignores_padding() -> None:
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(2, 4, 3)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]])
    hidden[1, 2:] = 1e6  # padded positions: must not leak into any mode
    short = hidden[1, :2]
    np.testing.assert_allclose(pool(hidden, mask, "mean")[1], short.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(pool(hidden, mask, "max")[1], short.max(axis=0))
    np.testing.assert_allclose(pool(hidden, mask, "cls")[1], short[0])
    np.testing.assert_allclose(pool(hidden, mask, "lasttoken")[1], short[1])
    np.testing.assert_allclose(pool(hidden, mask, "lasttoken")[0], hidden[0, 3])
    sqrt_len = pool(hidden, mask, "mean_sqrt_len_tokens")[1]
    np.testing.assert_allclose(sqrt_len, short.sum(axis=0) / np.sqrt(2), rtol=1e-6)

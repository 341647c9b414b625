"""ONNX Runtime backend: the transformer exported once (fp32, or int8 by dynamic quantization),
tokenised with `tokenizers` and pooled in numpy as the model's sentence-transformers config says,
so a worker never needs torch at run time.

Exporter: the legacy TorchScript exporter (``dynamo=False``) of the model loaded with eager
attention, because its graph is the classic BERT pattern that ORT fuses (bench/README.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipelines.encoder.base import BackendSpec, EmbeddingBackend
from pipelines.encoder.errors import BackendError
from pipelines.encoder.pooling import pool, read_pooling

log = logging.getLogger(__name__)

EXPORT_VERSION = "1"  # bump when the export recipe changes: old cache folders are ignored
OPSET = 17
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
LOCK_TIMEOUT_S = 900


def _cache_folder(spec: BackendSpec) -> Path:
    """``<cache_dir>/onnx/<model>-<hash of config and weights' size/mtime>``."""
    model = Path(spec.model_path)
    root = (
        Path(spec.cache_dir) / "onnx" if spec.cache_dir else Path.home() / ".cache/pipelines/onnx"
    )
    digest = hashlib.sha256(f"v{EXPORT_VERSION}|opset{OPSET}|".encode())
    digest.update((model / "config.json").read_bytes())
    for name in WEIGHT_FILES:
        if (model / name).exists():
            stat = (model / name).stat()
            digest.update(f"|{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return root / f"{spec.model_name}-{digest.hexdigest()[:12]}"


def _export_fp32(model_path: str, target: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(
        model_path, local_files_only=True, attn_implementation="eager"
    )
    model.eval()
    names = ["input_ids", "attention_mask"]
    if getattr(model.config, "type_vocab_size", 0):
        names.append("token_type_ids")

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

    # Trace with a padded row so no "mask is all ones" shortcut can be baked into the graph.
    mask = torch.ones(2, 8, dtype=torch.long)
    mask[1, 5:] = 0
    dummy = {"input_ids": torch.full((2, 8), 100) * mask, "attention_mask": mask}
    dummy["token_type_ids"] = torch.zeros(2, 8, dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings and the legacy exporter's deprecation
        torch.onnx.export(
            LastHidden(),
            tuple(dummy[n] for n in names),
            str(target),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={n: axes for n in [*names, "last_hidden_state"]},
            opset_version=OPSET,
            dynamo=False,
        )


def _quantize_int8(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel weights keep int8 close to fp32 (bench/README.md); MatMul only keeps the
    # embedding table (Gather) in fp32.
    hint = _DropLogRecords("consider to run pre-processing")  # its preprocessing fails on BERT
    logging.getLogger().addFilter(hint)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.getLogger().removeFilter(hint)


class _DropLogRecords(logging.Filter):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def export_onnx(spec: BackendSpec) -> Path:
    """The ONNX file for ``spec.backend``, exported (and quantized) first if the cache lacks it.

    Safe across processes: one holds a file lock while exporting, writes a temporary file and
    renames it into place, so others either wait or find the finished file.
    """
    if spec.backend not in ("onnx", "onnx-int8"):
        raise BackendError(f"export_onnx needs backend onnx or onnx-int8, not {spec.backend!r}")
    folder = _cache_folder(spec)
    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    target = int8 if spec.backend == "onnx-int8" else fp32
    if target.exists():
        return target
    from filelock import FileLock

    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".export.lock"), timeout=LOCK_TIMEOUT_S):
        if not fp32.exists():
            _write_atomically(fp32, lambda tmp: _export_fp32(spec.model_path, tmp))
        if target == int8 and not int8.exists():
            _write_atomically(int8, lambda tmp: _quantize_int8(fp32, tmp))
    return target


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.onnx")
    log.info("writing %s", path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class OnnxBackend(EmbeddingBackend):
    def __init__(self, spec: BackendSpec):
        super().__init__(spec)
        model = Path(spec.model_path)
        self._pooling = read_pooling(model)  # refuses an unpoolable model before any export
        import onnxruntime as ort
        from tokenizers import Tokenizer

        config = json.loads((model / "config.json").read_text())
        self._dimension = int(config["hidden_size"])
        max_len = min(spec.max_seq_length, int(config.get("max_position_embeddings", 512)))
        self._tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
        self._pad_id = int((self._tokenizer.padding or {}).get("pad_id", 0))
        self._tokenizer.no_padding()  # the file may pad to a fixed 128; we pad per batch instead
        self._tokenizer.enable_truncation(max_length=max_len)

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, spec.threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = ["CPUExecutionProvider"]
        if spec.device == "cuda":
            if "CUDAExecutionProvider" in ort.get_available_providers():
                providers.insert(0, "CUDAExecutionProvider")
            else:
                log.warning("CUDAExecutionProvider unavailable: ONNX Runtime runs on the CPU")
        path = export_onnx(spec)
        self._session = ort.InferenceSession(str(path), options, providers=providers)
        self._inputs = {i.name for i in self._session.get_inputs()}

    @property
    def dimension(self) -> int:
        return self._dimension

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")  # longest first: least padding per batch
        out = np.empty((len(texts), self._dimension), dtype=np.float32)
        step = max(1, self.spec.batch_size)
        for start in range(0, len(texts), step):
            rows = order[start : start + step]
            width = int(lengths[rows].max())
            ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = lengths[i]
                ids[r, :n], mask[r, :n], types[r, :n] = encodings[i].ids, 1, encodings[i].type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            feed = {name: array for name, array in feed.items() if name in self._inputs}
            out[rows] = pool(self._session.run(None, feed)[0], mask, self._pooling)
        return out

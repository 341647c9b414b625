"""Embedding backends behind one interface, built by name, loaded once per process."""

from __future__ import annotations

from pipelines.encoder.base import BackendSpec, EmbeddingBackend
from pipelines.encoder.errors import BackendError

CONCRETE_BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8")

_loaded: dict[BackendSpec, EmbeddingBackend] = {}


def build_backend(spec: BackendSpec) -> EmbeddingBackend:
    if spec.backend in ("torch", "torch-bf16"):
        from pipelines.encoder.torch_backend import TorchBackend

        return TorchBackend(spec)
    if spec.backend in ("onnx", "onnx-int8"):
        from pipelines.encoder.onnx_backend import OnnxBackend

        return OnnxBackend(spec)
    raise BackendError(
        f"unknown embedding backend {spec.backend!r}; allowed: {', '.join(CONCRETE_BACKENDS)}"
        " (resolve 'auto' with pipelines.encoder.auto.resolve_backend first)"
    )


def get_backend(spec: BackendSpec) -> EmbeddingBackend:
    """The process-wide instance for ``spec``: a Spark Python worker loads its model once."""
    if spec not in _loaded:
        _loaded[spec] = build_backend(spec)
    return _loaded[spec]


__all__ = ["BackendSpec", "EmbeddingBackend", "build_backend", "get_backend"]

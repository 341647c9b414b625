"""The embedding backend interface: texts in, L2-normalised float32 vectors out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def batch_size_for(setting: int | str, backend: str, device: str, threads: int) -> int:
    """Texts per forward pass: ``[model] batch_size`` as set, or when it is ``"auto"``, by
    backend, device and the threads one worker runs.

    Small batches are faster on a one-thread CPU worker; bf16 (AMX tiles) and several threads
    (each op needs enough work to split) want larger ones: bench/README.md, "Encoder batch sizes".
    """
    if setting != "auto":
        return int(setting)
    if device == "cpu" and threads == 1 and backend != "torch-bf16":
        return 8
    return 32


@dataclass(frozen=True)
class BackendSpec:
    """Everything a Python worker needs to build a backend; small and picklable."""

    backend: str  # torch | torch-bf16 | onnx | onnx-int8 | cuda names resolved already
    model_path: str
    max_seq_length: int = 256
    batch_size: int = 32
    device: str = "cpu"  # cpu | cuda
    threads: int = 1
    cache_dir: str = ""  # where exported ONNX files live (beside the lake)

    @property
    def model_name(self) -> str:
        folder = Path(self.model_path.rstrip("/"))
        # a packaged model sits in a generic "model" folder: its package names it
        return folder.parent.name if folder.name == "model" else folder.name

    @property
    def model_id(self) -> str:
        """Recorded in every embeddings row: vectors differ across models *and* backends."""
        suffix = "" if self.device == "cpu" else f"-{self.device}"
        return f"{self.model_name}@{self.backend}{suffix}"


class EmbeddingBackend(ABC):
    """One loaded model. ``encode`` takes a whole batch so the backend can sort by length."""

    def __init__(self, spec: BackendSpec):
        self.spec = spec

    @property
    @abstractmethod
    def dimension(self) -> int: ...

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray:
        """Return raw (n, dim) embeddings; normalisation happens in ``encode``."""

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.asarray(self._encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

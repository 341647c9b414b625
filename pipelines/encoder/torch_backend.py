"""sentence-transformers on torch: fp32, or bf16 (AMX on recent Xeons, tensor cores on GPUs)."""

from __future__ import annotations

import os

import numpy as np

from pipelines.encoder.base import BackendSpec, EmbeddingBackend


class TorchBackend(EmbeddingBackend):
    def __init__(self, spec: BackendSpec):
        super().__init__(spec)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if spec.device == "cpu":
            torch.set_num_threads(max(1, spec.threads))
        kwargs = {"dtype": torch.bfloat16} if spec.backend == "torch-bf16" else {}
        self._model = SentenceTransformer(
            spec.model_path, device=spec.device, model_kwargs=kwargs, local_files_only=True
        )
        self._model.max_seq_length = spec.max_seq_length
        self._dimension = int(self._model.get_embedding_dimension())

    @property
    def dimension(self) -> int:
        return self._dimension

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=self.spec.batch_size,
            convert_to_numpy=False,
            convert_to_tensor=True,
            show_progress_bar=False,
        )
        return vectors.float().cpu().numpy()

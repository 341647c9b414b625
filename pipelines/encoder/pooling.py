"""The sentence-transformers pooling of a model folder, read for the ONNX path and done in numpy.

The ONNX graph ends at the transformer's last hidden state, so every module after it must be
one this file reproduces exactly; anything else is refused rather than silently mis-pooled.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipelines.encoder.errors import BackendError

POOLING_MODES = ("mean", "mean_sqrt_len_tokens", "cls", "max", "lasttoken")
# Legacy boolean keys, in the order sentence-transformers concatenates them.
LEGACY_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_ST_PREFIX = "sentence_transformers."


def read_pooling(model_path: str | Path) -> str:
    """The one pooling mode of the folder's sentence-transformers pipeline, or BackendError."""
    folder = Path(model_path)
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        return _default_mode(folder)
    modules = json.loads(modules_file.read_text())
    _check_modules(folder, modules)
    _check_inputs(folder)
    return _pooling_mode(folder, folder / modules[1].get("path", "") / "config.json")


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """(batch, tokens, dim) hidden states and their right-padded mask -> (batch, dim)."""
    valid = mask[..., None].astype(bool)
    if mode == "cls":
        return hidden[:, 0]
    if mode == "lasttoken":
        return hidden[np.arange(len(hidden)), mask.sum(axis=1) - 1]
    if mode == "max":
        return np.where(valid, hidden, -np.inf).max(axis=1)
    summed = np.where(valid, hidden, 0.0).sum(axis=1)
    counts = np.maximum(valid.sum(axis=1).astype(np.float32), 1e-9)
    return summed / (np.sqrt(counts) if mode == "mean_sqrt_len_tokens" else counts)


def _kind(module: dict) -> str:
    """``Pooling`` for a sentence-transformers Pooling module, the full type for anything else."""
    kind = str(module.get("type", ""))
    return kind.rsplit(".", 1)[-1] if kind.startswith(_ST_PREFIX) else kind


def _check_modules(folder: Path, modules: list[dict]) -> None:
    kinds = [_kind(module) for module in modules]
    if kinds[:2] != ["Transformer", "Pooling"]:
        raise _refusal(folder, f"the modules {[m.get('type') for m in modules]}")
    if modules[0].get("path", ""):  # the exporter loads the transformer from the folder itself
        raise _refusal(folder, f"a transformer in the subfolder {modules[0]['path']!r}")
    for module, kind in zip(modules[2:], kinds[2:], strict=True):
        if kind != "Normalize":  # encode() normalises every backend's vectors anyway
            raise _refusal(folder, f"the module {module.get('type')!r} after pooling")


def _check_inputs(folder: Path) -> None:
    """Refuse what sentence-transformers does to a text before its tokenizer sees it."""
    settings = _json_or_empty(folder / "config_sentence_transformers.json")
    if settings.get("default_prompt_name"):
        raise _refusal(folder, f"the default prompt {settings['default_prompt_name']!r}")
    if _json_or_empty(folder / "sentence_bert_config.json").get("do_lower_case"):
        raise _refusal(folder, "do_lower_case")


def _json_or_empty(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _pooling_mode(folder: Path, config_file: Path) -> str:
    config = _json_or_empty(config_file)
    mode = config.get("pooling_mode")
    if mode is None:
        mode = [name for key, name in LEGACY_KEYS.items() if config.get(key)] or "mean"
    modes = [mode] if isinstance(mode, str) else list(mode)
    if len(modes) != 1:
        raise _refusal(folder, f"the pooling modes {modes} concatenated")
    if modes[0] not in POOLING_MODES:
        raise _refusal(
            folder, f"the pooling mode {modes[0]!r} (it pools {', '.join(POOLING_MODES)})"
        )
    return modes[0]


def _default_mode(folder: Path) -> str:
    """What sentence-transformers adds to a bare transformers folder: lasttoken for causal LMs."""
    config = json.loads((folder / "config.json").read_text())
    architecture = (config.get("architectures") or [""])[0]
    causal = architecture.endswith("ForCausalLM") and config.get("is_causal", True)
    return "lasttoken" if causal else "mean"


def _refusal(folder: Path, what: str) -> BackendError:
    return BackendError(
        f"the ONNX backend cannot reproduce {what} of the sentence-transformers model in"
        f' {folder}; set [model] backend = "torch" (or "torch-bf16") for this model'
    )

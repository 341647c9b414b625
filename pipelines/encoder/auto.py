"""Resolve ``backend = "auto"``: the fastest backend whose vectors agree with fp32.

Each candidate encodes a fixed probe set; a candidate is kept only if its mean cosine to the
fp32 reference reaches ``min_agreement``. The choice, with its measurements, is cached per
model, device, CPU and thread count, so only the first run pays for the probe.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np

from pipelines.encoder import CONCRETE_BACKENDS, BackendSpec, build_backend
from pipelines.encoder.base import batch_size_for
from pipelines.encoder.config import ModelConfig

log = logging.getLogger(__name__)

PROBE_TEXTS = [
    "Stainless steel water bottle, 750 ml, keeps drinks cold for 24 hours",
    "Wireless noise-cancelling headphones with 30-hour battery life",
    "A quiet novel about a lighthouse keeper and the storm that changed everything",
    "Kids' wooden building blocks, 100 pieces in bright colours",
    "Cast iron skillet 26 cm, pre-seasoned, oven safe",
    "Men's waterproof hiking jacket with detachable hood and taped seams",
    "USB-C charging cable 2 m braided",
    "Toy (1995): Animation, Children's, Comedy",
    "Lightweight two-person tent for backpacking, 1.6 kg, easy setup in five minutes,"
    " with a vestibule for gear and mesh panels for ventilation on warm summer nights",
    "Organic green tea, 100 bags",
]
PROBE_REPEAT = 16  # 160 texts: long enough to time, short enough for every run


def _cpu_signature() -> str:
    flags = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(("model name", "flags")):
                flags += line
    return hashlib.sha256((platform.machine() + flags).encode()).hexdigest()[:12]


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _candidates(device: str) -> list[str]:
    names = ["torch-bf16"]
    if device == "cpu" and importlib.util.find_spec("onnxruntime") is not None:
        names += ["onnx", "onnx-int8"]
    return names


def _measure(spec: BackendSpec, texts: list[str]) -> tuple[float, np.ndarray]:
    backend = build_backend(spec)
    backend.encode(texts[:8])  # warm-up: first-call allocations and kernel selection
    start = time.perf_counter()
    vectors = backend.encode(texts)
    return len(texts) / (time.perf_counter() - start), vectors


def _with_backend(base: BackendSpec, name: str, batch_size: int | str) -> BackendSpec:
    size = batch_size_for(batch_size, name, base.device, base.threads)
    return BackendSpec(**{**base.__dict__, "backend": name, "batch_size": size})


def probe_backends(base: BackendSpec, min_agreement: float, batch_size: int | str) -> dict:
    texts = PROBE_TEXTS * PROBE_REPEAT
    reference_speed, reference = _measure(base, texts)
    results = {
        base.backend: {"rows_per_s": reference_speed, "agreement": 1.0, "batch": base.batch_size}
    }
    for name in _candidates(base.device):
        candidate = _with_backend(base, name, batch_size)
        try:
            speed, vectors = _measure(candidate, texts)
        except Exception as exc:  # a backend that cannot run here is simply not chosen
            log.warning("backend %s unavailable: %s", name, exc)
            continue
        agreement = float(np.mean(np.sum(vectors * reference, axis=1)))
        results[name] = {"rows_per_s": speed, "agreement": agreement, "batch": candidate.batch_size}
    eligible = {k: v for k, v in results.items() if v["agreement"] >= min_agreement}
    chosen = max(eligible, key=lambda name: eligible[name]["rows_per_s"])
    return {"chosen": chosen, "min_agreement": min_agreement, "measured": results}


def resolve_backend(model: ModelConfig, cache_dir: Path, threads: int) -> BackendSpec:
    """A concrete ``BackendSpec`` for the configured model section."""
    device = resolve_device(model.device)
    backend = "torch" if model.backend == "auto" else model.backend  # fp32: the reference
    base = BackendSpec(
        backend=backend,
        model_path=model.name_or_path,
        max_seq_length=model.max_seq_length,
        batch_size=batch_size_for(model.batch_size, backend, device, threads),
        device=device,
        threads=threads,
        cache_dir=str(cache_dir),
    )
    if model.backend != "auto":
        return base
    key = f"{base.model_path}|{device}|{threads}|{model.batch_size}|{model.min_agreement}|"
    key += _cpu_signature()
    cache_file = cache_dir / f"auto-backend-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    if cache_file.is_file():
        choice = json.loads(cache_file.read_text())
    else:
        log.info("backend=auto: probing %s on %s", ", ".join(_candidates(device)), device)
        choice = probe_backends(base, model.min_agreement, model.batch_size)
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(choice, indent=2))
    log.info("backend=auto chose %s (%s)", choice["chosen"], choice["measured"][choice["chosen"]])
    assert choice["chosen"] in CONCRETE_BACKENDS
    return _with_backend(base, choice["chosen"], model.batch_size)

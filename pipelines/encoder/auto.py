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
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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


@dataclass(frozen=True)
class Measurement:
    rows_per_s: float
    agreement: float  # mean cosine of the candidate's vectors to the reference's


class Measure(Protocol):
    def __call__(self, reference: BackendSpec, candidate: BackendSpec) -> Measurement: ...


class ProbeMeasure:
    """The real measurement: every backend encodes the probe texts, the reference only once."""

    def __init__(self, texts: list[str] | None = None) -> None:
        self.texts = texts or PROBE_TEXTS * PROBE_REPEAT
        self._encoded: dict[BackendSpec, tuple[float, np.ndarray]] = {}

    def __call__(self, reference: BackendSpec, candidate: BackendSpec) -> Measurement:
        reference_vectors = self._timed(reference)[1]
        speed, vectors = self._timed(candidate)
        return Measurement(speed, float(np.mean(np.sum(vectors * reference_vectors, axis=1))))

    def _timed(self, spec: BackendSpec) -> tuple[float, np.ndarray]:
        if spec not in self._encoded:
            backend = build_backend(spec)
            backend.encode(self.texts[:8])  # warm-up: first-call allocations and kernel selection
            start = time.perf_counter()
            vectors = backend.encode(self.texts)
            self._encoded[spec] = (len(self.texts) / (time.perf_counter() - start), vectors)
        return self._encoded[spec]


def _with_backend(base: BackendSpec, name: str, batch_size: int | str) -> BackendSpec:
    size = batch_size_for(batch_size, name, base.device, base.threads)
    return BackendSpec(**{**base.__dict__, "backend": name, "batch_size": size})


def probe_backends(
    base: BackendSpec, min_agreement: float, batch_size: int | str, measure: Measure
) -> dict:
    """The record of a probe: each candidate's measurement and the backend chosen from them."""
    results = {base.backend: _entry(measure(base, base), base)}
    for name in _candidates(base.device):
        candidate = _with_backend(base, name, batch_size)
        try:
            results[name] = _entry(measure(base, candidate), candidate)
        except Exception as exc:  # a backend that cannot run here is simply not chosen
            log.warning("backend %s unavailable: %s", name, exc)
    chosen = choose_backend(results, base.backend, min_agreement)
    return {"chosen": chosen, "min_agreement": min_agreement, "measured": results}


def _entry(measured: Measurement, spec: BackendSpec) -> dict:
    return {
        "rows_per_s": measured.rows_per_s,
        "agreement": measured.agreement,
        "batch": spec.batch_size,
    }


def choose_backend(measured: dict[str, dict], reference: str, min_agreement: float) -> str:
    """The fastest backend that agrees with the reference; the reference itself always does."""
    eligible = [
        name for name, m in measured.items() if name == reference or m["agreement"] >= min_agreement
    ]
    return max(eligible, key=lambda name: measured[name]["rows_per_s"])


def _read_choice(cache_file: Path) -> dict | None:
    """A recorded choice, or None when there is none or it names no backend this code builds."""
    if not cache_file.is_file():
        return None
    try:
        choice = json.loads(cache_file.read_text())
    except ValueError:
        return None
    return choice if choice.get("chosen") in CONCRETE_BACKENDS else None


def spec_for(
    model: ModelConfig, backend: str, device: str, threads: int, cache_dir: Path
) -> BackendSpec:
    """The spec of a concrete ``backend`` on ``device`` for the configured model section."""
    return BackendSpec(
        backend=backend,
        model_path=model.name_or_path,
        max_seq_length=model.max_seq_length,
        batch_size=batch_size_for(model.batch_size, backend, device, threads),
        device=device,
        threads=threads,
        cache_dir=str(cache_dir),
    )


def resolve_backend(
    model: ModelConfig, cache_dir: Path, threads: int, measure: Measure | None = None
) -> BackendSpec:
    """A concrete ``BackendSpec`` for the configured model section; ``measure`` for tests."""
    device = resolve_device(model.device)
    backend = "torch" if model.backend == "auto" else model.backend  # fp32: the reference
    base = spec_for(model, backend, device, threads, cache_dir)
    if model.backend != "auto":
        return base
    cache_file = _choice_file(base, model, cache_dir)
    choice = _read_choice(cache_file)
    if choice is None:
        log.info("backend=auto: probing %s on %s", ", ".join(_candidates(device)), device)
        choice = probe_backends(
            base, model.min_agreement, model.batch_size, measure or ProbeMeasure()
        )
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(choice, indent=2))
    measured = choice.get("measured", {}).get(choice["chosen"])
    log.info("backend=auto chose %s (%s)", choice["chosen"], measured)
    return _with_backend(base, choice["chosen"], model.batch_size)


def _choice_file(base: BackendSpec, model: ModelConfig, cache_dir: Path) -> Path:
    """One recorded choice per model, device, threads, batch setting, agreement floor and CPU."""
    key = f"{base.model_path}|{base.device}|{base.threads}|{model.batch_size}|"
    key += f"{model.min_agreement}|{_cpu_signature()}"
    return cache_dir / f"auto-backend-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"

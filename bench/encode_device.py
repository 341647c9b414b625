"""Encoding throughput of the torch backends on a device (``cuda``), against the same
machine's CPU.

    python bench/encode_device.py [--device cuda] [--model PATH] [--rows 20000]

For each torch backend (fp32, bf16) and batch size, the whole text list is encoded in one
call after a warm-up; the best of ``--rounds`` counts. The CPU side encodes a tenth of the
texts with fp32 on every core. Ends with one JSON line: {"bench", "figures", "targets"}.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def sample_texts(rows: int) -> list[str]:
    from pipelines.datasets.sample import SAMPLE_TEMPLATE, generate_sample
    from pipelines.encoder.text import render_text

    with tempfile.TemporaryDirectory() as out:
        files = generate_sample(Path(out), n_items=min(rows, 89_999), n_users=10, n_events=100)
        frame = pd.read_csv(files["catalog"], dtype=str, keep_default_na=False)
    texts = [render_text(SAMPLE_TEMPLATE, row) for row in frame.to_dict("records")]
    texts = [t for t in texts if t]
    return (texts * (rows // len(texts) + 1))[:rows]


def best_rate(spec, texts: list[str], rounds: int) -> tuple[float, np.ndarray]:
    from pipelines.encoder import build_backend

    backend = build_backend(spec)
    backend.encode(texts[: spec.batch_size * 2])
    best, vectors = 0.0, None
    for _ in range(rounds):
        start = time.perf_counter()
        vectors = backend.encode(texts)
        best = max(best, len(texts) / (time.perf_counter() - start))
    return best, vectors


def main() -> None:
    from pipelines.encoder import BackendSpec

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--model", default=None, help="a sentence-transformers folder")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-sizes", default="32,128,512")
    args = parser.parse_args()

    if args.model is None:  # pydantic-free machines pass --model
        from pipelines.encoder.config import default_model_path

        args.model = default_model_path()
    model = args.model
    texts = sample_texts(args.rows)
    cores = os.cpu_count() or 1
    figures: dict[str, float] = {"rows": len(texts), "cpu_cores": cores}
    cpu = BackendSpec("torch", model, batch_size=32, device="cpu", threads=cores)
    figures["cpu_torch_rows_per_s"], _ = best_rate(cpu, texts[: len(texts) // 10], 1)
    reference = None
    for backend in ("torch", "torch-bf16"):
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            spec = BackendSpec(backend, model, batch_size=batch, device=args.device)
            rate, vectors = best_rate(spec, texts, args.rounds)
            figures[f"{args.device}_{backend}_b{batch}_rows_per_s"] = round(rate, 1)
            if reference is None:
                reference = vectors
            elif backend == "torch-bf16":
                cosine = np.sum(reference * vectors, axis=1)
                figures[f"{backend}_b{batch}_min_cosine_to_fp32"] = round(float(cosine.min()), 4)
            print(f"{backend} batch {batch}: {rate:.0f} rows/s", flush=True)
    best = max(v for k, v in figures.items() if k.startswith(args.device))
    ratio = round(best / figures["cpu_torch_rows_per_s"], 2)
    figures["cpu_torch_rows_per_s"] = round(figures["cpu_torch_rows_per_s"], 1)
    target = {"value": ratio, "target": ">= 5", "met": ratio >= 5}
    print(
        json.dumps(
            {
                "bench": "encode_device",
                "figures": figures,
                "targets": {f"{args.device}_vs_cpu_cores": target},
            }
        )
    )


if __name__ == "__main__":
    main()

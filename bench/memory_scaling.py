"""Peak driver memory against catalog size: does the driver grow with the catalog?

    python bench/memory_scaling.py [--items 10000,100000] [--users 2000] [--events 40000]

For each size, a synthetic product catalog (the sample generator's products under ids of our
own, so it passes 90k items) and events of ``--users`` users are written, then each stage
runs as its own ``pipelines run --stage NAME`` process on local[2], as the DAGs run them:
embed-catalog, validate-catalog, neighbors, dedup, recs-items (the catalog pipeline; publish
is left out: embedded Qdrant keeps every point in the driver's Python by design), then
embed-events, cooccurrence, recs-users. While a stage runs, the resident memory of its
Python driver and of the JVM it starts (in local mode the JVM is the driver's child, and
runs the executor too) is sampled every 0.2 s; the Python workers under the JVM are
reported apart. Targets: the peak of Python + JVM at the largest size over the smallest,
for the catalog pipeline (its worst stage) and for recs-users, <= 1.5.
Ends with one JSON line: {"bench", "figures", "targets"}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from random import Random

import psutil

CATALOG_STAGES = ["embed-catalog", "validate-catalog", "neighbors", "dedup", "recs-items"]
USER_STAGES = ["embed-events", "cooccurrence", "recs-users"]
MB = 1024 * 1024
TARGET_RATIO = 1.5


def write_data(folder: Path, items: int, users: int, events: int, seed: int = 7) -> None:
    """catalog.csv and events.csv in the sample data set's columns."""
    from pipelines.datasets import sample

    rng = Random(seed)
    products, _ = sample._catalog_products(rng, items)
    named = [(f"I{i:07d}", p) for i, p in enumerate(products, start=1)]
    sample._write(folder / "catalog.csv", sample.CATALOG_HEADER, [p.row(i) for i, p in named])
    rows = sample._events(rng, named, users, events)
    sample._write(folder / "events.csv", sample.EVENTS_HEADER, rows)


def write_config(folder: Path, backend: str, max_seq_length: int) -> Path:
    """The demo's settings for the sample data set, on local[2] with ``backend``."""
    from pipelines.datasets.sample import SAMPLE_DEDUP_FIELDS, SAMPLE_TEMPLATE

    fields = ", ".join(f'"{f}"' for f in SAMPLE_DEDUP_FIELDS)
    path = folder / "pipelines.toml"
    path.write_text(
        f"""[lake]
root = "lake"
[spark]
master = "local[2]"
conf = {{ "spark.ui.enabled" = "false" }}
[model]
backend = "{backend}"
device = "cpu"
max_seq_length = {max_seq_length}
[catalog]
source = "catalog.csv"
text_template = "{SAMPLE_TEMPLATE}"
payload_columns = ["title", "brand", "category", "price"]
[events]
source = "events.csv"
[dedup]
fields = [{fields}]
"""
    )
    return path


class Peaks:
    """Peak resident memory (MB) of a driver process, its JVM child and the JVM's workers."""

    def __init__(self, pid: int):
        self.driver = psutil.Process(pid)
        self.peak = {"python": 0.0, "jvm": 0.0, "driver": 0.0, "workers": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _sample(self) -> dict[str, float]:
        python = self.driver.memory_info().rss
        jvm = workers = 0
        for child in self.driver.children(recursive=True):
            try:
                if child.name() == "java":
                    jvm += child.memory_info().rss
                elif child.ppid() != self.driver.pid:
                    workers += child.memory_info().rss
            except psutil.Error:  # gone between the listing and the read
                continue
        return {"python": python, "jvm": jvm, "driver": python + jvm, "workers": workers}

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            try:
                sample = self._sample()
            except psutil.Error:  # the driver has exited
                return
            for name, value in sample.items():
                self.peak[name] = max(self.peak[name], value / MB)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {name: round(value, 1) for name, value in self.peak.items()}


def run_stage(config: Path, stage: str) -> dict:
    """One ``pipelines run --stage`` process: its peaks (MB) and seconds."""
    command = [sys.executable, "-m", "pipelines.cli", "run", "--stage", stage]
    start = time.perf_counter()
    with open(config.parent / f"{stage}.log", "w") as log:
        process = subprocess.Popen(
            [*command, "--config", str(config)], cwd=config.parent, stdout=log, stderr=log
        )
        peaks = Peaks(process.pid)
        code = process.wait()
    figures = {**peaks.stop(), "seconds": round(time.perf_counter() - start, 1)}
    if code != 0:
        tail = (config.parent / f"{stage}.log").read_text()[-3000:]
        raise RuntimeError(f"stage {stage} exited {code}; its log ends:\n{tail}")
    return figures


def run_size(work: Path, items: int, args: argparse.Namespace) -> dict[str, dict]:
    folder = work / f"items-{items}"
    folder.mkdir(parents=True)
    write_data(folder, items, args.users, args.events)
    config = write_config(folder, args.backend, args.max_seq_length)
    stages = {}
    for stage in CATALOG_STAGES + USER_STAGES:
        stages[stage] = run_stage(config, stage)
        print(f"items={items} {stage}: {json.dumps(stages[stage])}", flush=True)
    return stages


def summary(stages: dict[str, dict]) -> dict[str, float]:
    """Per size: the catalog pipeline's peaks (its worst stage for each) and recs-users'."""
    out = {}
    for name in ("python", "jvm", "driver", "workers"):
        out[f"catalog_{name}_mb"] = max(stages[s][name] for s in CATALOG_STAGES)
        out[f"recs_users_{name}_mb"] = stages["recs-users"][name]
    out["catalog_seconds"] = round(sum(stages[s]["seconds"] for s in CATALOG_STAGES), 1)
    out["recs_users_seconds"] = stages["recs-users"]["seconds"]
    return out


def targets(figures: dict, sizes: list[int]) -> dict:
    if len(sizes) < 2:
        return {}
    small, large = figures[f"items_{min(sizes)}"], figures[f"items_{max(sizes)}"]
    out = {}
    for part in ("catalog", "recs_users"):
        ratio = round(large[f"{part}_driver_mb"] / small[f"{part}_driver_mb"], 3)
        name = f"{part}_driver_peak_ratio_{max(sizes)}_to_{min(sizes)}"
        out[name] = {"value": ratio, "target": f"<= {TARGET_RATIO}", "met": ratio <= TARGET_RATIO}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", default="10000,100000", help="catalog sizes, comma-separated")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--events", type=int, default=40000)
    parser.add_argument("--backend", default="onnx-int8")
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    sizes = [int(s) for s in args.items.split(",")]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    figures: dict = {"users": args.users, "events": args.events, "backend": args.backend}
    try:
        for items in sizes:
            stages = run_size(work, items, args)
            figures[f"items_{items}"] = summary(stages)
            figures[f"stages_{items}"] = stages
    finally:
        if args.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    bench = {"bench": "memory_scaling", "figures": figures, "targets": targets(figures, sizes)}
    print(json.dumps(bench))


if __name__ == "__main__":
    main()

"""Per-row vector metrics as plain columns, so Great Expectations can check them."""

from __future__ import annotations

import json
from pathlib import Path

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def model_dimension(model_path: str) -> int:
    """Output dimension of a sentence-transformers folder, read from its config files."""
    folder = Path(model_path)
    modules = folder / "modules.json"
    dense = []
    if modules.is_file():
        dense = [m for m in json.loads(modules.read_text()) if m["type"].endswith("Dense")]
    if dense:
        return int(
            json.loads((folder / dense[-1]["path"] / "config.json").read_text())["out_features"]
        )
    return int(json.loads((folder / "config.json").read_text())["hidden_size"])


def with_vector_metrics(df: DataFrame, distinct_vectors: bool = True) -> DataFrame:
    """Adds dim, norm, all_finite, is_zero and, with ``distinct_vectors``, duplicate_vector
    (the exact vector is shared with another ``text``)."""
    square_sum = F.aggregate("vector", F.lit(0.0).cast("double"), lambda acc, x: acc + x * x)
    finite = F.forall("vector", lambda x: ~F.isnan(x) & (F.abs(x) < float("inf")))
    metrics = [
        F.size("vector").alias("dim"),
        F.sqrt(square_sum).alias("norm"),
        finite.alias("all_finite"),
        F.coalesce(F.forall("vector", lambda x: x == 0), F.lit(False)).alias("is_zero"),
    ]
    if distinct_vectors:
        same_vector = Window.partitionBy(F.sha2(F.to_json("vector"), 256))
        shared = F.size(F.collect_set("text").over(same_vector)) > 1
        metrics.append(shared.alias("duplicate_vector"))
    return df.select("*", *metrics)

"""Spark UDFs of the embedding stage: text building and batched inference.

The inference UDF is an iterator pandas UDF: the Python worker builds its backend once (the
process-wide cache in ``encoder.get_backend``, kept alive by ``spark.python.worker.reuse``)
and encodes each Arrow batch with one call, so sentence-transformers can sort it by length.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf
from pyspark.sql.types import ArrayType, FloatType, StringType, StructField, StructType

from pipelines.encoder import BackendSpec, get_backend
from pipelines.encoder.text import content_hash, render_text

TEXT_SCHEMA = StructType(
    [StructField("text", StringType()), StructField("content_hash", StringType())]
)


def text_column(template: str, fields: list[str], model_id: str, max_chars: int) -> Column:
    """struct<text, content_hash>; text is null when every template field is empty."""

    @pandas_udf(TEXT_SCHEMA)
    def build(rows: pd.DataFrame) -> pd.DataFrame:
        records = rows.astype(object).where(rows.notna(), None).to_dict("records")
        texts = [render_text(template, record, max_chars) for record in records]
        hashes = [None if text is None else content_hash(text, model_id) for text in texts]
        return pd.DataFrame({"text": texts, "content_hash": hashes})

    return build(F.struct(*[F.col(name).cast("string").alias(name) for name in fields]))


def embedding_column(spec: BackendSpec, text: Column) -> Column:
    @pandas_udf(ArrayType(FloatType()))
    def embed(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        backend = get_backend(spec)
        for texts in batches:
            yield pd.Series(list(backend.encode(texts.tolist())))

    return embed(text)

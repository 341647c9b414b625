"""The Fellegi-Sunter path of the dedup stage on Spark: records normalised with each value's
term frequency, comparison levels of the candidate pairs, the model fitted on the driver from
level-pattern counts (bounded by the number of distinct patterns, not by the catalog), and
every pair scored with it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.dedup import comparisons as cmp
from pipelines.dedup.fellegi_sunter import (
    Model,
    expectation_maximisation,
    random_pairs,
    shares_by_field,
)
from pipelines.errors import InputError

log = logging.getLogger(__name__)

# neighbour pairs are mostly not duplicates: a fit that says otherwise found something else
MAX_MATCH_SHARE = 0.5
# records drawn for the field kinds and u; random pairs drawn among them
U_RECORDS = 2_000
U_PAIRS = 200_000

LEVELS = T.StructType(
    [
        T.StructField("a", T.StringType(), False),
        T.StructField("b", T.StringType(), False),
        T.StructField("cosine", T.FloatType(), False),
        T.StructField("levels", T.ArrayType(T.IntegerType()), False),
        T.StructField("similarities", T.ArrayType(T.DoubleType()), False),
        T.StructField("tf", T.ArrayType(T.DoubleType()), False),
    ]
)


def prepared(fields: DataFrame, names: list[str]) -> DataFrame:
    """item_id, the normalised fields and tf_<field>: the share of records with that value."""
    out = T.StructType(
        [
            T.StructField("item_id", T.StringType()),
            *[T.StructField(n, T.StringType()) for n in names],
        ]
    )

    def normalise(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield batch.assign(**{n: cmp.normalised(batch[n]) for n in names})

    records = fields.select("item_id", *names).mapInPandas(normalise, out)
    # one aggregate for the totals and a window per field: joining each field's counts back
    # onto the records nests them once per field, and the plan doubles with every field
    known = records.agg(*[F.count(F.when(F.col(n) != "", 1)).alias(n) for n in names]).first()
    return records.select(
        "item_id",
        *names,
        *[
            F.when(F.col(n) != "", F.count("*").over(Window.partitionBy(n)) / max(known[n], 1))
            .cast("double")
            .alias(f"tf_{n}")
            for n in names
        ],
    )


def field_kinds(sample: pd.DataFrame, names: list[str], exact: list[str]) -> list[str]:
    return ["exact" if n in exact else cmp.kind_of(sample[n].to_numpy()) for n in names]


def sample_records(records: DataFrame, names: list[str], seed: int) -> pd.DataFrame:
    """Up to U_RECORDS records drawn at random, on the driver."""
    drawn = records.select(*names).orderBy(F.rand(seed)).limit(U_RECORDS)
    return drawn.toPandas()


def estimate_u(sample: pd.DataFrame, names: list[str], kinds: list[str], seed: int):
    """u of each field from random pairs of the sampled records (uniform below two)."""
    if len(sample) < 2:
        return [np.full(cmp.N_LEVELS, 1.0 / cmp.N_LEVELS) for _ in names]
    first, second = random_pairs(len(sample), U_PAIRS, seed)
    columns = []
    for name, kind in zip(names, kinds, strict=True):
        values = sample[name].to_numpy()
        columns.append(cmp.levels(values[first], values[second], kind)[0])
    return shares_by_field(np.stack(columns, axis=1), [cmp.N_LEVELS] * len(names))


def pair_levels(candidates: DataFrame, records: DataFrame, names: list[str], kinds: list[str]):
    """a, b, cosine, levels, similarities, tf (of the shared value; NaN unless identical)."""

    def side(prefix: str) -> DataFrame:
        return records.select(
            F.col("item_id").alias(prefix),
            *[F.col(n).alias(f"{prefix}_{n}") for n in names],
            *[F.col(f"tf_{n}").alias(f"{prefix}_tf_{n}") for n in names],
        )

    joined = candidates.join(side("a"), "a").join(side("b"), "b")
    return joined.mapInPandas(_levels_udf(names, kinds), LEVELS)


def _levels_udf(names: list[str], kinds: list[str]):
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            lv, sims, tfs = [], [], []
            for name, kind in zip(names, kinds, strict=True):
                left, right = batch[f"a_{name}"].to_numpy(), batch[f"b_{name}"].to_numpy()
                level, similarity = cmp.levels(left, right, kind)
                tf = batch[f"a_tf_{name}"].to_numpy(dtype=np.float64)
                lv.append(level)
                sims.append(similarity)
                tfs.append(np.where(level == cmp.IDENTICAL, tf, np.nan))
            yield pd.DataFrame(
                {
                    "a": batch["a"],
                    "b": batch["b"],
                    "cosine": batch["cosine"],
                    "levels": list(np.stack(lv, 1).astype(np.int32)),
                    "similarities": list(np.stack(sims, 1)),
                    "tf": list(np.stack(tfs, 1)),
                }
            )

    return run


def level_patterns(levels: DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct row of levels and how many pairs have it."""
    rows = levels.groupBy("levels").count().collect()
    if not rows:
        return np.zeros((0, 0), dtype=np.int64), np.zeros(0)
    return np.array([r["levels"] for r in rows], dtype=np.int64), np.array(
        [r["count"] for r in rows]
    )


def fit(
    levels: DataFrame,
    u: list[np.ndarray],
    names: list[str],
    kinds: list[str],
    gold_levels: np.ndarray | None = None,
) -> Model:
    """m by EM over the candidates' level patterns, or from labelled pairs' levels."""
    patterns, counts = level_patterns(levels)
    if len(patterns) == 0:  # no candidates: a model of the prior alone
        patterns, counts = np.full((1, len(names)), cmp.MISSING), np.ones(1)
    m = None if gold_levels is None else labelled_m(gold_levels)
    model = expectation_maximisation(patterns, names, u, counts, fixed_m=m)
    fields = tuple(replace(f, kind=k) for f, k in zip(model.fields, kinds, strict=True))
    return replace(model, fields=fields).with_u(u)


def require_plausible(model: Model, names: list[str]) -> None:
    """Fail, before anything is written, on a model that calls most candidates duplicates."""
    if model.match_share <= MAX_MATCH_SHARE:
        return
    raise InputError(
        f"dedup: the model fitted on the candidate pairs calls {model.match_share:.0%} of them "
        f"duplicates; dedup.fields {names} do not tell records apart (columns such as category "
        "or brand agree for most neighbours). Name identifying columns in dedup.fields, give "
        "labelled pairs (pipelines dedup train --gold PAIRS.csv), or set explicit weights "
        "(dedup.fields = { column = weight }). Nothing was written."
    )


def labelled_m(levels: np.ndarray) -> list[np.ndarray]:
    """m from labelled matches, with one pseudo-pair spread over the levels: a level no label
    happens to show is unlikely, not impossible."""
    shares = shares_by_field(levels, [cmp.N_LEVELS] * levels.shape[1])
    known = (levels != cmp.MISSING).sum(axis=0)
    return [(s * n + 1.0 / cmp.N_LEVELS) / (n + 1.0) for s, n in zip(shares, known, strict=True)]


SCORED = T.StructType(
    [
        T.StructField("a", T.StringType(), False),
        T.StructField("b", T.StringType(), False),
        T.StructField("cosine", T.FloatType(), False),
        T.StructField("field_scores", T.ArrayType(T.DoubleType())),
        T.StructField("field_levels", T.ArrayType(T.IntegerType())),
        T.StructField("field_weights", T.ArrayType(T.DoubleType())),
        T.StructField("match_weight", T.DoubleType()),
        T.StructField("match_score", T.DoubleType(), False),
    ]
)


def score_levels(levels: DataFrame, model: Model, term_frequency: bool) -> DataFrame:
    """Every pair's per-field weights, match weight and match probability."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            lv = np.stack(batch["levels"].to_numpy()).astype(np.int64)
            tf = np.stack(batch["tf"].to_numpy()) if term_frequency else None
            weights = model.match_weights(lv, tf)
            total = model.prior_weight + weights.sum(axis=1)
            yield pd.DataFrame(
                {
                    "a": batch["a"],
                    "b": batch["b"],
                    "cosine": batch["cosine"],
                    "field_scores": batch["similarities"],
                    "field_levels": batch["levels"],
                    "field_weights": list(weights),
                    "match_weight": total,
                    "match_score": 1.0 / (1.0 + np.exp2(-total)),
                }
            )

    return levels.mapInPandas(run, SCORED)

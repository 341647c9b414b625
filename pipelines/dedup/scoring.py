"""Field-level verification of candidate pairs with rapidfuzz, inside a Spark pandas UDF."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from pipelines.dedup.probabilistic import SCORED


def _normalised(value: object) -> str:
    return " ".join(str(value).lower().split()) if value is not None else ""


def field_similarity(left: object, right: object, exact: bool) -> float | None:
    """0..1; None when either side is empty (the field then carries no evidence)."""
    from rapidfuzz import fuzz

    a, b = _normalised(left), _normalised(right)
    if not a or not b:
        return None
    if exact:
        return 1.0 if a == b else 0.0
    return fuzz.token_sort_ratio(a, b) / 100.0


def match_score(
    left: dict, right: dict, weights: dict[str, float], exact: set[str]
) -> tuple[dict[str, float], float]:
    """Per-field similarities and their weighted mean over the fields both records have."""
    scores = {}
    for name in weights:
        similarity = field_similarity(left.get(name), right.get(name), name in exact)
        if similarity is not None:
            scores[name] = similarity
    weight = sum(weights[name] for name in scores)
    total = sum(weights[name] * score for name, score in scores.items())
    return scores, (total / weight if weight else 0.0)


def score_pairs_udf(weights: dict[str, float], exact: list[str]):
    """mapInPandas over rows a, b, cosine, a_<field>..., b_<field>... -> SCORED (no levels)."""
    exact_set = set(exact)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            out = []
            for row in batch.to_dict("records"):
                left = {name: row[f"a_{name}"] for name in weights}
                right = {name: row[f"b_{name}"] for name in weights}
                fields, score = match_score(left, right, weights, exact_set)
                known = sum(weights[name] for name in fields) or 1.0
                out.append(
                    {
                        "a": row["a"],
                        "b": row["b"],
                        "cosine": row["cosine"],
                        "field_scores": [fields.get(n, np.nan) for n in weights],
                        "field_levels": None,
                        "field_weights": [weights[n] * fields.get(n, 0.0) / known for n in weights],
                        "match_weight": None,
                        "match_score": score,
                    }
                )
            yield pd.DataFrame(out, columns=SCORED.fieldNames())

    return run

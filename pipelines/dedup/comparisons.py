"""Comparison levels of one field over many pairs of values, vectorised with rapidfuzz.

A field's similarity is chosen from its values: digit strings (dates, ids, postcodes, phone
numbers) by edit distance, single words (names, cities) by Jaro-Winkler, longer text by
token-sort ratio. Level 0 is disagreement, one more level per similarity band reached, and
the top level is identical values; MISSING when either side is empty. In text, differing
numbers ("1L" and "750ml") cap the level at the weakest band: sizes and model numbers tell
products apart that read alike.
"""

from __future__ import annotations

import re

import numpy as np

MISSING = -1
# similarity bands, strongest last: a pair's level is how many it reaches
BANDS = (0.6, 0.8, 0.92)
IDENTICAL = len(BANDS) + 1
N_LEVELS = IDENTICAL + 1
LEVEL_NAMES = ("different", *[f">= {band}" for band in BANDS], "identical")
KINDS = ("exact", "edit", "jaro", "token")
_NUMBER = re.compile(r"\d+")


def normalised(values) -> np.ndarray:
    """Lower case, punctuation as spaces, single spaces; None and NaN become ""."""
    from rapidfuzz import utils

    out = [
        "" if v is None or v != v else " ".join(utils.default_process(str(v)).split())
        for v in values
    ]
    return np.array(out, dtype=object)


def kind_of(values: np.ndarray) -> str:
    """The similarity suited to a field, judged from a sample of its normalised values."""
    present = [v for v in values if v]
    if not present:
        return "token"
    digits = np.mean(
        [sum(c.isdigit() for c in v) >= 0.8 * len(v.replace(" ", "")) for v in present]
    )
    if digits >= 0.9:
        return "edit"
    words = np.mean([len(v.split()) for v in present])
    return "jaro" if words <= 1.3 else "token"


def similarities(left: np.ndarray, right: np.ndarray, kind: str) -> np.ndarray:
    """0..1 similarity of each pair of (normalised) values."""
    from rapidfuzz import fuzz, process
    from rapidfuzz.distance import JaroWinkler, Levenshtein

    if kind == "exact" or len(left) == 0:
        return (left == right).astype(np.float64)
    scorer = {
        "edit": Levenshtein.normalized_similarity,
        "jaro": JaroWinkler.normalized_similarity,
        "token": fuzz.token_sort_ratio,
    }[kind]
    scores = process.cpdist(list(left), list(right), scorer=scorer, workers=1)
    return scores / 100.0 if kind == "token" else scores.astype(np.float64)


def _numbers_differ(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.array(
        [
            set(_NUMBER.findall(a)) != set(_NUMBER.findall(b))
            for a, b in zip(left, right, strict=True)
        ],
        dtype=bool,
    )


def levels(left: np.ndarray, right: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(levels, similarities) of each pair of normalised values."""
    similarity = similarities(left, right, kind)
    out = np.zeros(len(left), dtype=np.int64)
    if kind != "exact":
        for band in BANDS:
            out += similarity >= band
    if kind == "token" and len(left):
        differ = _numbers_differ(left, right)
        out[differ] = np.minimum(out[differ], 1)
    out[left == right] = IDENTICAL
    missing = (left == "") | (right == "")
    out[missing] = MISSING
    similarity[missing] = np.nan
    return out, similarity

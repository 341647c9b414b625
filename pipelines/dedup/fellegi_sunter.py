"""The Fellegi-Sunter model: each field's comparison level is evidence for or against a
match, weighted by how often that level occurs among matches (m) and non-matches (u).

u comes from random record pairs (almost all non-matches); m and the match share come from
expectation-maximisation over the candidate pairs, with u held fixed, as Splink does. A level
of -1 means a value is missing on either side: no evidence either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MISSING = -1
# a level never seen among matches or non-matches still needs a finite weight
FLOOR = 1e-6


@dataclass(frozen=True)
class FieldLevels:
    """m and u of one field, one entry per comparison level (0 = the weakest agreement)."""

    name: str
    m: np.ndarray
    u: np.ndarray

    def weights(self) -> np.ndarray:
        """log2(m / u) of each level: the match weight a pair gains at that level."""
        return np.log2(np.maximum(self.m, FLOOR) / np.maximum(self.u, FLOOR))


@dataclass(frozen=True)
class Model:
    fields: tuple[FieldLevels, ...]
    match_share: float  # the prior: matches among the candidate pairs

    def match_weights(self, levels: np.ndarray) -> np.ndarray:
        """(pairs, fields) levels -> (pairs, fields) weights, 0 where a value is missing."""
        out = np.zeros(levels.shape, dtype=np.float64)
        for column, field in enumerate(self.fields):
            known = levels[:, column] != MISSING
            out[known, column] = field.weights()[levels[known, column]]
        return out

    def probability(self, levels: np.ndarray) -> np.ndarray:
        """P(match | the pair's levels) under this model."""
        prior = np.log2(self.match_share / (1.0 - self.match_share))
        total = prior + self.match_weights(levels).sum(axis=1)
        return 1.0 / (1.0 + np.exp2(-total))


def level_shares(levels: np.ndarray, n_levels: int, weights: np.ndarray | None = None):
    """How often each level occurs among the pairs where the value is known (weighted)."""
    weights = np.ones(len(levels)) if weights is None else weights
    known = levels != MISSING
    counts = np.bincount(levels[known], weights=weights[known], minlength=n_levels)
    total = counts.sum()
    return counts / total if total > 0 else np.full(n_levels, 1.0 / n_levels)


def estimate_u(levels: np.ndarray, n_levels: list[int]) -> list[np.ndarray]:
    """u of each field from the levels of random record pairs."""
    return [level_shares(levels[:, f], n) for f, n in enumerate(n_levels)]


def expectation_maximisation(
    levels: np.ndarray,
    names: list[str],
    u: list[np.ndarray],
    match_share: float = 0.1,
    max_iterations: int = 100,
    tolerance: float = 1e-5,
) -> Model:
    """m and the match share that best explain the candidate pairs' levels, u held fixed."""
    n_levels = [len(shares) for shares in u]
    m = [np.linspace(0.1, 1.0, n) / np.linspace(0.1, 1.0, n).sum() for n in n_levels]
    model = _model(names, m, u, match_share)
    for _ in range(max_iterations):
        p = model.probability(levels)
        m = [level_shares(levels[:, f], n, p) for f, n in enumerate(n_levels)]
        updated = _model(names, m, u, float(np.clip(p.mean(), FLOOR, 1 - FLOOR)))
        pairs = zip(updated.fields, model.fields, strict=True)
        change = max(np.abs(new.m - old.m).max() for new, old in pairs)
        model = updated
        if change < tolerance:
            break
    return model


def _model(names, m, u, match_share: float) -> Model:
    fields = tuple(FieldLevels(name, mi, ui) for name, mi, ui in zip(names, m, u, strict=True))
    return Model(fields, match_share)


# similarity bands of a fuzzy field, strongest last: level = how many bands it reaches
BANDS = (0.6, 0.8, 0.92)


def comparison_level(left: object, right: object, exact: bool) -> int:
    """0 (disagree) .. len(BANDS) + 1 (identical); MISSING when either side is empty."""
    from pipelines.dedup.scoring import field_similarity

    similarity = field_similarity(left, right, exact)
    if similarity is None:
        return MISSING
    if similarity == 1.0:
        return len(BANDS) + 1
    return 0 if exact else sum(similarity >= band for band in BANDS)


def levels_of(
    records: dict[str, dict], pairs: list[tuple[str, str]], fields: list[str], exact: set[str]
) -> np.ndarray:
    """(pairs, fields) comparison levels of ``pairs`` of ``records`` (id -> field values)."""
    return np.array(
        [
            [comparison_level(records[a].get(f), records[b].get(f), f in exact) for f in fields]
            for a, b in pairs
        ],
        dtype=np.int64,
    ).reshape(len(pairs), len(fields))


def random_pairs(ids: list[str], n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` pairs of two different records drawn uniformly: nearly all non-matches."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(ids), n)
    second = (first + rng.integers(1, len(ids), n)) % len(ids)
    return [(ids[a], ids[b]) for a, b in zip(first, second, strict=True)]

"""The Fellegi-Sunter model: each field's comparison level is evidence for or against a
match, weighted by how often that level occurs among matches (m) and non-matches (u).

u comes from random record pairs (almost all non-matches). m and the match share come from
expectation-maximisation over the candidate pairs, or from labelled pairs. The EM also
re-estimates the non-matches' level shares among the candidates, as a nuisance it does not
keep: embedding neighbours agree on brand or category far more often than random pairs do,
and with u held at the random pairs' shares every candidate looks like a match. Level
MISSING means a value is empty on either side: no evidence either way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pipelines.dedup.comparisons import IDENTICAL, MISSING

# a level never seen among matches or non-matches still needs a finite weight
FLOOR = 1e-6


@dataclass(frozen=True)
class FieldLevels:
    """m and u of one field, one entry per comparison level (0 = the weakest agreement)."""

    name: str
    m: np.ndarray
    u: np.ndarray
    kind: str = "token"

    def weights(self) -> np.ndarray:
        """log2(m / u) of each level: the match weight a pair gains at that level."""
        return np.log2(np.maximum(self.m, FLOOR) / np.maximum(self.u, FLOOR))

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "m": self.m.round(6).tolist(),
            "u": self.u.round(6).tolist(),
            "weights": self.weights().round(3).tolist(),
        }


@dataclass(frozen=True)
class Model:
    fields: tuple[FieldLevels, ...]
    match_share: float  # the prior: matches among the candidate pairs

    @property
    def prior_weight(self) -> float:
        return float(np.log2(self.match_share / (1.0 - self.match_share)))

    def match_weights(self, levels: np.ndarray, tf: np.ndarray | None = None) -> np.ndarray:
        """(pairs, fields) levels -> (pairs, fields) weights, 0 where a value is missing.
        ``tf``: the share of records holding the pair's value, for identical values: a
        common value says less than a rare one, log2(m / tf) instead of log2(m / u)."""
        out = np.zeros(levels.shape, dtype=np.float64)
        for column, field in enumerate(self.fields):
            known = levels[:, column] != MISSING
            out[known, column] = field.weights()[levels[known, column]]
            if tf is not None:
                same = (levels[:, column] == IDENTICAL) & np.isfinite(tf[:, column])
                top = max(field.m[IDENTICAL], FLOOR)
                out[same, column] = np.log2(top / np.maximum(tf[same, column], FLOOR))
        return out

    def probability(self, levels: np.ndarray, tf: np.ndarray | None = None) -> np.ndarray:
        """P(match | the pair's levels) under this model."""
        return probability_of(self.prior_weight + self.match_weights(levels, tf).sum(axis=1))

    def with_u(self, u: list[np.ndarray]) -> Model:
        fields = tuple(replace(f, u=ui) for f, ui in zip(self.fields, u, strict=True))
        return replace(self, fields=fields)

    def as_dict(self) -> dict:
        return {
            "match_share": round(self.match_share, 6),
            "prior_weight": round(self.prior_weight, 3),
            "fields": [f.as_dict() for f in self.fields],
        }


def probability_of(match_weight: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-match_weight))


def level_shares(levels: np.ndarray, n_levels: int, weights: np.ndarray | None = None):
    """How often each level occurs among the pairs where the value is known (weighted)."""
    weights = np.ones(len(levels)) if weights is None else weights
    known = levels != MISSING
    counts = np.bincount(levels[known], weights=weights[known], minlength=n_levels)
    total = counts.sum()
    return counts / total if total > 0 else np.full(n_levels, 1.0 / n_levels)


def shares_by_field(levels: np.ndarray, n_levels: list[int], counts=None) -> list[np.ndarray]:
    """Each field's level shares: u from random pairs, or m from labelled matches."""
    return [level_shares(levels[:, f], n, counts) for f, n in enumerate(n_levels)]


def expectation_maximisation(
    levels: np.ndarray,
    names: list[str],
    u: list[np.ndarray],
    counts: np.ndarray | None = None,
    match_share: float = 0.05,
    max_iterations: int = 200,
    tolerance: float = 1e-6,
    fixed_m: list[np.ndarray] | None = None,
) -> Model:
    """m, the candidates' u and the match share that best explain the candidate pairs'
    levels (``counts``: how many pairs have each row's levels). ``u`` starts the EM;
    ``fixed_m`` (from labelled pairs) is kept as it is."""
    counts = np.ones(len(levels)) if counts is None else np.asarray(counts, dtype=np.float64)
    n_levels = [len(shares) for shares in u]
    start = [np.linspace(0.05, 1.0, n) ** 4 for n in n_levels]
    model = _model(names, fixed_m or [s / s.sum() for s in start], u, match_share)
    for _ in range(max_iterations):
        p = model.probability(levels)
        m = fixed_m or shares_by_field(levels, n_levels, p * counts)
        u_candidates = shares_by_field(levels, n_levels, (1.0 - p) * counts)
        share = float(np.clip((p * counts).sum() / counts.sum(), FLOOR, 1 - FLOOR))
        updated = _model(names, m, u_candidates, share)
        change = max(
            max(np.abs(new.m - old.m).max(), np.abs(new.u - old.u).max())
            for new, old in zip(updated.fields, model.fields, strict=True)
        )
        change = max(change, abs(updated.match_share - model.match_share))
        model = updated
        if change < tolerance:
            break
    return model


def _model(names, m, u, match_share: float) -> Model:
    fields = tuple(FieldLevels(name, mi, ui) for name, mi, ui in zip(names, m, u, strict=True))
    return Model(fields, match_share)


def random_pairs(n_records: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` index pairs of two different records drawn uniformly: nearly all non-matches."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, n_records, n)
    second = (first + rng.integers(1, n_records, n)) % n_records
    return first, second

"""The Fellegi-Sunter core recovers the m and u it was generated from."""

from __future__ import annotations

import numpy as np

from pipelines.dedup.fellegi_sunter import (
    MISSING,
    FieldLevels,
    Model,
    estimate_u,
    expectation_maximisation,
)

# levels 0 (disagree) .. n-1 (exact) of three fields
TRUE_M = [np.array([0.05, 0.15, 0.80]), np.array([0.10, 0.90]), np.array([0.02, 0.08, 0.2, 0.7])]
TRUE_U = [np.array([0.90, 0.08, 0.02]), np.array([0.70, 0.30]), np.array([0.85, 0.1, 0.04, 0.01])]


def _pairs(rng, n: int, share: float, missing: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    is_match = rng.random(n) < share
    columns = []
    for m, u in zip(TRUE_M, TRUE_U, strict=True):
        levels = np.where(is_match, rng.choice(len(m), n, p=m), rng.choice(len(u), n, p=u))
        levels[rng.random(n) < missing] = MISSING
        columns.append(levels)
    return np.stack(columns, axis=1), is_match


def test_em_recovers_known_m_and_the_match_share():
    rng = np.random.default_rng(7)
    candidates, is_match = _pairs(rng, 40_000, share=0.3)
    random_pairs, _ = _pairs(rng, 40_000, share=0.0)
    u = estimate_u(random_pairs, [len(m) for m in TRUE_M])
    for estimated, true in zip(u, TRUE_U, strict=True):
        np.testing.assert_allclose(estimated, true, atol=0.01)
    model = expectation_maximisation(candidates, ["a", "b", "c"], u)
    for field, true in zip(model.fields, TRUE_M, strict=True):
        np.testing.assert_allclose(field.m, true, atol=0.01)
    assert abs(model.match_share - is_match.mean()) < 0.01


def test_a_missing_value_is_no_evidence_and_agreement_raises_the_probability():
    fields = zip("abc", TRUE_M, TRUE_U, strict=True)
    model = Model(tuple(FieldLevels(name, m, u) for name, m, u in fields), 0.3)
    levels = np.array([[2, 1, 3], [0, 0, 0], [MISSING, MISSING, MISSING], [2, MISSING, 3]])
    weights = model.match_weights(levels)
    assert weights[2].tolist() == [0.0, 0.0, 0.0]
    assert weights[3, 1] == 0.0 and weights[3, 0] == weights[0, 0]
    p = model.probability(levels)
    assert p[0] > 0.99 and p[1] < 0.01
    assert abs(p[2] - 0.3) < 1e-9  # nothing known: the prior


def test_comparison_levels_band_fuzzy_fields_and_keep_missing_apart():
    from pipelines.dedup.fellegi_sunter import comparison_level, levels_of, random_pairs

    assert comparison_level("Main Street 12", "main  street 12", exact=False) == 4
    assert comparison_level("Main Street 12", "Main Stret 12", exact=False) == 3
    assert comparison_level("Main Street", "Oak Avenue", exact=False) == 0
    assert comparison_level("1980-01-02", "1980-01-03", exact=True) == 0
    assert comparison_level("", "x", exact=False) == MISSING
    records = {"a": {"n": "Ann", "d": "1"}, "b": {"n": "Anne", "d": None}, "c": {"n": "Bob"}}
    levels = levels_of(records, [("a", "b"), ("a", "c")], ["n", "d"], {"d"})
    assert levels.shape == (2, 2) and levels[0, 1] == MISSING and levels[1, 0] == 0
    pairs = random_pairs(list("abcdef"), 500, seed=3)
    assert all(a != b for a, b in pairs) and len(set(pairs)) > 20

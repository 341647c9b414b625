"""The Fellegi-Sunter core recovers the m and u it was generated from, and comparison levels
band similarities as documented."""

from __future__ import annotations

import numpy as np

from pipelines.dedup import comparisons as cmp
from pipelines.dedup.fellegi_sunter import (
    MISSING,
    FieldLevels,
    Model,
    expectation_maximisation,
    shares_by_field,
)

# levels 0 (disagree) .. n-1 (exact) of three fields
TRUE_M = [np.array([0.05, 0.15, 0.80]), np.array([0.10, 0.90]), np.array([0.02, 0.08, 0.2, 0.7])]
TRUE_U = [np.array([0.90, 0.08, 0.02]), np.array([0.70, 0.30]), np.array([0.85, 0.1, 0.04, 0.01])]
# embedding neighbours that are not duplicates agree more often than random pairs do
CANDIDATE_U = [np.array([0.6, 0.3, 0.1]), np.array([0.4, 0.6]), np.array([0.5, 0.3, 0.15, 0.05])]


def _pairs(rng, n: int, share: float, u=TRUE_U, missing: float = 0.05):
    is_match = rng.random(n) < share
    columns = []
    for m, u_field in zip(TRUE_M, u, strict=True):
        levels = np.where(
            is_match, rng.choice(len(m), n, p=m), rng.choice(len(u_field), n, p=u_field)
        )
        levels[rng.random(n) < missing] = MISSING
        columns.append(levels)
    return np.stack(columns, axis=1), is_match


def test_u_from_random_pairs_and_m_by_em_recover_the_generating_values():
    rng = np.random.default_rng(7)
    random_pairs, _ = _pairs(rng, 40_000, share=0.0)
    u = shares_by_field(random_pairs, [len(m) for m in TRUE_M])
    for estimated, true in zip(u, TRUE_U, strict=True):
        np.testing.assert_allclose(estimated, true, atol=0.01)
    candidates, is_match = _pairs(rng, 40_000, share=0.3, u=CANDIDATE_U)
    model = expectation_maximisation(candidates, ["a", "b", "c"], u)
    for field, m, u_candidates in zip(model.fields, TRUE_M, CANDIDATE_U, strict=True):
        np.testing.assert_allclose(field.m, m, atol=0.02)
        np.testing.assert_allclose(field.u, u_candidates, atol=0.02)
    assert abs(model.match_share - is_match.mean()) < 0.02


def test_em_on_pattern_counts_equals_em_on_the_pairs():
    rng = np.random.default_rng(3)
    candidates, _ = _pairs(rng, 20_000, share=0.2, u=CANDIDATE_U)
    patterns, counts = np.unique(candidates, axis=0, return_counts=True)
    u = [np.full(len(m), 1 / len(m)) for m in TRUE_M]
    whole = expectation_maximisation(candidates, ["a", "b", "c"], u)
    counted = expectation_maximisation(patterns, ["a", "b", "c"], u, counts)
    for one, other in zip(whole.fields, counted.fields, strict=True):
        np.testing.assert_allclose(one.m, other.m, atol=1e-6)
    assert abs(whole.match_share - counted.match_share) < 1e-6


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


def test_a_common_identical_value_weighs_less_than_a_rare_one():
    m = np.array([0.1, 0.0, 0.0, 0.0, 0.9])
    u = np.array([0.9, 0.0, 0.0, 0.0, 0.1])
    model = Model((FieldLevels("city", m, u),), 0.1)
    levels = np.array([[cmp.IDENTICAL], [cmp.IDENTICAL], [0]])
    tf = np.array([[0.30], [0.001], [np.nan]])  # a big city, a village, disagreement
    weights = model.match_weights(levels, tf)[:, 0]
    assert weights[0] < model.match_weights(levels)[0, 0] < weights[1]
    assert weights[1] == np.log2(0.9 / 0.001)
    assert weights[2] == model.match_weights(levels)[2, 0]


def test_comparison_levels_band_similarities_and_keep_missing_apart():
    left = cmp.normalised(["Main Street", "Main Street", "Main Street", None, "Steel Bottle 1L"])
    right = cmp.normalised(["main  street", "Main Stret", "Oak Avenue", "x", "Steel Bottle 750ml"])
    levels, similarity = cmp.levels(left, right, "token")
    assert levels[:4].tolist() == [cmp.IDENTICAL, 3, 0, MISSING]
    assert np.isnan(similarity[3])
    assert levels[4] <= 1  # numbers differ: at most the weakest band
    exact, _ = cmp.levels(cmp.normalised(["123", "123"]), cmp.normalised(["123", "124"]), "exact")
    assert exact.tolist() == [cmp.IDENTICAL, 0]


def test_a_field_gets_the_similarity_its_values_suit():
    assert cmp.kind_of(cmp.normalised(["19810203", "2612-9911", "4011"])) == "edit"
    assert cmp.kind_of(cmp.normalised(["smith", "nguyen", "obrien", "lee"])) == "jaro"
    assert cmp.kind_of(cmp.normalised(["12 main street", "oak avenue north"])) == "token"


def test_a_model_calling_most_candidates_duplicates_fails_naming_the_fields():
    import pytest

    from pipelines.dedup.probabilistic import require_plausible
    from pipelines.errors import InputError

    fields = (FieldLevels("category", TRUE_M[0], TRUE_U[0]),)
    require_plausible(Model(fields, 0.2), ["category"])
    with pytest.raises(InputError, match=r"dedup\.fields \['category'\].*Nothing was written"):
        require_plausible(Model(fields, 0.8), ["category"])


def test_u_of_a_catalog_too_small_to_pair_is_uniform_and_a_real_one_sums_to_one():
    import pandas as pd

    from pipelines.dedup.probabilistic import estimate_u

    one = estimate_u(pd.DataFrame({"name": ["ann"]}), ["name"], ["jaro"], seed=0)
    assert np.allclose(one[0], 1 / cmp.N_LEVELS)
    names = pd.DataFrame({"name": cmp.normalised(["ann", "bob", "cy", "ann", "dee"])})
    u = estimate_u(names, ["name"], ["jaro"], seed=0)[0]
    assert abs(u.sum() - 1) < 1e-9 and 0.05 < u[cmp.IDENTICAL] < 0.15  # 1 pair in 10 agrees

"""Differential-privacy releases (compute/dp.py) and the budget rule.

OpenDP draws noise from the operating system and cannot be seeded, so accuracy is checked over
many draws with a tolerance whose false-failure probability is below one in a million."""

from __future__ import annotations

import math

import numpy as np
import pytest

from yaosu.compute import dp

RNG = np.random.default_rng(20261207)
ENTITIES = RNG.integers(0, 400, 2_000)  # about 5 rows per entity
VALUES = RNG.normal(50, 30, 2_000)


def _binomial_upper(n: int, p: float) -> int:
    """A count of misses whose chance under Binomial(n, p) is far below 1e-6."""
    return math.ceil(n * p + 7 * math.sqrt(n * p * (1 - p)) + 5)


def _truth(q: dp.Query, values: np.ndarray = VALUES) -> float:
    keep = dp.bound_contributions(ENTITIES, q.contributions)
    lower, upper = q.bounds or (0.0, 0.0)
    data = np.clip(values, lower, upper)[keep]
    return {"count": keep.size, "sum": data.sum(), "mean": data.mean()}[q.statistic]


@pytest.mark.parametrize(
    "query",
    [
        dp.Query("count", 0.5, contributions=3),
        dp.Query("sum", 1.0, contributions=2, bounds=(0, 100)),
        dp.Query("sum", 1.0, contributions=2, bounds=(-10, 100), integer=True),
        dp.Query("mean", 1.0, contributions=5, bounds=(0, 100)),
    ],
    ids=["count", "sum", "sum-int", "mean"],
)
def test_values_fall_within_the_reported_accuracy_at_the_expected_rate(query: dp.Query) -> None:
    values = np.round(VALUES) if query.integer else VALUES
    truth = _truth(query, values)
    draws = 300
    misses = 0
    distinct = set()
    for _ in range(draws):
        out = dp.release(query, ENTITIES, values)
        assert out.accuracy is not None and out.accuracy > 0
        assert out.epsilon == query.epsilon and out.delta == 0.0
        distinct.add(out.value)
        misses += abs(out.value - truth) > out.accuracy
    assert misses <= _binomial_upper(draws, dp.ALPHA)
    assert len(distinct) > 10  # noise is drawn


def test_histogram_counts_fall_within_the_accuracy_and_values_outside_keys_are_dropped() -> None:
    labels = RNG.choice(["a", "b", "c", "zz"], ENTITIES.size)
    keep = dp.bound_contributions(ENTITIES, 2)
    truth = {k: int((labels[keep] == k).sum()) for k in "abc"}
    q = dp.Query("histogram", 1.0, contributions=2, keys=["a", "b", "c"])
    misses = 0
    for _ in range(200):
        out = dp.release(q, ENTITIES, labels)
        assert set(out.value) == {"a", "b", "c"}
        misses += sum(abs(out.value[k] - truth[k]) > out.accuracy for k in "abc")
    assert misses <= _binomial_upper(600, dp.ALPHA)


def test_quantile_lands_near_the_true_rank() -> None:
    values = RNG.uniform(0, 100, 3_000)
    entities = np.arange(values.size)
    q = dp.Query("quantile", 2.0, contributions=1, bounds=(0, 100), quantiles=[0.5])
    # The accuracy bounds how much farther from the target rank the released candidate is
    # than the best candidate of the grid.
    best = min(abs(int((values < c).sum()) - values.size // 2) for c in np.linspace(0, 100, 101))
    ranks_off = []
    for _ in range(40):
        out = dp.release(q, entities, values)
        assert out.accuracy_unit == "rank"
        median = out.value[0.5]
        ranks_off.append(abs(int((values < median).sum()) - values.size // 2))
    misses = sum(r > best + out.accuracy for r in ranks_off)
    assert misses <= _binomial_upper(40, dp.ALPHA)


def test_clamping_is_applied_before_the_sum() -> None:
    # Every value far above the upper bound counts as the bound: the sum is near n·upper.
    entities = np.arange(1_000)
    values = np.full(1_000, 1e9)
    out = dp.release(dp.Query("sum", 1.0, bounds=(0, 10)), entities, values)
    assert abs(out.value - 10_000) <= 10 * out.accuracy
    mean = dp.release(dp.Query("mean", 1.0, bounds=(0, 10)), entities, values)
    assert 0 <= mean.value <= 10


def test_contributions_are_bounded_per_entity() -> None:
    entities = np.array(["x"] * 50 + ["y"] * 2 + ["z"])
    kept = dp.bound_contributions(entities, 3)
    assert kept.tolist() == [0, 1, 2, 50, 51, 52]
    assert dp.bounded_count(entities, 3) == 6
    for ents in (RNG.integers(0, 50, 500), RNG.integers(0, 50, 500).astype(str)):
        for n in (1, 2, 7):
            assert dp.bounded_count(ents, n) == dp.bound_contributions(ents, n).size
    # One entity with a million rows moves a count by at most N: a count of 3 entities stays
    # within the accuracy of a small count.
    many = np.array([7] * 100_000 + [8, 9])
    out = dp.release(dp.Query("count", 1.0, contributions=1), many)
    assert abs(out.value - 3) < 50


@pytest.mark.parametrize("n", [1, 2, 5, 17, 40])
@pytest.mark.parametrize("kind", ["int", "str", "sparse"])
def test_bounding_keeps_each_entitys_first_n_rows(n: int, kind: str) -> None:
    ents: np.ndarray = RNG.integers(0, 300, 3_000)
    if kind == "str":
        ents = ents.astype(str)
    elif kind == "sparse":
        ents = ents * 10**12  # not dense: encoded by hashing, not used as indices
    seen: dict[object, int] = {}
    expected = []
    for i, x in enumerate(ents.tolist()):
        seen[x] = seen.get(x, 0) + 1
        if seen[x] <= n:
            expected.append(i)
    assert dp.bound_contributions(ents, n).tolist() == expected
    assert dp.bounded_count(ents, n) == len(expected)


def test_preview_spends_nothing_and_matches_the_release() -> None:
    for q in [
        dp.Query("count", 0.3, contributions=4),
        dp.Query("sum", 0.3, contributions=4, bounds=(0, 1000)),
        dp.Query("histogram", 0.3, contributions=4, keys=[1, 2, 3]),
        dp.Query("quantile", 0.3, bounds=(0, 1), quantiles=[0.25, 0.75]),
    ]:
        before = dp.preview(q)
        values = RNG.integers(1, 4, ENTITIES.size) if q.keys else RNG.uniform(0, 1, ENTITIES.size)
        out = dp.release(q, ENTITIES, values)
        assert before.accuracy == pytest.approx(out.accuracy)
        assert before.epsilon == out.epsilon
    mean = dp.preview(dp.Query("mean", 1.0, bounds=(0, 10)))
    assert mean.accuracy is None and set(mean.parts) == {"sum", "count"}
    # Nothing was spent: the budget rule only ever sees releases the caller records.
    assert dp.remaining(dp.Budget(1.0), []) == dp.Spend(1.0, 0.0)


def test_more_epsilon_means_tighter_accuracy() -> None:
    loose = dp.preview(dp.Query("count", 0.1)).accuracy
    tight = dp.preview(dp.Query("count", 1.0)).accuracy
    assert loose is not None and tight is not None and tight < loose


@pytest.mark.parametrize(
    ("query", "param"),
    [
        (dp.Query("count", -1.0), "epsilon"),
        (dp.Query("count", 0.0), "epsilon"),
        (dp.Query("count", float("nan")), "epsilon"),
        (dp.Query("count", 100.0), "epsilon"),
        (dp.Query("count", 1.0, contributions=0), "contributions"),
        (dp.Query("sum", 1.0), "bounds"),
        (dp.Query("mean", 1.0), "bounds"),
        (dp.Query("quantile", 1.0, quantiles=[0.5]), "bounds"),
        (dp.Query("sum", 1.0, bounds=(5, 5)), "bounds"),
        (dp.Query("sum", 1.0, bounds=(0, float("inf"))), "bounds"),
        (dp.Query("sum", 1.0, bounds=(0, 1.5), integer=True), "bounds"),
        (dp.Query("histogram", 1.0), "keys"),
        (dp.Query("histogram", 1.0, keys=["a", "a"]), "keys"),
        (dp.Query("quantile", 1.0, bounds=(0, 1), quantiles=[1.0]), "quantiles"),
        (dp.Query("quantile", 1.0, bounds=(0, 1), quantiles=[0.5], candidates=[1]), "candidates"),
        (dp.Query("variance", 1.0), "statistic"),
    ],
)
def test_bad_parameters_are_refused(query: dp.Query, param: str) -> None:
    for call in (lambda: dp.preview(query), lambda: dp.release(query, ENTITIES, VALUES)):
        with pytest.raises(dp.DpBadParameter) as caught:
            call()
        assert caught.value.code == "dp_bad_parameter"
        assert caught.value.details["param"] == param


def test_values_must_match_rows_and_have_no_gaps() -> None:
    with pytest.raises(dp.DpBadParameter):
        dp.release(dp.Query("sum", 1.0, bounds=(0, 1)), ENTITIES)
    with pytest.raises(dp.DpBadParameter):
        dp.release(dp.Query("sum", 1.0, bounds=(0, 1)), [1, 2], [0.5, float("nan")])


# --- the budget ---------------------------------------------------------------------------------
def test_budget_composes_and_refuses_when_exhausted() -> None:
    budget = dp.Budget(1.0, 1e-6)
    spent: list[dp.Spend] = []
    for _ in range(10):
        left = dp.fits(budget, spent, dp.Spend(0.1))
        spent.append(dp.Spend(0.1))
    assert left.epsilon == pytest.approx(0.0, abs=1e-12)  # ten times 0.1 fits exactly
    with pytest.raises(dp.DpBudgetExhausted) as caught:
        dp.fits(budget, spent, dp.Spend(0.01))
    assert caught.value.code == "dp_budget_exhausted"
    assert caught.value.status == 409
    assert caught.value.details["left"]["epsilon"] == pytest.approx(0.0, abs=1e-9)


def test_budget_counts_delta_and_refuses_negative_spends() -> None:
    budget = dp.Budget(5.0, 1e-6)
    with pytest.raises(dp.DpBudgetExhausted):
        dp.fits(budget, [dp.Spend(0.1, 1e-6)], dp.Spend(0.1, 1e-7))
    with pytest.raises(dp.DpBadParameter):
        dp.fits(budget, [], dp.Spend(-1.0))
    assert dp.remaining(budget, [dp.Spend(2.0, 5e-7)]) == dp.Spend(3.0, 5e-7)
    # A pure-ε grant (δ = 0) refuses any δ.
    with pytest.raises(dp.DpBudgetExhausted):
        dp.fits(dp.Budget(1.0), [], dp.Spend(0.1, 1e-9))

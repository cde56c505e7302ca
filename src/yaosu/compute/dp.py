"""Differential-privacy releases 差分隐私发布: count, sum, mean, histogram and quantiles.

The privacy unit is one entity (a person or a company named by the grant's entity key), not one
row. Before any measurement each entity's rows are cut to at most ``contributions`` (N) — the
first N in the data's order — so adding or removing one entity changes at most N rows. Values
are clamped to the bounds the provider declared for the column. The exact aggregate of the
bounded data is computed here (numpy), and OpenDP's mechanism adds the noise, calibrated to the
sensitivity that follows from N and the bounds:

================  ==============================================  ==========================
statistic         sensitivity when one entity comes or goes       OpenDP mechanism
================  ==============================================  ==========================
count             N                                               discrete Laplace (int)
sum               N·max(|lower|, |upper|) (+ rounding slack)      Laplace (float or int)
mean              sum and count, ε split in half                  the two above
histogram         N in L1 over the declared keys                  discrete Laplace per key
quantile          N in the score (rank) of each candidate         exponential (``private_
                                                                  quantile``), per quantile
================  ==============================================  ==========================

Every release says its ε (δ is 0: all mechanisms here are pure ε-DP) and its accuracy: the
half-width of the 95 % interval around the released value, from OpenDP's accuracy helpers;
``preview`` gives the same figures without touching data or drawing noise. Spending is decided
by ``fits`` (basic composition) — the one place a budget is checked.

OpenDP draws noise from the operating system's randomness and cannot be seeded; tests check
accuracy statistically over many draws.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import opendp.prelude as dp
import pyarrow as pa

from yaosu.kit.errors import Conflict, Invalid

dp.enable_features("contrib")  # OpenDP ≥ 0.12 gates its un-vetted constructors behind this

__all__ = [
    "STATISTICS",
    "Budget",
    "DpBadParameter",
    "DpBudgetExhausted",
    "Preview",
    "Query",
    "Release",
    "Spend",
    "bound_contributions",
    "bounded_count",
    "fits",
    "preview",
    "release",
    "remaining",
]

Statistic = Literal["count", "sum", "mean", "histogram", "quantile"]
STATISTICS: tuple[Statistic, ...] = ("count", "sum", "mean", "histogram", "quantile")
ALPHA = 0.05  # the accuracy is the half-width of the (1 − ALPHA) interval
MAX_EPSILON = 10.0  # a single release asking more is a mistake, not a statistic
MAX_CONTRIBUTIONS = 10_000
DEFAULT_CANDIDATES = 101
_PASSES = 16  # up to this many contributions, bound by passes rather than by sorting


class DpBadParameter(Invalid):
    """A release asks for something that cannot be released as asked; ``details.param``."""

    code = "dp_bad_parameter"


class DpBudgetExhausted(Conflict):
    """The grant's privacy budget does not cover this release."""

    code = "dp_budget_exhausted"


def _bad(param: str, en: str, zh: str, **details: Any) -> DpBadParameter:
    return DpBadParameter(en, zh, param=param, **details)


# --- the budget: basic composition --------------------------------------------------------------
@dataclass(frozen=True)
class Spend:
    epsilon: float
    delta: float = 0.0


Budget = Spend  # a grant's total allowance has the same shape as one spend
_SLACK = 1e-9  # floating-point sums of spends must not refuse an exact fit


def remaining(budget: Budget, spent: Iterable[Spend]) -> Spend:
    """What is left under basic composition: the ε (and δ) of all releases add up."""
    spent = list(spent)
    eps = math.fsum(s.epsilon for s in spent)
    delta = math.fsum(s.delta for s in spent)
    return Spend(max(0.0, budget.epsilon - eps), max(0.0, budget.delta - delta))


def fits(budget: Budget, spent: Iterable[Spend], ask: Spend) -> Spend:
    """Refuse `dp_budget_exhausted` unless ``ask`` fits in what ``spent`` left of ``budget``;
    return what will be left after it. Basic (sequential) composition: a sequence of releases
    with (εᵢ, δᵢ) is (Σεᵢ, Σδᵢ)-DP, whatever was asked and whatever came out. Tighter
    (advanced, zCDP) accounting would allow more releases; this bound is simple and never
    under-counts. The database must run this inside the same locked transaction that records
    the spend, so that concurrent releases cannot both fit."""
    spent = list(spent)
    if ask.epsilon < 0 or ask.delta < 0 or not math.isfinite(ask.epsilon + ask.delta):
        raise _bad("epsilon", "ε and δ must be finite and ≥ 0.", "ε 与 δ 必须为有限的非负数。")
    left = remaining(budget, spent)
    if ask.epsilon > left.epsilon + _SLACK or ask.delta > left.delta + _SLACK * 1e-3:
        raise DpBudgetExhausted(
            f"The privacy budget does not cover this release: asked ε={ask.epsilon:g}"
            f" (δ={ask.delta:g}), left ε={left.epsilon:g} (δ={left.delta:g}).",
            f"隐私预算不足：本次需要 ε={ask.epsilon:g}（δ={ask.delta:g}），"
            f"剩余 ε={left.epsilon:g}（δ={left.delta:g}）。",
            asked={"epsilon": ask.epsilon, "delta": ask.delta},
            left={"epsilon": left.epsilon, "delta": left.delta},
        )
    return Spend(max(0.0, left.epsilon - ask.epsilon), max(0.0, left.delta - ask.delta))


# --- queries ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    """One release. ``bounds`` are the provider's declared clamping bounds of ``column``
    (required for sum, mean and quantile); ``keys`` the declared or public categories of a
    histogram; ``quantiles`` in (0, 1); ``candidates`` the quantile's candidate values
    (default: 101 evenly spaced over the bounds)."""

    statistic: str
    epsilon: float
    contributions: int = 1  # N: rows one entity may contribute after bounding
    column: str | None = None
    bounds: tuple[float, float] | None = None
    integer: bool = False  # the column holds integers (exact sums, integer noise)
    keys: Sequence[Any] | None = None
    quantiles: Sequence[float] | None = None
    candidates: Sequence[float] | None = None


@dataclass(frozen=True)
class Preview:
    statistic: str
    epsilon: float
    delta: float
    alpha: float
    accuracy: float | None  # 95 % half-width (value units; rank units for quantiles)
    accuracy_unit: str  # "value" or "rank"
    scale: float  # the noise scale of the mechanism (per part for a mean)
    parts: dict[str, float] = field(default_factory=dict)  # a mean's sum and count accuracy


@dataclass(frozen=True)
class Release:
    statistic: str
    value: Any  # int/float; {key: count} for a histogram; {q: value} for quantiles
    epsilon: float
    delta: float
    alpha: float
    accuracy: float | None
    accuracy_unit: str
    parts: dict[str, float] = field(default_factory=dict)


def _validate(q: Query) -> None:
    if q.statistic not in STATISTICS:
        raise _bad(
            "statistic",
            f"Unknown statistic {q.statistic!r}; one of {', '.join(STATISTICS)}.",
            f"未知的统计量 {q.statistic!r}，可选：{'、'.join(STATISTICS)}。",
        )
    if not (isinstance(q.epsilon, int | float) and math.isfinite(q.epsilon) and q.epsilon > 0):
        raise _bad("epsilon", "ε must be a positive number.", "ε 必须为正数。")
    if q.epsilon > MAX_EPSILON:
        raise _bad(
            "epsilon",
            f"ε of one release may be at most {MAX_EPSILON:g}.",
            f"单次发布的 ε 不得超过 {MAX_EPSILON:g}。",
        )
    if not (isinstance(q.contributions, int) and 1 <= q.contributions <= MAX_CONTRIBUTIONS):
        raise _bad(
            "contributions",
            f"Contributions per entity must be an integer from 1 to {MAX_CONTRIBUTIONS}.",
            f"每个主体的贡献行数必须为 1 到 {MAX_CONTRIBUTIONS} 的整数。",
        )
    if q.statistic in ("sum", "mean", "quantile"):
        if q.bounds is None:
            raise _bad(
                "bounds",
                f"A {q.statistic} needs the column's declared clamping bounds.",
                "该统计量需要字段声明的截断上下界。",
            )
        lower, upper = q.bounds
        if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
            raise _bad(
                "bounds",
                "Clamping bounds must be finite with lower < upper.",
                "截断上下界必须为有限数且下界小于上界。",
            )
        if q.integer and not (float(lower).is_integer() and float(upper).is_integer()):
            raise _bad("bounds", "Integer columns need integer bounds.", "整数字段需要整数上下界。")
    if q.statistic == "histogram" and (not q.keys or len(set(q.keys)) != len(q.keys)):
        raise _bad(
            "keys",
            "A histogram needs its declared keys, each once.",
            "直方图需要声明的分类键，且不得重复。",
        )
    if q.statistic == "quantile":
        if not q.quantiles or not all(0 < p < 1 for p in q.quantiles):
            raise _bad(
                "quantiles",
                "Quantiles must lie strictly between 0 and 1.",
                "分位点必须在 0 与 1 之间。",
            )
        if q.candidates is not None and (
            len(q.candidates) < 2 or any(not math.isfinite(c) for c in q.candidates)
        ):
            raise _bad(
                "candidates", "Give at least two finite candidates.", "至少需要两个有限的候选值。"
            )


# --- mechanisms (built from the query only: no data) ---------------------------------------------
def _count_mech(n: int, eps: float) -> tuple[Any, float]:
    scale = n / eps
    mech = dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int), scale)
    return mech, float(dp.discrete_laplacian_scale_to_accuracy(scale, ALPHA))


def _sum_sensitivity(q: Query) -> float:
    lower, upper = q.bounds or (0.0, 0.0)
    return q.contributions * max(abs(lower), abs(upper))


@functools.lru_cache(maxsize=256)
def _float_laplace_scale(sens: float, eps: float) -> float:
    """The smallest scale OpenDP's float Laplace map admits for (sens, ε) (a binary search)."""
    domain = dp.atom_domain(T=float, nan=False)
    return float(
        dp.binary_search_param(
            lambda s: dp.m.make_laplace(domain, dp.absolute_distance(T=float), s),
            d_in=sens,
            d_out=eps,
        )
    )


def _sum_mech(q: Query, eps: float, alpha: float = ALPHA) -> tuple[Any, float, float]:
    sens = _sum_sensitivity(q)
    if q.integer:
        scale = sens / eps
        mech = dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int), scale)
        return mech, scale, float(dp.discrete_laplacian_scale_to_accuracy(scale, alpha))
    # The float sum is computed correctly rounded (math.fsum); one entity can move it by its
    # exact contribution plus at most one ulp of the total on either side, hence the slack.
    sens = sens * (1 + 1e-12) + 2 * math.ulp(max(1.0, sens) * 1e6)
    domain = dp.atom_domain(T=float, nan=False)
    scale = _float_laplace_scale(sens, eps)
    mech = dp.m.make_laplace(domain, dp.absolute_distance(T=float), scale)
    _check_privacy(mech, sens, eps)
    return mech, scale, float(dp.laplacian_scale_to_accuracy(scale, alpha))


def _hist_mech(q: Query, eps: float) -> tuple[Any, float, float]:
    scale = q.contributions / eps
    domain = dp.vector_domain(dp.atom_domain(T=int), size=len(q.keys or ()))
    mech = dp.m.make_laplace(domain, dp.l1_distance(T=int), scale)
    return mech, scale, float(dp.discrete_laplacian_scale_to_accuracy(scale, ALPHA))


def _candidates(q: Query) -> list[float]:
    if q.candidates is not None:
        return sorted({float(c) for c in q.candidates})
    lower, upper = q.bounds or (0.0, 1.0)
    return [float(c) for c in np.linspace(lower, upper, DEFAULT_CANDIDATES)]


@functools.lru_cache(maxsize=256)
def _quantile_scale(cands: tuple[float, ...], p: float, n: int, eps: float) -> float:
    domain = dp.vector_domain(dp.atom_domain(T=float, nan=False))
    return float(
        dp.binary_search_param(
            lambda s: dp.m.make_private_quantile(
                domain, dp.symmetric_distance(), dp.max_divergence(), list(cands), p, s
            ),
            d_in=n,
            d_out=eps,
        )
    )


def _quantile_mech(q: Query, p: float, eps: float) -> tuple[Any, float, float]:
    domain = dp.vector_domain(dp.atom_domain(T=float, nan=False))
    cands = _candidates(q)
    scale = _quantile_scale(tuple(cands), p, q.contributions, eps)
    mech = dp.m.make_private_quantile(
        domain, dp.symmetric_distance(), dp.max_divergence(), cands, p, scale
    )
    # Exponential mechanism: the released candidate's score is within scale·ln(m/α) of the best
    # candidate's with probability ≥ 1 − α. OpenDP's score is at least the rank distance from
    # the target rank, so this bounds (conservatively) how many ranks farther from the target
    # the release is than the best candidate of the grid.
    return mech, scale, scale * math.log(len(cands) / ALPHA)


def _check_privacy(mech: Any, d_in: float, eps: float) -> None:
    # OpenDP's own privacy map must agree with our calibration; never release otherwise.
    if mech.map(d_in) > eps * (1 + 1e-9):
        raise RuntimeError(f"calibration error: map({d_in}) = {mech.map(d_in)} > ε = {eps}")


def preview(q: Query) -> Preview:
    """The ε, δ and accuracy a release would have, without data and without noise."""
    _validate(q)
    eps = float(q.epsilon)
    if q.statistic == "count":
        _, acc = _count_mech(q.contributions, eps)
        return Preview(q.statistic, eps, 0.0, ALPHA, acc, "value", q.contributions / eps)
    if q.statistic == "sum":
        _, scale, acc = _sum_mech(q, eps)
        return Preview(q.statistic, eps, 0.0, ALPHA, acc, "value", scale)
    if q.statistic == "mean":
        # Each part at α/2 so that both hold together with probability ≥ 1 − α (Bonferroni);
        # the mean's half-width depends on the count, so only the parts are known in advance.
        _, scale, acc_sum = _sum_mech(q, eps / 2, ALPHA / 2)
        count_scale = q.contributions / (eps / 2)
        acc_count = float(dp.discrete_laplacian_scale_to_accuracy(count_scale, ALPHA / 2))
        parts = {"sum": acc_sum, "count": acc_count}
        return Preview(q.statistic, eps, 0.0, ALPHA, None, "value", scale, parts)
    if q.statistic == "histogram":
        _, scale, acc = _hist_mech(q, eps)
        return Preview(q.statistic, eps, 0.0, ALPHA, acc, "value", scale)
    each = eps / len(q.quantiles or ())
    built = [_quantile_mech(q, p, each) for p in q.quantiles or ()]
    acc = max(b[2] for b in built)  # the widest of the quantiles
    return Preview(q.statistic, eps, 0.0, ALPHA, acc, "rank", max(b[1] for b in built))


# --- bounding contributions -------------------------------------------------------------------
def _codes(entities: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Dense non-negative integer codes of the entity keys (equal keys, equal codes)."""
    ent = np.asarray(entities)
    if ent.dtype.kind in "iu" and ent.min() >= 0 and ent.max() < 4 * ent.size + 1_000_000:
        return ent.astype(np.int64, copy=False)  # already dense integers
    try:  # hash-based, linear time
        encoded = pa.array(ent).dictionary_encode()
        return np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    except (pa.ArrowException, TypeError, ValueError):  # mixed types: compare as text
        return np.unique(ent.astype(str), return_inverse=True)[1].astype(np.int64)


def bound_contributions(entities: Sequence[Any] | np.ndarray, n: int) -> np.ndarray:
    """Indices (ascending) of the rows kept when each entity keeps only its first ``n`` rows in
    the data's order. Entities with at most ``n`` rows keep all of them without sorting; only
    the rows of entities above ``n`` are ranked."""
    if len(entities) == 0:
        return np.zeros(0, dtype=np.int64)
    codes = _codes(entities)
    heavy = np.bincount(codes)[codes] > n
    if not heavy.any():
        return np.arange(codes.size)
    rows = np.flatnonzero(heavy)
    keep = ~heavy
    if n <= _PASSES:
        # n passes, each keeping one row per heavy entity: linear time per pass. Assigning in
        # reverse order leaves each entity's first remaining row in its slot; whichever row an
        # assignment keeps, a pass keeps exactly one row per entity, so the bound holds anyway.
        slot = np.empty(int(codes.max()) + 1, dtype=np.int64)
        for _ in range(n):
            here = codes[rows]
            slot[here[::-1]] = rows[::-1]
            chosen = slot[here] == rows
            keep[rows[chosen]] = True
            rows = rows[~chosen]
        return np.flatnonzero(keep)
    order = np.argsort(codes[rows], kind="stable")
    ranked = codes[rows][order]
    starts = np.r_[True, ranked[1:] != ranked[:-1]]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(ranked.size), 0))
    keep[rows[order[(np.arange(ranked.size) - group_start) < n]]] = True
    return np.flatnonzero(keep)


def bounded_count(entities: Sequence[Any] | np.ndarray, n: int) -> int:
    """The number of rows left after ``bound_contributions``: Σ min(rows of entity, n)."""
    if len(entities) == 0:
        return 0
    return int(np.minimum(np.bincount(_codes(entities)), n).sum())


def _numbers(values: Sequence[Any] | np.ndarray, q: Query) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if np.isnan(arr).any():
        raise _bad("values", "The column contains missing values.", "字段含有缺失值。")
    lower, upper = q.bounds or (0.0, 0.0)
    return np.clip(arr, lower, upper)


# --- releases ---------------------------------------------------------------------------------
def release(
    q: Query,
    entities: Sequence[Any] | np.ndarray,
    values: Sequence[Any] | np.ndarray | None = None,
) -> Release:
    """Release ``q`` over rows given as the entity key of each row and (except for a count)
    the column's value of each row. The caller has checked the budget with ``fits``."""
    _validate(q)
    eps = float(q.epsilon)
    n = q.contributions
    if q.statistic == "count":
        mech, acc = _count_mech(n, eps)
        _check_privacy(mech, n, eps)
        exact = bounded_count(entities, n)
        return Release("count", int(mech(exact)), eps, 0.0, ALPHA, acc, "value")
    if values is None or len(values) != len(entities):
        raise _bad(
            "values", "Give one value per row for this statistic.", "该统计量需要每行一个取值。"
        )
    keep = bound_contributions(entities, n)
    if q.statistic == "histogram":
        mech, _scale, acc = _hist_mech(q, eps)
        _check_privacy(mech, n, eps)
        keys = list(q.keys or ())
        tally = pa.array(np.asarray(values)[keep]).value_counts().to_pylist()
        seen = {t["values"]: t["counts"] for t in tally}
        counts = [int(seen.get(k, 0)) for k in keys]  # values outside the keys are dropped
        noisy = mech(counts)
        return Release(
            "histogram", dict(zip(keys, noisy, strict=True)), eps, 0.0, ALPHA, acc, "value"
        )
    data = _numbers(np.asarray(values)[keep], q)
    if q.statistic == "sum":
        return _release_sum(q, data, eps)
    if q.statistic == "mean":
        return _release_mean(q, data, eps)
    each = eps / len(q.quantiles or ())
    out: dict[float, float] = {}
    acc = 0.0
    listed = data.tolist()
    for p in q.quantiles or ():
        mech, _scale, acc_p = _quantile_mech(q, p, each)
        _check_privacy(mech, n, each)
        acc = max(acc, acc_p)
        out[p] = float(mech(listed))
    return Release("quantile", out, eps, 0.0, ALPHA, acc, "rank")


def _exact_sum(q: Query, data: np.ndarray) -> int | float:
    if q.integer:
        return int(np.round(data).astype(np.int64).sum())
    return math.fsum(data.tolist())


def _release_sum(q: Query, data: np.ndarray, eps: float) -> Release:
    mech, _scale, acc = _sum_mech(q, eps)
    value = mech(_exact_sum(q, data))
    return Release("sum", value, eps, 0.0, ALPHA, acc, "value")


def _release_mean(q: Query, data: np.ndarray, eps: float) -> Release:
    lower, upper = q.bounds or (0.0, 0.0)
    sum_mech, _s, acc_sum = _sum_mech(q, eps / 2, ALPHA / 2)
    count_scale = q.contributions / (eps / 2)
    count_mech = dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int), count_scale)
    _check_privacy(count_mech, q.contributions, eps / 2)
    acc_count = float(dp.discrete_laplacian_scale_to_accuracy(count_scale, ALPHA / 2))
    total = float(sum_mech(_exact_sum(q, data)))
    count = int(count_mech(int(data.size)))
    mean = min(upper, max(lower, total / max(count, 1)))
    # Post-processing of the two released values: the corners of the box both intervals hold
    # in (together with probability ≥ 95 %) bound the mean; at most the whole range.
    width = upper - lower
    if count - acc_count <= 0:
        half = width
    else:
        corners = [
            (total + ds) / (count + dc)
            for ds in (-acc_sum, acc_sum)
            for dc in (-acc_count, acc_count)
        ]
        half = min(width, max(abs(min(upper, max(lower, c)) - mean) for c in corners))
    parts = {"sum": acc_sum, "count": acc_count}
    return Release("mean", mean, eps, 0.0, ALPHA, half, "value", parts)

"""Disclosure control on a sandbox result: the ``k`` rule (最小分组规则).

`check` has already rewritten an aggregate query so its outermost SELECT counts the distinct
entity keys behind each output group in a helper column (inner aggregated scopes filter their
own groups with HAVING). `release` runs the query in the data plane's sandbox, drops every
group below ``k``, says how many it dropped, and strips the helper column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from yaosu.dataplane.sandbox import Limits, Sandbox, View

from .check import K_COLUMN, CheckedQuery, Disclosure, TableSchema, check

__all__ = ["Released", "release", "run_sql", "suppress"]


@dataclass(frozen=True)
class Released:
    table: pa.Table
    suppressed: int  # output groups dropped for standing for fewer than k entities
    truncated: bool
    seconds: float
    checked: CheckedQuery
    exact: bool = True  # False: every group cleared k on the cheap lower bound alone


def suppress(table: pa.Table, checked: CheckedQuery) -> tuple[pa.Table, int]:
    """Drop rows whose helper count is below k (or null); return the rest without it."""
    if K_COLUMN not in table.column_names:
        return table, 0
    keep = pc.fill_null(pc.greater_equal(table.column(K_COLUMN), checked.k), False)
    kept = table.filter(keep)
    return kept.drop_columns([K_COLUMN]), table.num_rows - kept.num_rows


def release(sandbox: Sandbox, checked: CheckedQuery) -> Released:
    """Run a checked query in ``sandbox`` and apply the k rule to its result.

    When the checker could bound each group's entity count from below cheaply (known rows per
    entity), that form runs first; only if some group falls short of k on the bound does the
    exact COUNT(DISTINCT) form run, so suppression always follows the exact count."""
    if checked.fast_sql is not None:
        first = sandbox.run(checked.fast_sql)
        clears = pc.fill_null(pc.greater_equal(first.table.column(K_COLUMN), checked.k), False)
        if not first.truncated and pc.all(clears).as_py() is not False:  # null: no rows
            table, dropped = suppress(first.table, checked)
            return Released(table, dropped, False, first.seconds, checked, exact=False)
    result = sandbox.run(checked.sql)
    table, dropped = suppress(result.table, checked)
    return Released(table, dropped, result.truncated, result.seconds, checked)


def run_sql(
    sql: str,
    schema: Mapping[str, TableSchema],
    views: Sequence[View],
    disclosure: Disclosure | None = None,
    limits: Limits | None = None,
) -> Released:
    """Check, run and release one query: the whole path a compute grant's SQL takes."""
    checked = check(sql, schema, disclosure)
    with Sandbox(views, limits) as sandbox:
        return release(sandbox, checked)

"""Differential-privacy release benchmark (issue 16, PRC-2): `python -m bench dp [--quick]`.

count, sum, mean and histogram over 1,000,000 rows (--quick) or 10,000,000, each released by
``compute/dp.py`` (contributions bounded per entity, values clamped, OpenDP noise) against the
plain aggregate of the same data run by DuckDB (an in-memory Arrow table). Rounds alternate
the two sides; prints the median times and the median of the round-by-round ratios (target ≤ 1.5×).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from bench.common import paired

KEYS = ["A", "B", "C", "D", "E", "F", "G", "H"]


PLAIN_SQL = {
    "count": "SELECT count(*) FROM t",
    "sum": "SELECT sum(v) FROM t",
    "mean": "SELECT avg(v) FROM t",
    "histogram": "SELECT label, count(*) FROM t GROUP BY label",
}


def _plain(con: Any, stat: str) -> Any:
    """What the node would answer without DP: the aggregate run by DuckDB."""
    return con.execute(PLAIN_SQL[stat]).fetchall()


def main(quick: bool = False) -> None:
    from yaosu.compute import dp

    rows = 1_000_000 if quick else 10_000_000
    rounds = 3 if quick else 5
    print(f"dp: releases over {rows:,} rows, {rounds} rounds (shared machine)")
    rng = np.random.default_rng(7)
    entities = rng.integers(0, rows // 5, rows)
    values = rng.gamma(2.0, 3000.0, rows)
    labels = rng.choice(np.array(KEYS), rows)
    queries = {
        "count": dp.Query("count", 1.0, contributions=5),
        "sum": dp.Query("sum", 1.0, contributions=5, bounds=(0, 50_000)),
        "mean": dp.Query("mean", 1.0, contributions=5, bounds=(0, 50_000)),
        "histogram": dp.Query("histogram", 1.0, contributions=5, keys=KEYS),
    }
    import duckdb

    con = duckdb.connect()
    table = pa.table({"entity": entities, "v": values, "label": labels})
    con.register("t", table)
    for stat, q in queries.items():
        data = labels if stat == "histogram" else values
        ours: list[float] = []
        theirs: list[float] = []
        ratios: list[float] = []
        released: Any = None
        for _ in range(rounds):
            run: Callable[[], Any] = lambda: dp.release(q, entities, data)  # noqa: E731, B023
            started = time.perf_counter()
            released = run()
            t_ours = time.perf_counter() - started
            started = time.perf_counter()
            _plain(con, stat)
            t_plain = time.perf_counter() - started
            ours.append(t_ours)
            theirs.append(t_plain)
            ratios.append(t_ours / t_plain)
        acc = released.accuracy if released.accuracy is not None else float("nan")
        print(
            f"  {stat}: release {statistics.median(ours):.3f} s,"
            f" plain DuckDB {statistics.median(theirs):.3f} s;"
            f" ratio {statistics.median(ratios):.1f}× (target ≤ 1.5×); ε={q.epsilon:g},"
            f" ±{acc:.1f} at 95 %"
        )
        print(paired(stat, ratios))
        if stat != "count":
            started = time.perf_counter()
            dp.bound_contributions(entities, q.contributions)
            print(
                f"  {stat}: of which bounding contributions {time.perf_counter() - started:.3f} s"
            )


if __name__ == "__main__":
    main()

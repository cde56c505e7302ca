"""Sandbox SQL benchmark (issue 16, PRC-1).

1. Check time: parse + resolution + data-flow analysis + k rewrite of a set of realistic
   compute queries, p50 and p95 over many runs (target p95 ≤ 5 ms).
2. End to end: a persons table of 10,000,000 rows (1,000,000 with --quick) and a tax table of
   the same size in Parquet; three queries — a grouped aggregate under the k rule, a join of
   the two tables, a window over grouped results — each run (a) through the whole sandbox
   path (check, a fresh locked DuckDB connection with the masked views, run, k suppression)
   and (b) as the same SQL typed by hand into plain DuckDB over views of the same files.
   Rounds alternate the two sides; prints the median time of each and the median of the
   round-by-round ratios (target ≤ 1.3×). The persons table is a register (one row per
   person) and the tax table's most rows per person is measured once, as a version profile
   would hold it, so the k rule can count from a lower bound before it counts exactly. For
   information, also (c): plain DuckDB running the exact k-rewritten SQL.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import paired

QUERIES = {
    "grouped aggregate (k rule)": (
        "SELECT district, industry, count(*) AS n, avg(salary) AS mean, sum(salary) AS total "
        "FROM persons GROUP BY district, industry ORDER BY district, industry"
    ),
    "join of two tables": (
        "SELECT p.district, t.month, sum(t.amount) AS total FROM persons p "
        "JOIN tax t ON p.pid = t.pid GROUP BY p.district, t.month"
    ),
    "window over groups": (
        "WITH m AS (SELECT district, month, sum(amount) AS total FROM persons p "
        "JOIN tax t ON p.pid = t.pid GROUP BY district, month) "
        "SELECT district, month, total, "
        "sum(total) OVER (PARTITION BY district ORDER BY month) AS running FROM m"
    ),
}

CHECKED = [
    *QUERIES.values(),
    "SELECT district, count(*) FROM persons WHERE age > 60 AND district IN ('d1', 'd2') "
    "GROUP BY district HAVING count(*) > 20 ORDER BY 2 DESC LIMIT 10",
    "WITH y AS (SELECT pid, district, salary * 12 AS yearly FROM persons) "
    "SELECT district, avg(yearly), stddev(yearly) FROM y GROUP BY district",
    "SELECT count(*) FROM persons WHERE pid IN (SELECT pid FROM tax WHERE month = '2024-03')",
    "SELECT substr(district, 1, 2) AS city, sum(CASE WHEN salary > 10000 THEN 1 ELSE 0 END) "
    "FROM persons GROUP BY city",
    "SELECT avg(n) FROM (SELECT district, count(*) AS n FROM persons GROUP BY district)",
]


def _schema(tax_max_rows: int | None = None) -> dict[str, object]:
    """The grant's schema; ``tax_max_rows`` is the most rows one person has in the tax table,
    which a version's profile knows (computed once per immutable version, not per query)."""
    from yaosu.compute.check import TableSchema

    return {
        "persons": TableSchema(
            {
                "pid": "join_key",
                "age": "plaintext",
                "district": "group_by",
                "industry": "group_by",
                "salary": "aggregate",
                "phone": "hidden",
            },
            entity_key="pid",
            entity_max_rows=1,  # a register: one row per person
        ),
        "tax": TableSchema(
            {"pid": "join_key", "month": "group_by", "amount": "aggregate"},
            entity_key="pid",
            entity_max_rows=tax_max_rows,
        ),
    }


def generate(folder: Path, rows: int) -> dict[str, Path]:
    import duckdb

    paths = {"persons": folder / "persons.parquet", "tax": folder / "tax.parquet"}
    conn = duckdb.connect()
    conn.execute(
        f"""COPY (SELECT 'p' || i AS pid, 18 + i % 70 AS age, 'd' || (i % 16) AS district,
                  'ind' || (hash(i) % 20) AS industry, 3000 + (hash(i * 7) % 20000) AS salary,
                  '13' || lpad((i % 1000000000)::VARCHAR, 9, '0') AS phone
           FROM range({rows}) t(i)) TO '{paths["persons"]}' (FORMAT parquet)"""
    )
    conn.execute(
        f"""COPY (SELECT 'p' || (hash(i) % {rows}) AS pid,
                  '2024-' || lpad((1 + i % 12)::VARCHAR, 2, '0') AS month,
                  (hash(i * 3) % 5000) / 10.0 AS amount
           FROM range({rows}) t(i)) TO '{paths["tax"]}' (FORMAT parquet)"""
    )
    conn.close()
    return paths


def _view_sql(paths: dict[str, Path]) -> dict[str, str]:
    # The grant's view: projection and masking applied (the phone is masked, not granted out).
    return {
        "persons": "SELECT pid, age, district, industry, salary, "
        f"left(phone, 3) || '********' AS phone FROM read_parquet('{paths['persons']}')",
        "tax": f"SELECT pid, month, amount FROM read_parquet('{paths['tax']}')",
    }


def max_rows_per_entity(path: Path) -> int:
    import duckdb

    row = duckdb.sql(
        f"SELECT max(c) FROM (SELECT pid, count(*) AS c FROM read_parquet('{path}') GROUP BY pid)"
    ).fetchall()[0]
    return int(row[0])


def sandboxed(sql: str, paths: dict[str, Path], tax_max_rows: int) -> tuple[float, int]:
    from yaosu.compute.check import Disclosure
    from yaosu.compute.disclosure import run_sql
    from yaosu.dataplane.sandbox import Limits, View

    views = [View(n, s, (paths[n],)) for n, s in _view_sql(paths).items()]
    started = time.perf_counter()
    released = run_sql(
        sql,
        _schema(tax_max_rows),
        views,
        Disclosure(k=10),
        Limits(seconds=600, memory="8GB", threads=2),
    )  # type: ignore[arg-type]
    return time.perf_counter() - started, released.table.num_rows


def plain(sql: str, paths: dict[str, Path]) -> tuple[float, int]:
    import duckdb

    started = time.perf_counter()
    conn = duckdb.connect()
    conn.execute("SET threads = 2")
    for name, select in _view_sql(paths).items():
        conn.execute(f'CREATE VIEW "{name}" AS {select}')
    table = conn.sql(sql).to_arrow_table()
    conn.close()
    return time.perf_counter() - started, table.num_rows


def check_times(runs: int) -> None:
    from yaosu.compute.check import check

    schema = _schema()
    times = []
    for _ in range(runs):
        for sql in CHECKED:
            started = time.perf_counter()
            check(sql, schema)  # type: ignore[arg-type]
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p50 = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    print(
        f"  check time over {len(times)} checks of {len(CHECKED)} queries: "
        f"p50 {p50:.2f} ms, p95 {p95:.2f} ms (target p95 ≤ 5 ms)"
    )


def main(quick: bool = False) -> None:
    rows = 1_000_000 if quick else 10_000_000
    rounds = 3 if quick else 5
    print(f"compute: sandbox SQL, {rows:,} rows per table, {rounds} rounds (shared machine)")
    check_times(40 if quick else 200)
    folder = Path(tempfile.mkdtemp(prefix="yaosu-bench-compute-"))
    try:
        started = time.perf_counter()
        paths = generate(folder, rows)
        print(f"  generated Parquet in {time.perf_counter() - started:.1f} s")
        tax_max_rows = max_rows_per_entity(paths["tax"])
        print(f"  most tax rows of one person (the version profile's bound): {tax_max_rows}")
        from yaosu.compute.check import check

        for label, sql in QUERIES.items():
            rewritten = check(sql, _schema()).sql  # type: ignore[arg-type]  # exact form
            ours, theirs, with_k, ratios, k_ratios = [], [], [], [], []
            for _ in range(rounds):
                t_ours, n_ours = sandboxed(sql, paths, tax_max_rows)
                t_plain, n_plain = plain(sql, paths)
                t_k, _n = plain(rewritten, paths)
                ours.append(t_ours)
                theirs.append(t_plain)
                with_k.append(t_k)
                ratios.append(t_ours / t_plain)
                k_ratios.append(t_ours / t_k)
            print(
                f"  {label}: sandbox {statistics.median(ours):.3f} s ({n_ours} rows after k), "
                f"plain DuckDB {statistics.median(theirs):.3f} s ({n_plain} rows); "
                f"ratio {statistics.median(ratios):.2f}× (target ≤ 1.3×)"
            )
            print(paired(label, ratios))
            # What the sandbox itself costs, apart from the k rule's COUNT(DISTINCT entity):
            # plain DuckDB running the rewritten SQL.
            print(
                f"  {label}: plain DuckDB on the k-rewritten SQL {statistics.median(with_k):.3f} s;"
                f" sandbox / that {statistics.median(k_ratios):.2f}×"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

"""The sandbox on real DuckDB over real Parquet files: k suppression with exact counts, joins,
windows, the time and memory limits, and no file access from inside even without the checker."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.compute.test_check import ALLOWED, SCHEMA
from yaosu.compute.check import (
    ComputeRefused,
    ComputeSyntaxError,
    Disclosure,
    TableSchema,
    check,
)
from yaosu.compute.disclosure import release, run_sql
from yaosu.dataplane.sandbox import Limits, Sandbox, SandboxError, View

PEOPLE = 2_000


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """persons: 2,000 people in districts d0..d9 (200 each) plus 'tiny' with 3 people;
    tax: two months per person; codes: a lookup table without an entity key."""
    folder = tmp_path_factory.mktemp("compute")
    paths = {name: folder / f"{name}.parquet" for name in ("persons", "tax", "codes")}
    conn = duckdb.connect()
    conn.execute(
        f"""COPY (
          SELECT 'p' || i AS pid, 'name' || i AS name, 20 + i % 50 AS age,
                 'd' || (i % 10) AS district, 'ind' || (i % 3) AS industry,
                 1000.0 + i AS salary, '138' || i AS phone
          FROM range({PEOPLE}) t(i)
          UNION ALL
          SELECT 'x' || i, 'tiny' || i, 30, 'tiny', 'ind0', 99999.0, '139' || i FROM range(3) t(i)
        ) TO '{paths["persons"]}' (FORMAT parquet)"""
    )
    conn.execute(
        f"""COPY (
          SELECT 'p' || i AS pid, m AS month, 10.0 * (i % 7) AS amount
          FROM range({PEOPLE}) t(i), (VALUES ('2024-01'), ('2024-02')) v(m)
        ) TO '{paths["tax"]}' (FORMAT parquet)"""
    )
    conn.execute(
        f"""COPY (SELECT 'd' || i AS district, 'label' || (i % 2) AS label FROM range(10) t(i))
        TO '{paths["codes"]}' (FORMAT parquet)"""
    )
    conn.close()
    return paths


def _views(files: dict[str, Path]) -> list[View]:
    # The persons view masks the phone column the way a grant's view would.
    return [
        View(
            "persons",
            "SELECT pid, name, age, district, industry, salary, "
            f"left(phone, 3) || '****' AS phone FROM read_parquet('{files['persons']}')",
            (files["persons"],),
        ),
        View("tax", f"SELECT * FROM read_parquet('{files['tax']}')", (files["tax"],)),
        View("codes", f"SELECT * FROM read_parquet('{files['codes']}')", (files["codes"],)),
    ]


def test_grouped_aggregate_suppresses_groups_below_k(files: dict[str, Path]) -> None:
    released = run_sql(
        "SELECT district, count(*) AS n, avg(salary) AS mean FROM persons "
        "GROUP BY district ORDER BY district",
        SCHEMA,
        _views(files),
        Disclosure(k=10),
    )
    rows = released.table.to_pylist()
    assert [r["district"] for r in rows] == [f"d{i}" for i in range(10)]
    assert all(r["n"] == PEOPLE // 10 for r in rows)
    assert released.suppressed == 1  # 'tiny' stands for 3 people
    assert released.table.column_names == ["district", "n", "mean"]


def test_k_counts_distinct_entities_not_rows(files: dict[str, Path]) -> None:
    # Each person has two tax rows: with k = 201 every district (200 people, 400 rows) goes.
    sql = (
        "SELECT p.district, count(*) AS n FROM persons p JOIN tax t ON p.pid = t.pid "
        "GROUP BY p.district"
    )
    kept = run_sql(sql, SCHEMA, _views(files), Disclosure(k=200))
    assert kept.table.num_rows == 10 and kept.suppressed == 0
    assert set(kept.table.column("n").to_pylist()) == {400}
    dropped = run_sql(sql, SCHEMA, _views(files), Disclosure(k=201))
    assert dropped.table.num_rows == 0 and dropped.suppressed == 10


def test_join_of_two_tables(files: dict[str, Path]) -> None:
    released = run_sql(
        "SELECT t.month, sum(t.amount) AS total FROM persons p JOIN tax t ON p.pid = t.pid "
        "WHERE p.industry = 'ind0' GROUP BY t.month ORDER BY t.month",
        SCHEMA,
        _views(files),
    )
    expected = duckdb.sql(
        f"SELECT sum(10.0 * (i % 7)) FROM range({PEOPLE}) t(i) WHERE i % 3 = 0"
    ).fetchall()[0]
    assert [r["month"] for r in released.table.to_pylist()] == ["2024-01", "2024-02"]
    assert {float(r["total"]) for r in released.table.to_pylist()} == {float(expected[0])}


def test_window_over_grouped_results(files: dict[str, Path]) -> None:
    released = run_sql(
        "WITH m AS (SELECT p.district, t.month, sum(t.amount) AS total FROM persons p "
        "JOIN tax t ON p.pid = t.pid GROUP BY 1, 2) SELECT district, month, "
        "sum(total) OVER (PARTITION BY district ORDER BY month) AS running FROM m "
        "ORDER BY district, month",
        SCHEMA,
        _views(files),
    )
    rows = released.table.to_pylist()
    assert len(rows) == 20
    assert float(rows[1]["running"]) == 2 * float(rows[0]["running"])


def test_inner_groups_below_k_never_reach_an_outer_aggregate(files: dict[str, Path]) -> None:
    released = run_sql(
        "SELECT max(n) AS biggest, min(n) AS smallest FROM "
        "(SELECT district, count(*) AS n FROM persons GROUP BY district)",
        SCHEMA,
        _views(files),
        Disclosure(k=10),
    )
    assert released.table.to_pylist() == [{"biggest": 200, "smallest": 200}]


@pytest.mark.parametrize("sql", ALLOWED)
def test_every_allowed_query_runs_as_rendered(files: dict[str, Path], sql: str) -> None:
    checked = check(sql, SCHEMA)
    with Sandbox(_views(files)) as sandbox:
        released = release(sandbox, checked)
    assert "__yaosu_k" not in released.table.column_names


def test_masking_of_the_view_holds_for_row_level_output(files: dict[str, Path]) -> None:
    schema = {"persons": TableSchema({"pid": "join_key", "phone": "plaintext"}, "pid")}
    released = run_sql(
        "SELECT phone FROM persons LIMIT 3", schema, _views(files), Disclosure(row_level=True)
    )
    assert all(v.endswith("****") for v in released.table.column("phone").to_pylist())


def test_timeout_interrupts_a_cartesian_blow_up(files: dict[str, Path]) -> None:
    started = time.perf_counter()
    with Sandbox(_views(files), Limits(seconds=0.5)) as sandbox, pytest.raises(SandboxError) as e:
        sandbox.run(
            "SELECT count(*) FROM persons a, persons b, persons c, persons d "
            "WHERE hash(a.name || b.name || c.name || d.name) = 0"
        )
    assert e.value.code == "compute_timeout"
    assert time.perf_counter() - started < 10  # interrupted, not waited for


def test_memory_limit_stops_a_query_that_outgrows_it(files: dict[str, Path]) -> None:
    with Sandbox(_views(files), Limits(memory="64MB", seconds=60)) as sandbox:
        with pytest.raises(SandboxError) as e:
            sandbox.run(
                "SELECT a.district, list(a.name || b.name || c.name) FROM persons a, persons b, "
                "persons c GROUP BY a.district"
            )
        assert e.value.code == "compute_memory_limit"
        # The connection is still usable afterwards.
        assert sandbox.run("SELECT count(*) AS n FROM persons").table.to_pylist() == [
            {"n": PEOPLE + 3}
        ]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM information_schema.tables",
        "SELECT getenv('HOME')",
        "SELECT current_setting('threads')",
        "ATTACH '/tmp/x.db'",
        "COPY (SELECT 1) TO '/tmp/out.csv'",
        "SET enable_external_access = true",
        "INSTALL httpfs",
        "SELECT 1; SELECT 2",
    ],
)
def test_the_engine_refuses_escapes_even_without_the_checker(
    files: dict[str, Path], sql: str
) -> None:
    with Sandbox(_views(files)) as sandbox, pytest.raises(SandboxError) as e:
        sandbox.run(sql)
    assert e.value.code == "compute_engine_refused"


def test_the_granted_file_itself_cannot_be_read_raw(files: dict[str, Path]) -> None:
    with Sandbox(_views(files)) as sandbox, pytest.raises(SandboxError) as e:
        sandbox.run(f"SELECT phone FROM read_parquet('{files['persons']}')")
    assert e.value.code == "compute_engine_refused"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
        "COPY (SELECT 1) TO '{dir}/out.csv'",
        "ATTACH '{dir}/new.db' AS x",
        "INSTALL httpfs",
    ],
)
def test_the_connection_itself_has_no_file_or_network_access(
    files: dict[str, Path], sql: str
) -> None:
    """Below the guard: DuckDB's own settings refuse, and they are locked."""
    folder = files["persons"].parent
    with Sandbox(_views(files)) as sandbox:
        conn = sandbox._conn
        with pytest.raises(duckdb.Error):
            conn.execute(sql.format(dir=folder))
        with pytest.raises(duckdb.Error):
            conn.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.Error):
            conn.execute("SET allowed_directories = ['/']")
    assert not (folder / "out.csv").exists() and not (folder / "new.db").exists()


def test_row_count_of_a_register_agrees_with_distinct_entities(files: dict[str, Path]) -> None:
    from tests.compute.test_check import UNIQUE

    sql = "SELECT district, count(*) AS n FROM persons GROUP BY district ORDER BY district"
    fast = run_sql(sql, UNIQUE, _views(files), Disclosure(k=4))
    exact = run_sql(sql, SCHEMA, _views(files), Disclosure(k=4))
    assert fast.table == exact.table and fast.suppressed == exact.suppressed == 1


def test_results_stop_at_max_rows_and_say_so(files: dict[str, Path]) -> None:
    with Sandbox(_views(files), Limits(max_rows=11)) as sandbox:
        capped = sandbox.run("SELECT name FROM persons")
        assert capped.table.num_rows == 11 and capped.truncated
        # The connection carries on; exactly max_rows rows is not truncated.
        whole = sandbox.run("SELECT district, count(*) AS n FROM persons GROUP BY district")
        assert whole.table.num_rows == 11 and not whole.truncated


def test_a_view_cannot_be_replaced_or_dropped_from_inside(files: dict[str, Path]) -> None:
    with Sandbox(_views(files)) as sandbox:
        for sql in (
            "CREATE OR REPLACE VIEW persons AS SELECT 1 AS pid",
            "DROP VIEW persons",
            "WITH x AS (SELECT 1) SELECT * FROM x; DROP VIEW persons",
        ):
            with pytest.raises(SandboxError) as e:
                sandbox.run(sql)
            assert e.value.code == "compute_engine_refused"
        assert sandbox.run("SELECT count(*) AS n FROM persons").table.num_rows == 1


_COLUMNS = ["pid", "name", "age", "district", "industry", "salary", "phone"]
_WRAPS = ["{}", "upper(CAST({} AS VARCHAR))", "CAST({} AS VARCHAR) || ''", "coalesce({}, {})",
          "CASE WHEN {} IS NOT NULL THEN {} END", "substr(CAST({} AS VARCHAR), 1, 40)"]  # fmt: skip
_AGGS = [
    "count({})",
    "count(DISTINCT {})",
    "min({})",
    "max({})",
    "sum(length(CAST({} AS VARCHAR)))",
]


@st.composite
def _queries(draw: st.DrawFn) -> str:
    def expr() -> str:
        wrap = draw(st.sampled_from(_WRAPS))
        return wrap.replace("{}", draw(st.sampled_from(_COLUMNS)))

    keys = [expr() for _ in range(draw(st.integers(0, 2)))]
    aggs = [draw(st.sampled_from(_AGGS)).format(expr()) for _ in range(draw(st.integers(0, 2)))]
    items = [f"{k} AS k{i}" for i, k in enumerate(keys)] + [
        f"{a} AS a{i}" for i, a in enumerate(aggs)
    ]
    if not items:
        items = [expr() + " AS x"]
    sql = f"SELECT {', '.join(items)} FROM persons"
    if draw(st.booleans()):
        sql += (
            f" WHERE {expr()} = {draw(st.sampled_from(['name', 'pid', chr(39) + 'a' + chr(39)]))}"
        )
    if keys and aggs:
        sql += " GROUP BY " + ", ".join(f"k{i}" for i in range(len(keys)))
    if draw(st.booleans()):
        names = ", ".join(item.rsplit(" AS ", 1)[1] for item in items)
        sql = f"WITH w AS ({sql}) SELECT {names} FROM w"
    return sql


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(sql=_queries(), row_level=st.booleans())
def test_no_accepted_query_outputs_a_join_key_or_hidden_value(
    files: dict[str, Path], sql: str, row_level: bool
) -> None:
    """Property on the real engine: whatever query the checker accepts, no cell of its result
    is a join key (pid, 'p…'/'x…') or the unmasked hidden phone ('138…'/'139…')."""
    try:
        checked = check(sql, SCHEMA, Disclosure(k=2, row_level=row_level))
    except (ComputeRefused, ComputeSyntaxError):
        return
    raw = [
        View(
            "persons",
            f"SELECT * FROM read_parquet('{files['persons']}')",
            (files["persons"],),
        )
    ]
    with Sandbox(raw) as sandbox:
        try:
            released = release(sandbox, checked)
        except SandboxError as exc:  # e.g. comparing a number with a string
            assert exc.code == "compute_engine_error"
            return
    pids = {f"p{i}" for i in range(PEOPLE)} | {f"x{i}" for i in range(3)}
    for column in released.table.columns:
        for value in column.to_pylist():
            text = str(value)
            assert text not in pids, (sql, text)
            assert not text.startswith(("138", "139")), (sql, text)


@pytest.mark.parametrize(("declared", "exact"), [(2, False), (4, True)])
def test_the_bound_is_used_only_when_every_group_clears_k(
    files: dict[str, Path], declared: int, exact: bool
) -> None:
    """Each person has 2 tax rows. Declared 2: 400 rows → at least 200 people per district,
    k = 150 is cleared on the bound alone. Declared 4 (a looser bound): 100 < 150, so the
    exact count runs — and keeps the districts instead of over-suppressing them."""
    schema = {
        **SCHEMA,
        "persons": TableSchema(dict(SCHEMA["persons"].columns), "pid", entity_max_rows=1),
        "tax": TableSchema(dict(SCHEMA["tax"].columns), "pid", entity_max_rows=declared),
    }
    sql = (
        "SELECT p.district, count(*) AS n FROM persons p JOIN tax t ON p.pid = t.pid "
        "GROUP BY p.district ORDER BY p.district"
    )
    released = run_sql(sql, schema, _views(files), Disclosure(k=150))
    assert released.exact is exact
    assert released.table.num_rows == 10 and set(released.table.column("n").to_pylist()) == {400}
    assert released.table.column_names == ["district", "n"]
    plain = run_sql(sql, SCHEMA, _views(files), Disclosure(k=150))
    assert plain.exact and plain.table == released.table


@pytest.mark.parametrize(
    ("inner_keys", "k", "declared", "exact", "rows"),
    [
        ("p.district, t.month", 90, 2, False, 20),  # 200 rows → ≥ 100 people ≥ 90: bound holds
        ("p.district, t.month", 90, 4, True, 20),  # ≥ 50 people only: the exact count decides
        ("p.district", 300, 2, True, 0),  # 400 rows but 200 people < 300: nothing leaks
    ],
)
def test_window_over_groups_uses_the_bound_only_when_it_proves_k(
    files: dict[str, Path], inner_keys: str, k: int, declared: int, exact: bool, rows: int
) -> None:
    schema = {
        **SCHEMA,
        "persons": TableSchema(dict(SCHEMA["persons"].columns), "pid", entity_max_rows=1),
        "tax": TableSchema(dict(SCHEMA["tax"].columns), "pid", entity_max_rows=declared),
    }
    sql = (
        f"WITH m AS (SELECT {inner_keys}, sum(t.amount) AS total FROM persons p "
        f"JOIN tax t ON p.pid = t.pid GROUP BY {inner_keys}) SELECT district, total, "
        "sum(total) OVER (PARTITION BY district) AS whole FROM m ORDER BY district"
    )
    released = run_sql(sql, schema, _views(files), Disclosure(k=k))
    assert released.exact is exact
    assert released.table.num_rows == rows
    assert released.table.column_names == ["district", "total", "whole"]
    reference = run_sql(sql, SCHEMA, _views(files), Disclosure(k=k))
    assert reference.exact and reference.table.sort_by(
        [("district", "ascending"), ("total", "ascending")]
    ) == released.table.sort_by([("district", "ascending"), ("total", "ascending")])


def test_a_grouped_cte_joined_to_itself_runs_in_both_forms(files: dict[str, Path]) -> None:
    schema = {
        **SCHEMA,
        "persons": TableSchema(dict(SCHEMA["persons"].columns), "pid", entity_max_rows=1),
        "tax": TableSchema(dict(SCHEMA["tax"].columns), "pid", entity_max_rows=2),
    }
    sql = (
        "WITH m AS (SELECT p.district, t.month, sum(t.amount) AS total FROM persons p "
        "JOIN tax t ON p.pid = t.pid GROUP BY 1, 2) SELECT a.district, a.total - b.total AS d "
        "FROM m a JOIN m b ON a.district = b.district AND a.month < b.month"
    )
    fast = run_sql(sql, schema, _views(files), Disclosure(k=90))
    exact = run_sql(sql, schema, _views(files), Disclosure(k=150))
    assert not fast.exact and fast.table.num_rows == 10
    assert exact.exact and exact.table.num_rows == 10

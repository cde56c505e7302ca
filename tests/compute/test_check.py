"""The sandbox SQL checker: every forbidden statement, table, column, function and flow is
refused with its code; the queries a compute grant exists for pass, rewritten for the k rule.
Pure: no database, no engine."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yaosu.compute.check import (
    K_COLUMN,
    ComputeRefused,
    ComputeSyntaxError,
    Disclosure,
    TableSchema,
    check,
)

SCHEMA = {
    "persons": TableSchema(
        {
            "pid": "join_key",
            "name": "plaintext",
            "age": "plaintext",
            "district": "group_by",
            "industry": "group_by",
            "salary": "aggregate",
            "phone": "hidden",
        },
        entity_key="pid",
    ),
    "tax": TableSchema(
        {"pid": "join_key", "month": "group_by", "amount": "aggregate"}, entity_key="pid"
    ),
    "codes": TableSchema({"district": "plaintext", "label": "plaintext"}),
}

STATEMENTS = [
    "PRAGMA version",
    "SET threads = 64",
    "SET enable_external_access = true",
    "RESET threads",
    "ATTACH '/tmp/x.db' AS x",
    "DETACH x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "COPY persons TO '/tmp/out.csv'",
    "COPY (SELECT 1) TO '/tmp/out.csv'",
    "EXPORT DATABASE '/tmp/d'",
    "CREATE TABLE x AS SELECT 1",
    "CREATE VIEW v AS SELECT district FROM persons",
    "CREATE MACRO m(a) AS a",
    "DROP VIEW persons",
    "INSERT INTO persons VALUES (1)",
    "UPDATE persons SET salary = 0",
    "DELETE FROM persons",
    "DESCRIBE persons",
    "SHOW TABLES",
    "SUMMARIZE persons",
    "CALL pragma_version()",
    "CHECKPOINT",
    "USE memory",
    "EXPLAIN SELECT count(*) FROM persons",
    "SELECT count(*) FROM persons; DROP VIEW persons",
    "SELECT count(*) FROM persons; SELECT 1",
    "SELECT count(*) FROM persons /* ; */; ATTACH 'x'",
    "SELECT count(*) FROM persons; -- trailing\nPRAGMA version",
    "WITH x AS (SELECT 1) DELETE FROM persons",
]

TABLES = [
    "SELECT count(*) FROM secrets",
    "SELECT count(*) FROM main.persons",
    "SELECT count(*) FROM memory.main.persons",
    "SELECT count(*) FROM information_schema.tables",
    "SELECT count(*) FROM pg_catalog.pg_tables",
    "SELECT count(*) FROM duckdb_tables",
    "SELECT count(*) FROM sqlite_master",
    "SELECT count(*) FROM '/etc/passwd'",
    "SELECT count(*) FROM 'persons.parquet'",
    'SELECT count(*) FROM "/etc/passwd"',
    "SELECT count(*) FROM persоns",  # Cyrillic о
    "SELECT count(*) FROM ｐｅｒｓｏｎｓ",  # full-width
    "SELECT count(*) FROM (SELECT district FROM (SELECT district FROM hidden_table))",
    "WITH a AS (SELECT district FROM other) SELECT count(*) FROM a",
]

COLUMNS = [
    "SELECT count(nosuch) FROM persons",
    "SELECT district, count(*) FROM persons WHERE nosuch = 1 GROUP BY district",
    "SELECT district, sum(ѕalary) FROM persons GROUP BY district",  # Cyrillic ѕ
    "SELECT district, sum(ｓａｌａｒｙ) FROM persons GROUP BY district",
    "SELECT district, count(*) FROM persons p GROUP BY q.district",
    "SELECT p.district, count(*) FROM persons p JOIN tax t ON p.pid = t.pid GROUP BY p.district,"
    " t.nosuch",
    "WITH a AS (SELECT district FROM persons) SELECT a.salary, count(*) FROM a GROUP BY a.salary",
    "SELECT count(*) FROM persons WHERE __yaosu_k > 0",
    "SELECT district AS __yaosu_k, count(*) FROM persons GROUP BY 1",
]

FUNCTIONS = [
    "SELECT count(*) FROM read_csv('/etc/passwd')",
    "SELECT count(*) FROM read_csv_auto('/etc/passwd')",
    "SELECT count(*) FROM read_parquet('/data/persons.parquet')",
    "SELECT count(*) FROM read_json('/etc/x.json')",
    "SELECT count(*) FROM read_text('/etc/passwd')",
    "SELECT count(*) FROM read_blob('/etc/passwd')",
    "SELECT count(*) FROM parquet_scan('/data/x.parquet')",
    "SELECT count(*) FROM glob('/etc/*')",
    "SELECT count(*) FROM query('SELECT 1')",
    "SELECT count(*) FROM query_table('persons')",
    "SELECT count(*) FROM duckdb_settings()",
    "SELECT count(*) FROM duckdb_functions()",
    "SELECT count(*) FROM pragma_table_info('persons')",
    "SELECT count(*) FROM range(10)",
    "SELECT count(*) FROM generate_series(1, 10)",
    "SELECT count(*) FROM sniff_csv('/etc/passwd')",
    "SELECT getenv('HOME'), count(*) FROM persons",
    "SELECT current_setting('threads'), count(*) FROM persons",
    "SELECT getvariable('x'), count(*) FROM persons",
    "SELECT version(), count(*) FROM persons",
    "SELECT current_user, count(*) FROM persons",
    "SELECT district, string_agg(name, ',') FROM persons GROUP BY district",
    "SELECT district, list(name) FROM persons GROUP BY district",
    "SELECT district, array_agg(salary) FROM persons GROUP BY district",
    "SELECT district, any_value(salary) FROM persons GROUP BY district",
    "SELECT district, arg_max(name, salary) FROM persons GROUP BY district",
    "SELECT district, first(salary) FROM persons GROUP BY district",
    "SELECT district, histogram(salary) FROM persons GROUP BY district",
    "SELECT district, count(*) FROM persons WHERE to_json(name) = '1' GROUP BY district",
    "SELECT district, count(*) FROM persons WHERE random() < 0.5 GROUP BY district",
    "SELECT district, count(*) FROM persons WHERE duckdb_version() = 'x' GROUP BY district",
    "WITH a AS (SELECT district FROM read_csv('/etc/passwd')) SELECT count(*) FROM a",
    "SELECT count(*) FROM persons WHERE district IN (SELECT column0 FROM read_csv('/x'))",
    "SELECT count(*) FROM persons JOIN read_csv('/etc/passwd') r ON true",
    "SELECT district, count(*) FROM persons GROUP BY district UNION ALL "
    "SELECT column0, count(*) FROM read_csv('/etc/passwd') GROUP BY 1",
    "SELECT \"read_csv\"('/etc/passwd'), count(*) FROM persons",
]

CONSTRUCTS = [
    "SELECT count(*) FROM persons, LATERAL (SELECT persons.salary) s",
    "SELECT count(*) FROM persons USING SAMPLE 10",
    "SELECT count(*) FROM persons TABLESAMPLE 10%",
    "SELECT count(*) FROM (VALUES (1), (2)) v(x)",
    "SELECT count(*) FROM persons WHERE district = ?",
    "SELECT count(*) FROM persons WHERE district = $1",
    "SELECT count(*) FROM persons NATURAL JOIN tax",
    "SELECT count(*) FROM persons JOIN tax USING (pid)",
    "SELECT count(*) FROM persons POSITIONAL JOIN tax",
    "SELECT count(*) FROM persons ASOF JOIN tax ON persons.pid >= tax.pid",
    "SELECT count(*) FROM persons p WHERE EXISTS (SELECT 1 FROM tax t WHERE t.pid = p.pid)",
    "SELECT count(*) FROM persons p WHERE p.district IN "
    "(SELECT t.month FROM tax t WHERE t.pid = p.pid)",
    "SELECT district, (SELECT count(*) FROM tax) FROM persons GROUP BY district",
    "SELECT district, count(*) FROM persons GROUP BY district LIMIT (SELECT 1)",
    "SELECT list_transform([1], x -> x + 1), count(*) FROM persons",
    "SELECT count(*) FROM persons PIVOT (count(*) FOR district IN ('a'))",
    "WITH persons AS (SELECT district FROM tax) SELECT district, count(*) FROM persons GROUP BY 1",
]

STARS = [
    "SELECT * FROM persons",
    "SELECT persons.* FROM persons",
    "SELECT count(*) FROM (SELECT * FROM persons)",
    "SELECT * EXCLUDE (phone) FROM persons",
    "SELECT COLUMNS('.*') FROM persons",
]

FLOWS = [
    # hidden: never referenced, wherever it hides
    ("SELECT count(phone) FROM persons", "hidden"),
    ("SELECT count(*) FROM persons WHERE phone = '1'", "hidden"),
    ("SELECT count(*) FROM persons WHERE \"PHONE\" = '1'", "hidden"),
    ("SELECT count(*) FROM persons WHERE Phone LIKE '138%'", "hidden"),
    ("SELECT count(*) FROM persons p JOIN tax t ON p.phone = t.pid", "hidden"),
    (
        "SELECT district, count(*) FROM (SELECT phone AS x, district FROM persons) "
        "GROUP BY district",
        "hidden",
    ),
    (
        "WITH a AS (SELECT phone p2 FROM persons), b AS (SELECT p2 FROM a) SELECT count(p2) FROM b",
        "hidden",
    ),
    # join keys: never output, never transformed into output
    ("SELECT pid, count(*) FROM persons GROUP BY pid", "join_key_output"),
    ("SELECT district, max(pid) FROM persons GROUP BY district", "join_key_output"),
    ("SELECT district, min(pid) FROM persons GROUP BY district", "join_key_output"),
    ("SELECT hash(pid), count(*) FROM persons GROUP BY 1", "join_key_output"),
    ("SELECT md5(pid), count(*) FROM persons GROUP BY 1", "join_key_output"),
    ("SELECT pid || '', count(*) FROM persons GROUP BY 1", "join_key_output"),
    ("SELECT substring(pid, 1, 6), count(*) FROM persons GROUP BY 1", "join_key_output"),
    ("SELECT left(pid, 6) AS area, count(*) FROM persons GROUP BY area", "join_key_output"),
    ("SELECT CAST(pid AS BIGINT) + 0, count(*) FROM persons GROUP BY 1", "join_key_output"),
    (
        "SELECT district, sum(CASE WHEN pid = '110' THEN 1 ELSE 0 END) FROM persons "
        "GROUP BY district",
        "join_key_output",
    ),
    ("SELECT district, sum(length(pid)) FROM persons GROUP BY district", "join_key_output"),
    (
        "SELECT CASE WHEN pid = 'x' THEN 'a' ELSE 'b' END AS g, count(*) FROM persons GROUP BY g",
        "join_key_output",
    ),
    ("SELECT district, count(*) FROM persons GROUP BY district, pid", "join_key_output"),
    (
        "SELECT district, count(*) FROM persons GROUP BY district ORDER BY min(pid)",
        "join_key_output",
    ),
    (
        "WITH a AS (SELECT pid AS k FROM persons) SELECT hash(k), count(*) FROM a GROUP BY 1",
        "join_key_output",
    ),
    (
        "WITH a AS (SELECT pid AS k FROM persons) SELECT k, count(*) FROM a GROUP BY k",
        "join_key_output",
    ),
    (
        "WITH a AS (SELECT upper(pid) AS k, district FROM persons) "
        "SELECT district, count(*) FROM a GROUP BY district",
        "join_key_output",
    ),
    ("SELECT district, count(*) FROM persons WHERE pid > '5' GROUP BY district", "join_key_output"),
    (
        "SELECT district, count(*) FROM persons WHERE pid LIKE '11%' GROUP BY district",
        "join_key_output",
    ),
    (
        "SELECT district, count(*) FROM persons WHERE substr(pid, 1, 2) = '11' GROUP BY district",
        "join_key_output",
    ),
    (
        "SELECT district, count(*) FROM persons WHERE NOT (pid = 'x') GROUP BY district",
        "join_key_output",
    ),
    (
        "SELECT p.district, count(*) FROM persons p JOIN tax t ON p.pid < t.pid "
        "GROUP BY p.district",
        "join_key_output",
    ),
    (
        "SELECT p.district, count(*) FROM persons p JOIN tax t ON p.pid = t.pid || '' "
        "GROUP BY p.district",
        "join_key_output",
    ),
    (
        "SELECT district, count(*) FROM persons WHERE pid = name GROUP BY district",
        "join_key_equality",
    ),
    (
        "SELECT district, count(*) OVER (PARTITION BY pid) FROM persons GROUP BY district, pid",
        "join_key_output",
    ),
    # aggregate columns: only inside aggregate functions
    ("SELECT salary, count(*) FROM persons GROUP BY salary", "aggregate_only"),
    (
        "SELECT district, count(*) FROM persons WHERE salary > 10000 GROUP BY district",
        "aggregate_only",
    ),
    ("SELECT district, count(*) FROM persons GROUP BY district ORDER BY salary", "aggregate_only"),
    ("SELECT district, count(*) FROM persons GROUP BY district, salary > 10000", "aggregate_only"),
    (
        "SELECT CASE WHEN salary > 1 THEN 'r' END AS g, count(*) FROM persons GROUP BY g",
        "aggregate_only",
    ),
    (
        "SELECT p.district, count(*) FROM persons p JOIN tax t ON p.salary = t.amount "
        "GROUP BY p.district",
        "aggregate_only",
    ),
    (
        "WITH a AS (SELECT salary * 12 AS y, district FROM persons) "
        "SELECT y, count(*) FROM a GROUP BY y",
        "aggregate_only",
    ),
    (
        "WITH a AS (SELECT round(salary, -3) AS band FROM persons) "
        "SELECT band, count(*) FROM a GROUP BY band",
        "aggregate_only",
    ),
    ("SELECT district, count(*) FROM persons GROUP BY district HAVING max(salary) > 1", "extremes"),
    ("SELECT district, max(salary) FROM persons GROUP BY district", "extremes"),
    ("SELECT district, min(salary) FROM persons GROUP BY district", "extremes"),
    ("SELECT district, median(salary) FROM persons GROUP BY district", "extremes"),
    ("SELECT district, quantile_cont(salary, 0.99) FROM persons GROUP BY district", "extremes"),
    ("SELECT district, mode(salary) FROM persons GROUP BY district", "extremes"),
    (
        "SELECT district, count(*) FROM persons WHERE district IN (SELECT salary FROM persons) "
        "GROUP BY district",
        "in_subquery",
    ),
    # windows in row-level scopes are not aggregates
    (
        "WITH a AS (SELECT sum(salary) OVER (ORDER BY name ROWS BETWEEN CURRENT ROW AND CURRENT "
        "ROW) AS s, district FROM persons) SELECT district, count(*) FROM a GROUP BY district, s",
        "aggregate_only",
    ),
    (
        "WITH a AS (SELECT district, rank() OVER (ORDER BY salary) AS r FROM persons) "
        "SELECT r, count(*) FROM a GROUP BY r",
        "aggregate_only",
    ),
    (
        "WITH a AS (SELECT district, lag(salary) OVER () AS s FROM persons) "
        "SELECT s, count(*) FROM a GROUP BY s",
        "aggregate_only",
    ),
    # trackers: narrowing an aggregate to one person inside a group of k
    (
        "SELECT district, sum(CASE WHEN name = '张三' THEN salary END) FROM persons "
        "GROUP BY district",
        "aggregate_condition",
    ),
    (
        "SELECT district, sum(salary) FILTER (WHERE name = '张三') FROM persons GROUP BY district",
        "aggregate_condition",
    ),
    (
        "SELECT industry, sum(salary * (district = 'a')::INT) FROM persons GROUP BY industry",
        "aggregate_condition",
    ),
    (
        "SELECT district, sum(CASE WHEN name = '张三' THEN 1 ELSE 0 END) FROM persons "
        "GROUP BY district",
        "aggregate_condition",
    ),
    (
        "WITH a AS (SELECT district, CASE WHEN name = '张三' THEN 1 ELSE 0 END AS hit "
        "FROM persons) SELECT district, sum(hit) FROM a GROUP BY district",
        "aggregate_condition",
    ),
    (
        "WITH a AS (SELECT district, CASE WHEN age = 47 THEN salary END AS s FROM persons) "
        "SELECT district, avg(s) FROM a GROUP BY district",
        "aggregate_condition",
    ),
    (
        "SELECT district, corr(salary, CAST(name = '张三' AS INT)) FROM persons GROUP BY district",
        "aggregate_condition",
    ),
    # probing by ORDER BY / LIMIT / OFFSET
    (
        "SELECT district, count(*) FROM persons GROUP BY district ORDER BY pid LIMIT 1",
        "join_key_output",
    ),
    ("SELECT sum(salary) FROM (SELECT salary FROM persons LIMIT 1)", "limit_in_subquery"),
    ("SELECT sum(salary) FROM (SELECT salary FROM persons LIMIT 10 OFFSET 5)", "limit_in_subquery"),
    (
        "WITH a AS (SELECT salary FROM persons ORDER BY name OFFSET 3) SELECT sum(salary) FROM a",
        "limit_in_subquery",
    ),
    # row-level output without the grant's permission
    ("SELECT name FROM persons", "row_level"),
    ("SELECT name FROM persons ORDER BY name LIMIT 1", "row_level"),
    ("SELECT p.name FROM persons p JOIN tax t ON p.pid = t.pid", "row_level"),
    ("SELECT name, count(*) OVER () FROM persons", "row_level"),
    ("SELECT 1 FROM persons", "row_level"),
    (
        "SELECT district, count(*) FROM persons GROUP BY district UNION ALL SELECT name, 1 "
        "FROM persons",
        "row_level",
    ),
]

FLOWS_ROW_LEVEL = [
    ("SELECT district FROM persons", "group_by_output"),
    ("SELECT name FROM persons ORDER BY district", "group_by_output"),
    ("SELECT name, row_number() OVER (PARTITION BY district) FROM persons", "group_by_output"),
    ("SELECT name, salary FROM persons", "aggregate_only"),
    ("SELECT name FROM persons ORDER BY salary DESC LIMIT 1", "aggregate_only"),
    ("SELECT name FROM persons ORDER BY salary OFFSET 4 LIMIT 1", "aggregate_only"),
    ("SELECT name, rank() OVER (ORDER BY salary) FROM persons", "aggregate_only"),
    ("SELECT name, sum(salary) OVER (PARTITION BY name) FROM persons", "aggregate_only"),
    ("SELECT pid, name FROM persons", "join_key_output"),
    ("SELECT name FROM persons ORDER BY pid", "join_key_output"),
    ("SELECT name, row_number() OVER (ORDER BY pid) FROM persons", "join_key_output"),
]

ALLOWED = [
    "SELECT district, count(*) FROM persons GROUP BY district",
    "select District, COUNT(*) from PERSONS group by DISTRICT",
    'SELECT "district", count(*) FROM "persons" GROUP BY 1',
    "SELECT district, industry, count(*), avg(salary), sum(salary), stddev(salary), "
    "variance(salary) FROM persons GROUP BY district, industry",
    "SELECT district, count(*) n FROM persons GROUP BY district HAVING count(*) > 20 "
    "ORDER BY n DESC LIMIT 5 OFFSET 1",
    "SELECT district, count(DISTINCT pid) FROM persons GROUP BY district",
    "SELECT p.district, t.month, sum(t.amount) FROM persons p JOIN tax t ON p.pid = t.pid "
    "GROUP BY p.district, t.month",
    "SELECT p.district, sum(t.amount) FROM persons p LEFT JOIN tax t ON t.pid = p.pid "
    "WHERE t.month = '2024-01' GROUP BY ALL",
    "SELECT count(*) FROM persons WHERE pid = '110101199001011234'",
    "SELECT count(*) FROM persons WHERE pid IN ('1', '2', '3')",
    "SELECT count(*) FROM persons WHERE pid IN (SELECT pid FROM tax WHERE month = '2024-01')",
    "SELECT substr(district, 1, 2) AS city, count(*) FROM persons GROUP BY city",
    "SELECT district, sum(CASE WHEN salary > 10000 THEN 1 ELSE 0 END) FROM persons "
    "GROUP BY district",
    "SELECT district, count(*) FILTER (WHERE salary > 5000) FROM persons GROUP BY district",
    "SELECT district, avg(age), count(DISTINCT name), corr(salary, age) FROM persons "
    "GROUP BY district",
    "WITH a AS (SELECT district, name = '张三' AS hit FROM persons) "
    "SELECT district, hit, count(*) FROM a GROUP BY district, hit",
    "SELECT district, sum(salary * 12) / count(*) FROM persons GROUP BY district",
    "WITH y AS (SELECT pid, district, salary * 12 AS yearly FROM persons) "
    "SELECT district, avg(yearly) FROM y GROUP BY district",
    "WITH m AS (SELECT p.district, t.month, sum(t.amount) AS total FROM persons p JOIN tax t "
    "ON p.pid = t.pid GROUP BY 1, 2) SELECT district, month, total, "
    "sum(total) OVER (PARTITION BY district ORDER BY month) FROM m",
    "SELECT district, sum(salary), rank() OVER (ORDER BY sum(salary) DESC) FROM persons "
    "GROUP BY district",
    "SELECT avg(n) FROM (SELECT district, count(*) AS n FROM persons GROUP BY district)",
    "SELECT district, count(*) FROM persons GROUP BY district UNION ALL "
    "SELECT month, count(*) FROM tax GROUP BY month",
    "SELECT count(*) FROM (SELECT district FROM persons UNION ALL SELECT month FROM tax)",
    "SELECT c.label, count(*) FROM persons p JOIN codes c ON p.district = c.district "
    "GROUP BY c.label",
    "SELECT district, count(*) FROM persons -- read_csv('/etc/passwd')\nGROUP BY district",
    "SELECT district, count(*) FROM persons /* ; ATTACH 'x' */ GROUP BY district",
    "SELECT 'read_csv(''/etc/passwd'')' AS s, count(*) FROM persons",
    "SELECT year(DATE '2024-01-01') AS y, count(*) FROM persons",
    "SELECT district, count(*) FROM persons WHERE district IN ('东城区', '西城区') AND age > 60 "
    "GROUP BY district",
]


def _code(sql: str, disclosure: Disclosure | None = None) -> str:
    with pytest.raises((ComputeRefused, ComputeSyntaxError)) as caught:
        check(sql, SCHEMA, disclosure)
    return caught.value.code


@pytest.mark.parametrize("sql", STATEMENTS)
def test_only_one_select_statement_runs(sql: str) -> None:
    assert _code(sql) in {"compute_forbidden_statement", "compute_syntax_error"}


@pytest.mark.parametrize("sql", TABLES)
def test_only_granted_tables_are_read(sql: str) -> None:
    assert _code(sql) == "compute_unknown_table"


@pytest.mark.parametrize("sql", COLUMNS)
def test_only_granted_columns_are_read(sql: str) -> None:
    assert _code(sql) == "compute_unknown_column"


@pytest.mark.parametrize("sql", FUNCTIONS)
def test_functions_outside_the_allow_list_are_refused(sql: str) -> None:
    assert _code(sql) == "compute_forbidden_function"


@pytest.mark.parametrize("sql", CONSTRUCTS)
def test_constructs_that_escape_the_analysis_are_refused(sql: str) -> None:
    assert _code(sql) in {
        "compute_forbidden_construct",
        "compute_forbidden_function",
        "compute_syntax_error",
    }


@pytest.mark.parametrize("sql", STARS)
def test_star_is_refused(sql: str) -> None:
    assert _code(sql) in {"compute_forbidden_star", "compute_forbidden_function"}


@pytest.mark.parametrize(("sql", "rule"), FLOWS)
def test_forbidden_flows_are_refused_naming_the_rule(sql: str, rule: str) -> None:
    with pytest.raises(ComputeRefused) as caught:
        check(sql, SCHEMA)
    assert caught.value.code == "compute_forbidden_flow"
    assert caught.value.details["rule"] == rule
    assert caught.value.message and caught.value.message_zh


@pytest.mark.parametrize(("sql", "rule"), FLOWS_ROW_LEVEL)
def test_row_level_grants_still_hold_the_controls(sql: str, rule: str) -> None:
    with pytest.raises(ComputeRefused) as caught:
        check(sql, SCHEMA, Disclosure(row_level=True))
    assert caught.value.details["rule"] == rule


def test_a_refusal_names_column_clause_and_rule() -> None:
    with pytest.raises(ComputeRefused) as caught:
        check("SELECT district, count(*) FROM persons GROUP BY district ORDER BY pid", SCHEMA)
    details = caught.value.details
    assert details == {
        "column": "persons.pid",
        "clause": "ORDER BY",
        "rule": "join_key_output",
        "control": "join_key",
    }
    assert "persons.pid" in caught.value.message_zh and "ORDER BY" in caught.value.message


@pytest.mark.parametrize("sql", ALLOWED)
def test_the_queries_a_compute_grant_exists_for_pass(sql: str) -> None:
    checked = check(sql, SCHEMA)
    assert checked.aggregated
    assert "--" not in checked.sql and "/*" not in checked.sql


def test_names_are_rendered_as_the_schema_spells_them() -> None:
    schema = {"Persons": TableSchema({"PID": "join_key", "Bezirk": "group_by"}, "PID")}
    checked = check("select BEZIRK, count(*) from PERSONS p group by 1", schema)
    assert 'FROM "Persons" AS "p"' in checked.sql
    assert '"p"."Bezirk"' in checked.sql and 'COUNT(DISTINCT "p"."PID")' in checked.sql


def test_row_level_output_of_plaintext_columns_when_the_grant_allows_it() -> None:
    checked = check(
        "SELECT name, age FROM persons WHERE district = 'a' ORDER BY name LIMIT 5",
        SCHEMA,
        Disclosure(row_level=True),
    )
    assert not checked.aggregated and checked.k_column is None


def test_extremes_when_the_grant_allows_them() -> None:
    sql = "SELECT district, max(salary), median(salary) FROM persons GROUP BY district"
    checked = check(sql, SCHEMA, Disclosure(extremes=True))
    assert checked.k_column == K_COLUMN


def test_the_k_rule_counts_distinct_entities_of_the_outer_groups() -> None:
    checked = check("SELECT district, count(*) FROM persons GROUP BY district", SCHEMA)
    assert checked.k_column == K_COLUMN
    assert 'COUNT(DISTINCT "persons"."pid") AS "__yaosu_k"' in checked.sql
    assert checked.columns == ["district", "_col_1"]


def test_inner_aggregates_keep_only_groups_of_k_entities() -> None:
    checked = check(
        "SELECT avg(n) FROM (SELECT district, count(*) AS n FROM persons GROUP BY district)",
        SCHEMA,
        Disclosure(k=7),
    )
    assert 'HAVING COUNT(DISTINCT "persons"."pid") >= 7' in checked.sql
    assert checked.k_column is None


def test_entity_keys_pass_through_row_level_subqueries() -> None:
    checked = check(
        "WITH y AS (SELECT district, salary * 12 AS yearly FROM persons) "
        "SELECT district, avg(yearly) FROM y GROUP BY district",
        SCHEMA,
    )
    assert '"persons"."pid" AS "__yaosu_e0"' in checked.sql
    assert 'COUNT(DISTINCT "y"."__yaosu_e0") AS "__yaosu_k"' in checked.sql


def test_the_k_rule_needs_an_entity_key() -> None:
    assert _code("SELECT label, count(*) FROM codes GROUP BY label") == "compute_k_unsupported"
    assert (
        _code("SELECT count(*) FROM (SELECT DISTINCT district FROM persons)")
        == "compute_k_unsupported"
    )


def test_malformed_sql_is_a_syntax_error() -> None:
    assert _code("SELECT count(* FROM persons") == "compute_syntax_error"
    assert _code("SELEC district FROM persons") in {
        "compute_syntax_error",
        "compute_forbidden_statement",
    }


def test_overlong_sql_is_refused() -> None:
    sql = "SELECT count(*) FROM persons WHERE " + " OR ".join(["age = 1"] * 3000)
    assert _code(sql) == "compute_query_too_long"


_IDENT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@settings(max_examples=200, deadline=None)
@given(name=_IDENT)
def test_no_made_up_column_name_reaches_a_hidden_or_unknown_column(name: str) -> None:
    """Whatever the identifier (quoted, any script), it either names a granted column under
    its control or is refused; it never resolves to the hidden phone column."""
    quoted = '"' + name.replace('"', '""') + '"'
    sql = f"SELECT district, count({quoted}) FROM persons GROUP BY district"
    try:
        checked = check(sql, SCHEMA)
    except (ComputeRefused, ComputeSyntaxError) as exc:
        if name.lower() == "phone":
            assert exc.details.get("rule") == "hidden"
        return
    assert name.lower() in {"pid", "name", "age", "district", "industry", "salary"}
    assert checked.reads["persons"]


@settings(max_examples=100, deadline=None)
@given(
    wrap=st.sampled_from(
        [
            "{}",
            "hash({})",
            "upper({})",
            "{} || 'x'",
            "CAST({} AS VARCHAR)",
            "coalesce({}, '')",
            "CASE WHEN {} = 'a' THEN 1 END",
            "length({})",
            "{} IS NULL",
            "nullif({}, '')",
        ]
    ),
    depth=st.integers(min_value=0, max_value=3),
)
def test_a_join_key_never_reaches_the_output_through_any_wrapping(wrap: str, depth: int) -> None:
    inner = "pid"
    for _ in range(depth):
        inner = f"({inner})"
    expr = wrap.format(inner)
    ctes = f"WITH a AS (SELECT {expr} AS k, district FROM persons)"
    for sql in (
        f"SELECT {expr} AS g, count(*) FROM persons GROUP BY g",
        f"{ctes} SELECT k, count(*) FROM a GROUP BY k",
    ):
        with pytest.raises(ComputeRefused) as caught:
            check(sql, SCHEMA)
        assert caught.value.details.get("rule") == "join_key_output"


UNIQUE = {
    **SCHEMA,
    "persons": TableSchema(dict(SCHEMA["persons"].columns), entity_key="pid", entity_max_rows=1),
}


def test_a_register_with_one_row_per_entity_counts_rows_not_distinct_keys() -> None:
    checked = check("SELECT district, count(*) FROM persons GROUP BY district", UNIQUE)
    assert 'COUNT(*) AS "__yaosu_k"' in checked.sql
    through = check(
        "WITH r AS (SELECT district, salary FROM persons WHERE district <> 'a') "
        "SELECT district, sum(salary) FROM r GROUP BY district",
        UNIQUE,
    )
    assert 'COUNT(*) AS "__yaosu_k"' in through.sql
    # A table with several rows per entity, or any join, still counts distinct keys.
    assert "COUNT(DISTINCT" in check("SELECT month, count(*) FROM tax GROUP BY 1", UNIQUE).sql
    self_join = check(
        "SELECT count(*) FROM persons a JOIN persons b ON a.district = b.district", UNIQUE
    )
    assert 'COUNT(DISTINCT "a"."pid")' in self_join.sql
    assert 'COUNT(DISTINCT "b"."pid")' in self_join.sql


def test_an_inner_join_on_the_entity_keys_counts_one_side() -> None:
    inner = check(
        "SELECT p.district, sum(t.amount) FROM persons p JOIN tax t "
        "ON p.pid = t.pid AND t.month = '2024-01' GROUP BY 1",
        SCHEMA,
    )
    assert 'COUNT(DISTINCT "p"."pid") AS "__yaosu_k"' in inner.sql
    assert 'COUNT(DISTINCT "t"."pid")' not in inner.sql
    # An outer join can leave one side's entities fewer: the smaller count is kept.
    outer = check(
        "SELECT p.district, sum(t.amount) FROM persons p LEFT JOIN tax t ON p.pid = t.pid "
        "GROUP BY 1",
        SCHEMA,
    )
    assert 'COUNT(DISTINCT "t"."pid")' in outer.sql and "LEAST(" in outer.sql
    either = check(
        "SELECT count(*) FROM persons p JOIN tax t ON p.pid = t.pid OR p.district = t.month",
        SCHEMA,
    )
    assert 'COUNT(DISTINCT "t"."pid")' in either.sql


_FRAGMENTS = [
    "SELECT", "district", "count(*)", "sum(salary)", "pid", "name", "FROM", "persons", "p",
    "tax", "t", "JOIN", "ON", "p.pid = t.pid", "WHERE", "GROUP BY", "1", "ORDER BY", "LIMIT",
    "HAVING", "(", ")", ",", "WITH", "a AS", "UNION ALL", "OVER", "PARTITION BY", "CASE WHEN",
    "THEN", "ELSE", "END", "=", "'x'", "*", "AS", "IN", "DISTINCT", ";", "--", "/*", "*/",
    "read_csv('/etc/passwd')", "\"persons\"", "hash(pid)", "FILTER (WHERE", "salary > 1",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=25))
def test_any_text_is_checked_or_refused_never_crashes(parts: list[str]) -> None:
    """Fuzz: whatever the text, the checker answers with a result or a typed refusal."""
    sql = " ".join(parts)
    try:
        checked = check(sql, SCHEMA)
    except (ComputeRefused, ComputeSyntaxError) as exc:
        assert exc.code.startswith("compute_")
        return
    assert checked.sql.startswith(("SELECT", "WITH", "("))


def test_known_rows_per_entity_give_a_cheap_lower_bound_first() -> None:
    schema = {
        **UNIQUE,
        "tax": TableSchema(dict(SCHEMA["tax"].columns), entity_key="pid", entity_max_rows=12),
    }
    checked = check(
        "SELECT p.district, sum(t.amount) FROM persons p JOIN tax t ON p.pid = t.pid GROUP BY 1",
        schema,
    )
    assert 'COUNT(DISTINCT "p"."pid") AS "__yaosu_k"' in checked.sql
    assert checked.fast_sql is not None
    assert 'CAST(CEIL(COUNT("p"."pid") / 12) AS BIGINT) AS "__yaosu_k"' in checked.fast_sql
    # No bound without known multiplicities, or across an outer join.
    assert check("SELECT month, count(*) FROM tax GROUP BY 1", SCHEMA).fast_sql is None
    outer = check(
        "SELECT p.district, count(*) FROM persons p LEFT JOIN tax t ON p.pid = t.pid GROUP BY 1",
        schema,
    )
    assert outer.fast_sql is None


WINDOW = (
    "WITH m AS (SELECT p.district, t.month, sum(t.amount) AS total FROM persons p "
    "JOIN tax t ON p.pid = t.pid GROUP BY 1, 2) SELECT district, month, "
    "sum(total) OVER (PARTITION BY district ORDER BY month) AS running FROM m"
)


def test_a_window_over_groups_gets_a_bounded_form_too() -> None:
    schema = {
        **UNIQUE,
        "tax": TableSchema(dict(SCHEMA["tax"].columns), entity_key="pid", entity_max_rows=3),
    }
    checked = check(WINDOW, schema)
    assert 'HAVING COUNT(DISTINCT "p"."pid") >= 10' in checked.sql
    assert checked.k_column is None and "__yaosu_k" not in checked.sql
    assert checked.fast_sql is not None
    assert 'HAVING COUNT("p"."pid") >= 10' in checked.fast_sql
    assert 'CAST(CEIL(COUNT("p"."pid") / 3) AS BIGINT) AS "__yaosu_kb"' in checked.fast_sql
    assert 'MIN("m"."__yaosu_kb") OVER () AS "__yaosu_k"' in checked.fast_sql
    # Not when the grouped CTE also feeds another scope, where a relaxed group could go.
    twice = WINDOW.replace(
        "FROM m", "FROM m WHERE district IN (SELECT district FROM m WHERE total > 0)"
    )
    assert check(twice, schema).fast_sql is None

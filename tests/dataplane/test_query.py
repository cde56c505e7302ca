"""The data-service query engine: projection and masking SQL, filters, keyset pagination in
every order, cursors, the three output formats, lookups and concurrent use."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import math
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from yaosu.dataplane import query as query_module
from yaosu.dataplane.query import Engine, Projection, RowQuery, quote_ident
from yaosu.kit.errors import Invalid, NotFound

NAMES = ["张伟", "王芳", "李娜", "欧阳娜娜", "赵磊", "O'Brien", 'say "hi"', "a,b"]
QUOTED = 'quo"ted'  # a column name with a double quote
APOS = "it's"  # and one with a single quote
ROWS = 61
KEY = b"test-key-0123456789abcdef0123456"


def _rows() -> list[dict[str, Any]]:
    rnd = random.Random(7)
    rows = []
    for i in range(ROWS):
        score: float | None = rnd.choice([1.5, 2.0, -0.25, 3.75, 1e20, 0.1])
        if i % 11 == 3:
            score = None
        elif i % 13 == 5:
            score = math.nan
        rows.append(
            {
                "id": i + 1,
                "姓名": NAMES[i % len(NAMES)] if i % 9 != 4 else None,
                "身份证号": f"11010119{80 + i % 20}0101{i:03d}{i % 10}",
                "score": score,
                "grp": i % 4 if i % 10 != 7 else None,
                "day": dt.date(2020, 1 + i % 12, 1 + i % 27) if i % 8 != 6 else None,
                "ts": dt.datetime(2024, 1, 1, i % 24, i % 60, i % 60, (i % 3) * 120_000),
                "flag": i % 3 == 0,
                QUOTED: "" if i % 5 == 0 else f"v{i % 6}",
                APOS: i % 5,
            }
        )
    return rows


ALL = _rows()
COLUMNS = list(ALL[0])


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("姓名", pa.string()),
            ("身份证号", pa.string()),
            ("score", pa.float64()),
            ("grp", pa.int64()),
            ("day", pa.date32()),
            ("ts", pa.timestamp("us")),
            ("flag", pa.bool_()),
            (QUOTED, pa.string()),
            (APOS, pa.int64()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> str:
    target = tmp_path_factory.mktemp("query") / "v.parquet"
    # Small row groups, so lookups and scans cross several of them.
    pq.write_table(_table(ALL), target, row_group_size=10, compression="zstd")
    return str(target)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with Engine(key=KEY, batch_rows=8, prefetch_bytes=1 << 20) as e:
        yield e


def plain(*names: str) -> list[Projection]:
    return [Projection(n, quote_ident(n)) for n in names]


def all_pages(engine: Engine, q: RowQuery) -> tuple[list[dict[str, Any]], int]:
    """Every row of every page from ``q``'s first page on, and how many pages there were."""
    rows: list[dict[str, Any]] = []
    pages = 0
    cursor = None
    while True:
        page = engine.page(RowQuery(q.path, q.columns, q.where, q.order_by, q.limit, cursor))
        pages += 1
        rows += page.to_table().to_pylist()
        assert page.rows == len(page.to_table())
        if page.next_cursor is None:
            return rows, pages
        assert page.rows == q.limit
        cursor = page.next_cursor


class _Reversed:
    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Reversed) -> bool:
        return bool(self.v > other.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.v == other.v

    __hash__ = None  # type: ignore[assignment]


def _sort_key(value: Any, desc: bool) -> tuple[Any, ...]:
    # NULLs (and NaN, rendered as null) last in both directions.
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (1,)
    return (0, _Reversed(value) if desc else value)


def reference(order: list[tuple[str, bool]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` sorted as the engine sorts them: by the keys, then by position in the file."""
    ordered = sorted(
        enumerate(rows),
        key=lambda p: (*(_sort_key(p[1][name], desc) for name, desc in order), p[0]),
    )
    return [r for _, r in ordered]


def same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Row lists equal, NaN equal to NaN."""

    def norm(v: Any) -> Any:
        return "NaN" if isinstance(v, float) and math.isnan(v) else v

    return [{k: norm(v) for k, v in r.items()} for r in a] == [
        {k: norm(v) for k, v in r.items()} for r in b
    ]


# -- projection, masking, filters ----------------------------------------------------------------


def test_projection_and_masking_sql_run_in_duckdb_with_bound_values(engine: Engine, path: str):
    columns = [
        Projection("编号", '"id"', [], "integer"),
        Projection("证件", 'left("身份证号", 6) || repeat(?, 12)', ["*"], "text"),
        Projection("姓", 'left("姓名", ?)', [1], "text"),
        Projection(QUOTED, quote_ident(QUOTED)),
    ]
    page = engine.page(RowQuery(path, columns, None, [], 5))
    assert page.schema.names == ["编号", "证件", "姓", QUOTED]
    assert page.to_table().to_pylist() == [
        {
            "编号": r["id"],
            "证件": r["身份证号"][:6] + "*" * 12,
            "姓": None if r["姓名"] is None else r["姓名"][:1],
            QUOTED: r[QUOTED],
        }
        for r in ALL[:5]
    ]


def test_where_with_parameters_and_values_never_spliced(engine: Engine, path: str):
    hostile = "x' OR 1=1 --"
    rows, _ = all_pages(
        engine,
        RowQuery(
            path,
            plain("id", "姓名"),
            ('("grp" = ? OR "姓名" = ?) AND "姓名" <> ?', [2, "O'Brien", hostile]),
            [],
            4,
        ),
    )
    expected = [
        {"id": r["id"], "姓名": r["姓名"]}
        for r in ALL
        if r["姓名"] is not None and (r["grp"] == 2 or r["姓名"] == "O'Brien")
    ]
    assert rows == expected


def test_a_where_naming_a_source_column_reads_the_source_not_the_masked_output(
    engine: Engine, path: str
):
    masked = [Projection("姓名", "'***'")]
    page = engine.page(RowQuery(path, masked, ('"姓名" = ?', ["张伟"]), [], 100))
    assert page.rows == sum(r["姓名"] == "张伟" for r in ALL)
    assert {r["姓名"] for r in page.to_table().to_pylist()} == {"***"}


def test_chinese_names_and_quotes_in_names(engine: Engine, path: str):
    names = ["姓名", QUOTED, APOS]
    columns = [*plain(*names), Projection("别\"名'", quote_ident(APOS))]
    for fmt in ("json", "csv", "arrow"):
        body = b"".join(engine.stream(RowQuery(path, columns, None, [], 3), fmt)[0])
        parsed = parse(fmt, body)
        assert [list(r) for r in parsed] == [[*names, "别\"名'"]] * 3


def test_sorting_on_a_source_column_not_on_its_masked_output(engine: Engine, path: str):
    masked = [Projection("id", '"id"'), Projection("score", "0.0")]
    rows, _ = all_pages(engine, RowQuery(path, masked, None, [("score", True)], 7))
    assert [r["id"] for r in rows] == [r["id"] for r in reference([("score", True)], ALL)]


# -- pagination ----------------------------------------------------------------------------------

ORDERS = [
    [],
    [("score", False)],
    [("score", True)],
    [("grp", False), ("姓名", True)],
    [("grp", True), ("day", False)],
    [("day", True), ("flag", False), ("score", True)],
    [("姓名", False)],
    [(QUOTED, True), (APOS, False)],
    [("ts", True)],
]


@pytest.mark.parametrize("late", [True, False], ids=["find-then-read", "one-pass"])
@pytest.mark.parametrize(
    "order", ORDERS, ids=lambda o: ",".join(f"{c}{'-' if d else '+'}" for c, d in o) or "file"
)
@pytest.mark.parametrize("limit", [1, 7, 61, 100])
def test_every_order_pages_through_every_row_once(
    engine: Engine,
    path: str,
    order: list[tuple[str, bool]],
    limit: int,
    late: bool,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(query_module, "_LATE_ROWS", 1_000_000 if late else 0)
    rows, pages = all_pages(engine, RowQuery(path, plain(*COLUMNS), None, order, limit))
    assert same(rows, reference(order, ALL))
    assert pages == max(1, -(-ROWS // limit))  # no empty page after an exactly full one


def test_nan_among_small_values_is_not_lost_to_row_group_statistics(tmp_path: Path):
    # Parquet statistics leave NaN out (this group's max is 9.0) while DuckDB compares NaN as
    # the greatest value: pruning by statistics must not drop the NaN row from a sorted page.
    values: list[float | None] = [float(i) for i in range(60)]
    values[5] = math.nan
    values[17] = None
    target = tmp_path / "nan.parquet"
    pq.write_table(pa.table({"s": values, "i": list(range(60))}), target, row_group_size=10)
    rows = [{"s": s, "i": i} for i, s in enumerate(values)]
    with Engine(key=KEY) as engine:
        for _ in range(3):  # the pruning depends on which thread reads which group first
            for order in ([("s", True)], [("s", False)]):
                for limit in (1, 4, 60):
                    got, _ = all_pages(
                        engine, RowQuery(str(target), plain("s", "i"), None, order, limit)
                    )
                    assert [r["i"] for r in got] == [r["i"] for r in reference(order, rows)]


@pytest.mark.parametrize("order", ORDERS[:5], ids=str)
def test_pages_with_a_filter(engine: Engine, path: str, order: list[tuple[str, bool]]):
    where = ('"flag" OR "score" > ?', [1.0])
    rows, _ = all_pages(engine, RowQuery(path, plain(*COLUMNS), where, order, 5))
    kept = [
        r
        for r in ALL
        if r["flag"] or (r["score"] is not None and (math.isnan(r["score"]) or r["score"] > 1))
    ]
    assert same(rows, reference(order, kept))


def test_page_size_may_change_between_pages(engine: Engine, path: str):
    order = [("grp", False)]
    first = engine.page(RowQuery(path, plain("id"), None, order, 10))
    second = engine.page(RowQuery(path, plain("id"), None, order, 25, first.next_cursor))
    ids = [r["id"] for r in first.to_table().to_pylist() + second.to_table().to_pylist()]
    assert ids == [r["id"] for r in reference(order, ALL)][:35]


def test_an_empty_result_has_no_cursor(engine: Engine, path: str):
    page = engine.page(RowQuery(path, plain("id"), ('"id" < ?', [0]), [("score", False)], 5))
    assert (page.rows, page.next_cursor, page.schema.names) == (0, None, ["id"])


# -- cursors -------------------------------------------------------------------------------------


def _cursor(engine: Engine, q: RowQuery) -> str:
    cursor = engine.page(q).next_cursor
    assert cursor is not None
    return cursor


def test_cursors_are_short_opaque_and_url_safe(engine: Engine, path: str):
    cursor = _cursor(engine, RowQuery(path, plain("姓名"), None, [("姓名", False)], 3))
    assert len(cursor) == 32
    assert all(c.isalnum() or c in "-_" for c in cursor)
    assert "张" not in cursor


@pytest.mark.parametrize(
    "garbled",
    ["", "x", "!" * 32, "A" * 32, "A" * 33, "AQAAAAAAAAAN_8AmZFfEChvVaj58aXN=", "ü" * 32, "\x00"],
)
def test_garbled_cursors_are_refused(engine: Engine, path: str, garbled: str):
    with pytest.raises(Invalid) as caught:
        engine.page(RowQuery(path, plain("id"), None, [], 3, garbled))
    assert caught.value.code == "bad_cursor"


def test_a_tampered_cursor_is_refused(engine: Engine, path: str):
    q = RowQuery(path, plain("id"), None, [], 3)
    cursor = _cursor(engine, q)
    for i in range(len(cursor)):
        flipped = cursor[:i] + ("A" if cursor[i] != "A" else "B") + cursor[i + 1 :]
        with pytest.raises(Invalid) as caught:
            engine.page(RowQuery(path, plain("id"), None, [], 3, flipped))
        assert caught.value.code == "bad_cursor"


def test_a_cursor_is_bound_to_its_query(engine: Engine, path: str, tmp_path: Path):
    other_path = tmp_path / "other.parquet"
    pq.write_table(_table(ALL), other_path)
    where = ('"grp" = ?', [1])
    q = RowQuery(path, plain("id"), where, [("score", False)], 2)
    cursor = _cursor(engine, q)
    replays = [
        RowQuery(str(other_path), q.columns, where, q.order_by, 2, cursor),
        RowQuery(path, q.columns, ('"grp" = ?', [2]), q.order_by, 2, cursor),
        RowQuery(path, q.columns, ('"grp" <> ?', [1]), q.order_by, 2, cursor),
        RowQuery(path, q.columns, None, q.order_by, 2, cursor),
        RowQuery(path, q.columns, where, [("score", True)], 2, cursor),
        RowQuery(path, q.columns, where, [], 2, cursor),
    ]
    for replay in replays:
        with pytest.raises(Invalid) as caught:
            engine.page(replay)
        assert caught.value.code == "bad_cursor"
    # The columns and the page size are not part of it.
    engine.page(RowQuery(path, plain("id", "姓名"), where, q.order_by, 9, cursor))
    with Engine(key=b"another key") as other, pytest.raises(Invalid):
        other.page(RowQuery(path, q.columns, where, q.order_by, 2, cursor))


def test_a_cursor_is_bound_to_its_scope_and_hides_its_position(engine: Engine, path: str):
    q = RowQuery(path, plain("id"), None, [], 3, scope="grant:a")
    cursor = _cursor(engine, q)
    engine.page(RowQuery(path, q.columns, None, [], 3, cursor, scope="grant:a"))
    for scope in ("grant:b", "", "grant:A"):
        with pytest.raises(Invalid) as caught:
            engine.page(RowQuery(path, q.columns, None, [], 3, cursor, scope=scope))
        assert caught.value.code == "bad_cursor"
    # The last row of the first page is row 2: its number is not in the cursor in the clear,
    # and cursors of neighbouring rows share no visible counter.
    raw = base64.urlsafe_b64decode(cursor)
    assert (2).to_bytes(7, "big") not in raw
    second = _cursor(engine, RowQuery(path, q.columns, None, [], 3, cursor, scope="grant:a"))
    assert base64.urlsafe_b64decode(second)[1:8] != (5).to_bytes(7, "big")


# -- output formats ------------------------------------------------------------------------------


def parse(fmt: str, body: bytes) -> list[dict[str, Any]]:
    if fmt == "json":
        return list(json.loads(body)["rows"])
    if fmt == "csv":
        text = body.decode()
        assert text.endswith("\r\n")
        return list(csv.DictReader(io.StringIO(text, newline="")))
    return list(pa.ipc.open_stream(body).read_all().to_pylist())


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dt.datetime):
        frac = f".{v.microsecond:06d}".rstrip("0") if v.microsecond else ""
        return v.strftime("%Y-%m-%d %H:%M:%S") + frac
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _csv_value(v: Any) -> str:
    v = _json_value(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return {1e20: "1e+20"}.get(v, repr(v))
    return str(v)


@pytest.mark.parametrize("order", [[], [("score", True), ("id", False)]], ids=["file", "sorted"])
def test_each_format_parses_back_to_the_rows(
    engine: Engine, path: str, order: list[tuple[str, bool]]
):
    q = RowQuery(path, plain(*COLUMNS), None, order, 23)
    expected = reference(order, ALL)[:23]
    streams = {fmt: engine.stream(q, fmt) for fmt in ("json", "csv", "arrow")}
    bodies = {fmt: b"".join(it) for fmt, (it, _) in streams.items()}
    cursors = {fmt: stats().next_cursor for fmt, (_, stats) in streams.items()}
    assert len(set(cursors.values())) == 1 and None not in cursors.values()

    document = json.loads(bodies["json"])
    assert document["next_cursor"] == cursors["json"]
    assert document["rows"] == [{k: _json_value(v) for k, v in r.items()} for r in expected]
    assert "张伟".encode() in bodies["json"]  # UTF-8, not \u escapes

    header = bodies["csv"].split(b"\r\n", 1)[0].decode()
    assert header == ",".join('"' + c.replace('"', '""') + '"' for c in COLUMNS)
    assert parse("csv", bodies["csv"]) == [
        {k: _csv_value(v) for k, v in r.items()} for r in expected
    ]

    table = pa.ipc.open_stream(bodies["arrow"]).read_all()
    assert table.schema.names == COLUMNS
    assert same(table.to_pylist(), expected)


def test_csv_tells_empty_text_from_null_and_quotes_what_needs_it(engine: Engine, path: str):
    columns = [
        Projection("t", "?", ['a,"b"\r\nc']),
        Projection("empty", "''"),
        Projection("null", "CAST(NULL AS VARCHAR)"),
        Projection("n", "CAST(NULL AS INTEGER)"),
    ]
    body = b"".join(engine.stream(RowQuery(path, columns, None, [], 1), "csv")[0])
    assert body.split(b"\r\n", 1)[1] == b'"a,""b""\r\nc","",,\r\n'
    assert parse("csv", body) == [{"t": 'a,"b"\r\nc', "empty": "", "null": "", "n": ""}]


def test_empty_pages_in_each_format(engine: Engine, path: str):
    q = RowQuery(path, plain("id", "姓名"), ('"id" < ?', [0]), [], 5)
    assert json.loads(b"".join(engine.stream(q, "json")[0])) == {"rows": [], "next_cursor": None}
    assert b"".join(engine.stream(q, "csv")[0]) == b'"id","\xe5\xa7\x93\xe5\x90\x8d"\r\n'
    table = pa.ipc.open_stream(b"".join(engine.stream(q, "arrow")[0])).read_all()
    assert (table.num_rows, table.schema.names) == (0, ["id", "姓名"])


def test_stream_figures(path: str):
    with Engine(key=KEY, batch_rows=4, prefetch_bytes=64) as engine:
        q = RowQuery(path, plain(*COLUMNS), None, [], 30)
        iterator, stats = engine.stream(q, "json")
        first = stats()
        assert not first.complete and not first.done and first.next_cursor is None
        chunks = list(iterator)
        last = stats()
        assert last.done and last.complete
        assert (last.rows, last.bytes) == (30, sum(map(len, chunks)))
        assert last.next_cursor == json.loads(b"".join(chunks))["next_cursor"] is not None
        # A page that fits the prefetch buffer has its cursor before the first byte is read.
        with Engine(key=KEY) as roomy:
            _, small = roomy.stream(RowQuery(path, plain("id"), None, [], 5), "csv")
            assert small().complete and small().next_cursor and not small().done


def test_an_abandoned_stream_releases_its_cursor(path: str):
    with Engine(key=KEY, batch_rows=4, prefetch_bytes=0) as engine:
        for _ in range(50):
            iterator, _ = engine.stream(RowQuery(path, plain("id"), None, [], 40), "arrow")
            next(iterator)
            iterator.close()  # type: ignore[attr-defined]
        assert engine.page(RowQuery(path, plain("id"), None, [], 3)).rows == 3


def test_unknown_format(engine: Engine, path: str):
    with pytest.raises(Invalid) as caught:
        engine.stream(RowQuery(path, plain("id")), "xml")  # type: ignore[arg-type]
    assert caught.value.code == "unknown_format"


# -- lookups -------------------------------------------------------------------------------------

MASKED = [
    Projection("id", '"id"'),
    Projection("证件", 'left("身份证号", 4) || ?', ["**"]),
    Projection("score", '"score"'),
    Projection("day", '"day"'),
    Projection("ts", '"ts"'),
]


def _looked_up(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "证件": row["身份证号"][:4] + "**",
        "score": _json_value(row["score"]),
        "day": _json_value(row["day"]),
        "ts": _json_value(row["ts"]),
    }


def test_lookup_hit_miss_and_filter(engine: Engine, path: str):
    for row in ALL[::7]:
        found = engine.lookup(path, '"身份证号"', row["身份证号"], MASKED, None)
        assert found == _looked_up(row)
    assert engine.lookup(path, '"身份证号"', "nobody", MASKED, None) is None
    assert engine.lookup(path, '"身份证号"', None, MASKED, None) is None
    row = ALL[10]
    assert engine.lookup(path, '"身份证号"', row["身份证号"], MASKED, ('"grp" = ?', [row["grp"]]))
    assert (
        engine.lookup(path, '"身份证号"', row["身份证号"], MASKED, ('"grp" <> ?', [row["grp"]]))
        is None
    )


def test_a_lookup_renders_values_as_the_json_output_does(engine: Engine, path: str):
    columns = plain(*COLUMNS)
    body = b"".join(engine.stream(RowQuery(path, columns, None, [], ROWS), "json")[0])
    as_json = json.loads(body)["rows"]
    as_sql = [Projection(p.name, f"({p.sql})") for p in columns]  # not plain: through DuckDB
    for row, expected in zip(ALL, as_json, strict=True):
        assert engine.lookup(path, '"id"', row["id"], columns, None) == expected
        assert engine.lookup(path, '"id"', row["id"], as_sql, None) == expected


def test_a_repeated_key_gives_the_first_row_that_passes_the_filter(engine: Engine, path: str):
    ids = [r["id"] for r in ALL if r["grp"] == 2]
    assert engine.lookup(path, '"grp"', 2, plain("id"), None) == {"id": ids[0]}
    assert engine.lookup(path, '"grp"', 2, plain("id"), ('"id" > ?', [ids[0]])) == {"id": ids[1]}
    # A key found very often is looked up by a scan, with the same answer.
    first_flag = next(r["id"] for r in ALL if r["flag"])
    assert engine.lookup(path, '"flag"', True, plain("id"), None) == {"id": first_flag}


def test_lookup_by_other_key_types_and_probe_types(engine: Engine, path: str):
    row = ALL[12]
    assert engine.lookup(path, '"day"', row["day"], plain("id"), None) == {"id": row["id"]}
    assert engine.lookup(path, '"ts"', row["ts"], plain("id"), None) == {"id": row["id"]}
    assert engine.lookup(path, '"id"', str(row["id"]), plain("id"), None) == {"id": row["id"]}
    assert engine.lookup(path, '"score"', 3.75, plain("id"), None) == {
        "id": next(r["id"] for r in ALL if r["score"] == 3.75)
    }
    assert engine.lookup(path, 'upper("姓名")', "O'BRIEN", plain("id"), None) == {
        "id": next(r["id"] for r in ALL if r["姓名"] == "O'Brien")
    }


def test_lookups_work_without_a_cache(path: str):
    with Engine(key=KEY, lookup_cache_bytes=0) as engine:
        for row in ALL[::9]:
            found = engine.lookup(path, '"身份证号"', row["身份证号"], MASKED, None)
            assert found == _looked_up(row)
        assert engine.cache_bytes == 0


def test_lookup_of_a_type_read_by_duckdb(tmp_path: Path):
    target = tmp_path / "decimal.parquet"
    table = pa.table(
        {
            "k": ["a", "b"],
            "amount": pa.array([1, 2], pa.decimal128(10, 2)).cast(pa.decimal128(10, 2)),
        }
    )
    pq.write_table(table, target)
    with Engine(key=KEY) as engine:
        assert engine.lookup(str(target), '"k"', "b", plain("k", "amount"), None) == {
            "k": "b",
            "amount": 2.0,
        }


# -- errors, configuration -----------------------------------------------------------------------


def test_invalid_queries(engine: Engine, path: str, tmp_path: Path):
    cases: list[tuple[RowQuery, str]] = [
        (RowQuery(path, []), "no_columns"),
        (RowQuery(path, plain("id", "id")), "duplicate_column"),
        (RowQuery(path, [Projection("", '"id"')]), "bad_column_name"),
        (RowQuery(path, plain("id"), None, [], 0), "bad_limit"),
        (RowQuery(path, plain("id"), None, [("id", False), ("id", True)]), "bad_order"),
        (RowQuery(path, plain("id"), ('"id" = ?', ["abc"])), "bad_value"),
    ]
    for q, code in cases:
        with pytest.raises(Invalid) as caught:
            engine.page(q)
        assert caught.value.code == code
    with pytest.raises(NotFound):
        engine.page(RowQuery(str(tmp_path / "missing.parquet"), plain("id")))
    with pytest.raises(NotFound):
        engine.lookup(str(tmp_path / "missing.parquet"), '"id"', 1, plain("id"))


def test_allowed_directories_and_locked_configuration(path: str, tmp_path: Path):
    inside = tmp_path / "in"
    inside.mkdir()
    local = inside / "v.parquet"
    pq.write_table(_table(ALL[:3]), local)
    with Engine(key=KEY, allowed_directories=[str(inside)]) as engine:
        assert engine.page(RowQuery(str(local), plain("id"))).rows == 3
        with pytest.raises(Invalid) as caught:
            engine.page(RowQuery(path, plain("id")))
        assert caught.value.code == "path_not_allowed"
        with pytest.raises(Invalid) as caught:
            engine.lookup(path, '"id"', 1, plain("id"))
        assert caught.value.code == "path_not_allowed"
        assert engine.lookup(str(local), '"id"', 1, plain("id")) == {"id": 1}
        sneaky = [Projection("x", "(SELECT count(*) FROM read_parquet(?))", [path])]
        with pytest.raises(Invalid):
            engine.page(RowQuery(str(local), sneaky))
        with pytest.raises(duckdb.Error):
            engine._cursor().execute("SET enable_external_access = true")


def test_setup_registers_functions_for_column_sql(path: str):
    def setup(con: duckdb.DuckDBPyConnection) -> None:
        con.create_function("shout", lambda s: s.upper() + "!", ["VARCHAR"], "VARCHAR")

    with Engine(key=KEY, setup=setup) as engine:
        page = engine.page(RowQuery(path, [Projection("s", 'shout("身份证号")')], None, [], 1))
        assert page.to_table().to_pylist() == [{"s": ALL[0]["身份证号"].upper() + "!"}]
        assert engine.lookup(path, '"id"', 1, [Projection("s", "shout('a')")]) == {"s": "A!"}


def test_count(engine: Engine, path: str):
    assert engine.count(path) == ROWS
    assert engine.count(path, ('"grp" = ?', [1])) == sum(r["grp"] == 1 for r in ALL)


# -- concurrency ---------------------------------------------------------------------------------


def test_many_threads_paging_and_looking_up_at_once(path: str):
    errors: list[BaseException] = []
    with Engine(key=KEY, batch_rows=8, lookup_cache_bytes=1 << 16) as engine:

        def pager(n: int) -> None:
            try:
                order = ORDERS[n % len(ORDERS)]
                for _ in range(3):
                    rows, _ = all_pages(
                        engine, RowQuery(path, plain(*COLUMNS), None, order, 5 + n % 7)
                    )
                    assert same(rows, reference(order, ALL))
            except BaseException as exc:
                errors.append(exc)

        def looker(n: int) -> None:
            try:
                for row in ALL[n % 5 :: 3]:
                    found = engine.lookup(path, '"身份证号"', row["身份证号"], MASKED, None)
                    assert found == _looked_up(row)
                    iterator, stats = engine.stream(
                        RowQuery(path, plain("id"), ('"id" = ?', [row["id"]])), "json"
                    )
                    assert json.loads(b"".join(iterator))["rows"] == [{"id": row["id"]}]
                    assert stats().rows == 1
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=pager if n % 2 else looker, args=(n,)) for n in range(16)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors[0]

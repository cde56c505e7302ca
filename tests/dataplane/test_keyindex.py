"""Key indexes stored beside content-addressed versions (issue 15, item 9): a lookup through
one answers exactly what a scan answers (hits, misses, repeated keys, NULL keys, typed keys,
row filters); an index that is missing, torn, damaged, made for another version or column, or
even forged with a valid checksum never yields a wrong row; concurrent first lookups (threads,
several engines as several processes would have) all answer right and leave one sound file."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from yaosu.dataplane import keyindex
from yaosu.dataplane.query import Engine, Projection, quote_ident

KEY = b"test-key-0123456789abcdef0123456"
N = 300


def _table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(1, N + 1), pa.int64()),
            "sfzh": [f"1101011990{i:04d}{i % 10:04d}" for i in range(N)],
            "name": [None if i % 7 == 0 else f"名{i % 23}" for i in range(N)],
            "grp": pa.array([None if i % 10 == 3 else i % 6 for i in range(N)], pa.int64()),
            "day": [None if i % 8 == 0 else dt.date(2020, 1 + i % 12, 1 + i % 5) for i in range(N)],
            "ts": [dt.datetime(2024, 1, 1, i % 24, i % 7) for i in range(N)],
            "score": [i / 4 for i in range(N)],
        }
    )


def _store(root: Path, table: pa.Table) -> str:
    """The table as a content-addressed version file, as storage keeps them."""
    root.mkdir(parents=True, exist_ok=True)
    staged = root / "staged.parquet"
    pq.write_table(table, staged, row_group_size=64)
    sha = hashlib.sha256(staged.read_bytes()).hexdigest()
    target = root / "versions" / sha[:2] / f"{sha}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    staged.rename(target)
    return str(target)


@pytest.fixture
def version(tmp_path: Path) -> str:
    return _store(tmp_path, _table())


def _scan(path: str, column: str, value: Any, where: tuple[str, list[Any]] | None) -> Any:
    """The oracle: the first row in file order with the key that passes the filter."""
    cond = f" AND ({where[0]})" if where else ""
    with duckdb.connect() as con:
        row = con.execute(
            f"SELECT id FROM read_parquet(?, file_row_number = true) AS t "
            f"WHERE {quote_ident(column)} = ?{cond} ORDER BY file_row_number LIMIT 1",
            [path, value, *(where[1] if where else [])],
        ).fetchone()
    return None if row is None else {"id": row[0]}


ID = [Projection("id", '"id"')]
MASKED = [Projection("id", '"id"'), Projection("n", "left(\"name\", 1) || '*'")]
ABSENT = {"sfzh": "nobody", "name": "无此人", "grp": 99, "day": dt.date(1999, 1, 1)}


def _probes(table: pa.Table, column: str) -> list[Any]:
    values = [v for v in table.column(column).to_pylist() if v is not None]
    return [*sorted(set(values), key=str)[:25], ABSENT.get(column, values[0])]


@pytest.mark.parametrize("column", ["sfzh", "name", "grp", "day", "ts"])
def test_a_lookup_through_the_stored_index_answers_as_a_scan(version: str, column: str) -> None:
    table = _table()
    filters = [None, ('"grp" <> ?', [2]), ('"id" > ?', [150])]
    with Engine(key=KEY) as engine:
        for value in _probes(table, column):
            for where in filters:
                found = engine.lookup(version, quote_ident(column), value, ID, where)
                assert found == _scan(version, column, value, where), (value, where)
            masked = engine.lookup(version, quote_ident(column), value, MASKED, None)
            expected = _scan(version, column, value, None)
            assert (masked or {}).get("id") == (expected or {}).get("id")
        assert engine.lookup(version, quote_ident(column), None, ID, None) is None
    stored = keyindex.index_path(version, column)
    assert stored is not None and Path(stored).exists()
    index = keyindex.load(version, column, N, table.schema.field(column).type)
    assert index is not None
    assert len(index.keys) == N - table.column(column).null_count  # NULL keys are not indexed


def test_the_index_file_is_bound_to_its_version_column_and_bytes(
    version: str, tmp_path: Path
) -> None:
    kind = pa.string()
    built = keyindex.build(version, "sfzh")
    assert built is not None
    stored = keyindex.save(version, "sfzh", built, N)
    assert stored is not None and keyindex.load(version, "sfzh", N, kind) == built
    assert keyindex.load(version, "sfzh", N + 1, kind) is None  # another row count
    assert keyindex.load(version, "sfzh", N, pa.large_string()) is None  # another type
    assert keyindex.load(version, "name", N, kind) is None  # none stored for that column
    data = Path(stored).read_bytes()
    flipped = data[:50] + bytes([data[50] ^ 1]) + data[51:]
    for damaged in (data[:-1], data[: len(data) // 2], b"", flipped):
        Path(stored).write_bytes(damaged)
        assert keyindex.load(version, "sfzh", N, kind) is None
    # The same index under another version's name is refused: it names its version.
    other = _store(tmp_path / "other", _table().slice(0, N - 1).append_column("x", [[1]] * (N - 1)))
    Path(str(keyindex.index_path(other, "sfzh"))).parent.mkdir(parents=True)
    Path(str(keyindex.index_path(other, "sfzh"))).write_bytes(data)
    assert keyindex.load(other, "sfzh", N, kind) is None
    # Versions not named by their hash get no index file (the engine indexes them in memory).
    assert keyindex.index_path(str(tmp_path / "plain.parquet"), "sfzh") is None
    # Types whose Python values do not compare as DuckDB's get none.
    assert keyindex.build(version, "score") is None


@pytest.mark.parametrize("damage", ["flip", "truncate", "foreign", "forged"])
def test_a_bad_index_never_yields_a_wrong_row(version: str, damage: str) -> None:
    table = _table()
    with Engine(key=KEY) as engine:  # writes the index
        assert engine.lookup(version, '"sfzh"', table["sfzh"][5].as_py(), ID, None) == {"id": 6}
    stored = Path(str(keyindex.index_path(version, "sfzh")))
    data = stored.read_bytes()
    if damage == "flip":
        stored.write_bytes(data[:200] + bytes([data[200] ^ 1]) + data[201:])
    elif damage == "truncate":
        stored.write_bytes(data[:-10])
    elif damage == "foreign":
        built = keyindex.build(version, "name")
        assert built is not None and keyindex.save(version, "name", built, N)
        stored.write_bytes(Path(str(keyindex.index_path(version, "name"))).read_bytes())
    else:  # a sound-looking file (checksum and order valid) pointing keys at other rows
        index = keyindex.build(version, "sfzh")
        assert index is not None
        shifted = pa.array([(r + 1) % N for r in index.rows.to_pylist()], pa.int64())
        forged = keyindex.KeyIndex(index.keys, shifted)
        assert keyindex.save(version, "sfzh", forged, N)
        assert keyindex.load(version, "sfzh", N, pa.string()) is not None
    with Engine(key=KEY) as engine:
        for i in range(0, N, 17):
            key = table["sfzh"][i].as_py()
            assert engine.lookup(version, '"sfzh"', key, ID, None) == {"id": i + 1}
            assert engine.lookup(version, '"sfzh"', key, ID, ('"id" <> ?', [i + 1])) is None
    if damage != "forged":  # rebuilt in place
        assert keyindex.load(version, "sfzh", N, pa.string()) is not None


def test_concurrent_first_lookups_in_several_engines(version: str) -> None:
    table = _table()
    engines = [Engine(key=KEY) for _ in range(4)]  # as four server processes would have
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(engine: Engine, offset: int) -> None:
        try:
            start.wait()
            for i in range(offset, N, 13):
                found = engine.lookup(version, '"sfzh"', table["sfzh"][i].as_py(), ID, None)
                assert found == {"id": i + 1}
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(engines[i % 4], i)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for engine in engines:
        engine.close()
    assert not errors
    assert keyindex.load(version, "sfzh", N, pa.string()) is not None
    leftovers = [p for p in Path(version).parent.rglob("*.tmp")]
    assert not leftovers


RENDERED = [
    Projection("id", '"id"'),
    Projection("n", "left(\"name\", 1) || '*'"),
    Projection("day", 'year("day")'),
    Projection("ts", '"ts"'),
    Projection("score", '"score" * 2'),
]


@pytest.mark.parametrize("where", [None, ('"grp" <> ?', [2]), ('"name" IS NOT NULL', [])])
def test_hot_row_groups_answer_as_single_rows(
    version: str, where: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row group's answers computed in one pass (once it is hot) equal those of the
    single-row statement, for every row, masked and filtered."""
    from yaosu.dataplane import query as query_module

    table = _table()
    keys = table["sfzh"].to_pylist()
    answers = {}
    for after in (10**9, 1):  # never in one pass; at once
        monkeypatch.setattr(query_module, "_MATERIALIZE_AFTER", after)
        with Engine(key=KEY) as engine:
            answers[after] = [
                engine.lookup(version, '"sfzh"', k, RENDERED, where) for k in [*keys, "none"]
            ]
            if after == 1:
                held = [v for k, (v, _) in engine._cache._items.items() if k[0] == "answers"]
                assert held and all(isinstance(v, query_module._Answers) for v in held)
    assert answers[1] == answers[10**9]
    expected = [_scan(version, "sfzh", k, where) for k in keys]
    assert [(a or {}).get("id") for a in answers[1][:-1]] == [(e or {}).get("id") for e in expected]

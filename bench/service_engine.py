"""Data-service engine benchmark (issue: data service API), engine level, one process.

Generates a 1,000,000-row × 10-column Parquet version (100,000 rows with --quick) written as
ingest writes versions (zstd level 1, no dictionary, row groups of 131,072 rows): sequence
numbers, Chinese names, resident ids (unique), mobiles, ages, incomes, birth dates, date-times,
flags and addresses. Then compares ``yaosu.dataplane.query.Engine`` with plain DuckDB in the
same process — ``SELECT * FROM read_parquet(?)`` streamed as Arrow IPC (and as JSON rendered by
DuckDB's ``to_json``), and ``SELECT * … WHERE key = ?`` for one row — so the engine's own
overhead shows without HTTP:

- whole-version streams as Arrow, JSON and CSV (all columns, file order; and with three masked
  columns), rows/s and the ratio engine / plain (target for Arrow through the whole HTTP stack:
  ≥ 0.5 of the bare rate);
- a sorted first and next page of 100 rows;
- lookups by resident id: p50/p99 single-threaded and with 16 threads, cold (first lookups of a
  fresh engine, which build the key index) and warm, against the plain DuckDB lookup (target
  through HTTP: p99 ≤ 2× the bare lookup under 16 concurrent clients).

``bare_app`` is the HTTP baseline of the issue — "a bare Starlette endpoint that streams the same
Parquet through DuckDB with no auth, policy, masking, metering or ledger" — for ``bench/service``.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bench.common import pick
from yaosu.dataplane.query import Engine, Projection, RowQuery, quote_ident

ARROW = "application/vnd.apache.arrow.stream"
KEY_COLUMN = "身份证号"
BATCH_ROWS = 16_384
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彬鹏辉建国志文斌宇浩然"
ADDRESSES = [
    "北京市朝阳区建国路88号",
    "上海市浦东新区世纪大道100号",
    "广东省深圳市南山区科技园路7号",
    "浙江省杭州市西湖区文三路12号",
    "四川省成都市武侯区人民南路4段",
]
# The masked variant: the kind of expressions classification.masking compiles.
MASKED = {
    "姓名": 'left("姓名", 1) || repeat(\'*\', length("姓名") - 1)',
    "身份证号": 'left("身份证号", 6) || \'********\' || right("身份证号", 4)',
    "手机": 'left(CAST("手机" AS VARCHAR), 3) || \'****\' || right(CAST("手机" AS VARCHAR), 4)',
}


def generate(path: Path | str, rows: int) -> None:
    """Write the synthetic version: 10 columns, unique resident ids in random order."""
    con = duckdb.connect()
    try:
        con.execute("SELECT setseed(0.42)").fetchall()
        table = con.sql(
            f"""
            SELECT
              i + 1 AS 编号,
              {pick(list(SURNAMES))} || {pick(list(GIVEN))}
                || CASE WHEN random() < 0.6 THEN {pick(list(GIVEN))} ELSE '' END AS 姓名,
              (110000 + (i // 10000) * 37)::VARCHAR
                || strftime(DATE '1950-01-01' + (hash(i * 7) % 20000)::INT, '%Y%m%d')
                || lpad((i % 10000)::VARCHAR, 4, '0') AS 身份证号,
              (13000000000 + hash(i * 13) % 6999999999)::BIGINT AS 手机,
              (18 + hash(i * 17) % 70)::BIGINT AS 年龄,
              round((hash(i * 19) % 10000000) / 100.0, 2)::DOUBLE AS 收入,
              DATE '1940-01-01' + (hash(i * 23) % 29000)::INT AS 出生日期,
              TIMESTAMP '2024-01-01' + to_seconds((hash(i * 29) % 31536000)::BIGINT) AS 登记时间,
              random() < 0.5 AS 有效,
              {pick(ADDRESSES)} AS 地址
            FROM range({rows}) AS t(i)
            ORDER BY hash(i * 31)
            """
        ).to_arrow_table()
    finally:
        con.close()
    pq.write_table(
        table,
        str(path),
        row_group_size=1 << 17,
        compression="zstd",
        compression_level=1,
        use_dictionary=False,
        write_statistics=True,
    )


# -- the bare baseline ---------------------------------------------------------------------------


def _bare_connection() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:")


def _joined(array: pa.Array) -> bytes:
    """The strings of a string array back to back (a slice of its data buffer)."""
    if len(array) == 0:
        return b""
    array = array.cast(pa.large_string())
    offsets = memoryview(array.buffers()[1]).cast("q")  # type: ignore[arg-type]
    data = array.buffers()[2]
    if data is None:
        return b""
    start, end = offsets[array.offset], offsets[array.offset + len(array)]
    return memoryview(data)[start:end].tobytes()  # type: ignore[arg-type]


def bare_arrow(con: duckdb.DuckDBPyConnection, path: str) -> Iterator[bytes]:
    """The whole file as an Arrow IPC stream: ``SELECT * FROM read_parquet(?)``."""
    cur = con.cursor()
    try:
        reader = cur.sql("SELECT * FROM read_parquet(?)", params=[path]).to_arrow_reader(BATCH_ROWS)
        sink = io.BytesIO()
        writer = pa.ipc.new_stream(sink, reader.schema)
        for batch in reader:
            writer.write_batch(batch)
            yield sink.getvalue()
            sink.seek(0)
            sink.truncate()
        writer.close()
        yield sink.getvalue()
    finally:
        cur.close()


def bare_json(con: duckdb.DuckDBPyConnection, path: str) -> Iterator[bytes]:
    """The whole file as ``{"rows": […]}``, each row rendered by DuckDB's ``to_json``."""
    cur = con.cursor()
    try:
        reader = cur.sql(
            "SELECT ',' || to_json(t) FROM read_parquet(?) AS t", params=[path]
        ).to_arrow_reader(BATCH_ROWS)
        yield b'{"rows":['
        first = True
        for batch in reader:
            text = _joined(batch.column(0))
            if text:
                yield text[1:] if first else text
                first = False
        yield b"]}"
    finally:
        cur.close()


def bare_csv(con: duckdb.DuckDBPyConnection, path: str) -> Iterator[bytes]:
    """The whole file as CSV, through pyarrow's CSV writer."""
    cur = con.cursor()
    try:
        reader = cur.sql("SELECT * FROM read_parquet(?)", params=[path]).to_arrow_reader(BATCH_ROWS)
        sink = io.BytesIO()
        writer = pacsv.CSVWriter(sink, reader.schema)
        for batch in reader:
            writer.write_batch(batch)
            yield sink.getvalue()
            sink.seek(0)
            sink.truncate()
        writer.close()
        yield sink.getvalue()
    finally:
        cur.close()


def bare_lookup(
    con: duckdb.DuckDBPyConnection, path: str, key_column: str, key: Any
) -> bytes | None:
    """One row by key as JSON: ``SELECT to_json(t) FROM read_parquet(?) t WHERE key = ?``."""
    cur = con.cursor()
    try:
        rows = cur.execute(
            f"SELECT to_json(t) FROM read_parquet(?) AS t WHERE {quote_ident(key_column)} = ? "
            "LIMIT 1",
            [path, key],
        ).fetchall()
    finally:
        cur.close()
    return rows[0][0].encode() if rows else None


def bare_app(parquet_path: str, key_column: str) -> Starlette:
    """The issue's baseline: DuckDB over the same Parquet, no auth, policy, masking, metering
    or ledger. ``GET /rows`` streams the whole file as an Arrow IPC stream when ``Accept``
    names it, else as JSON; ``GET /lookup?key=…`` returns one row by ``key_column`` as JSON
    (404 when absent). Endpoints are plain functions, run on Starlette's thread pool."""
    con = _bare_connection()

    def rows(request: Request) -> Response:
        if ARROW in request.headers.get("accept", ""):
            return StreamingResponse(bare_arrow(con, parquet_path), media_type=ARROW)
        return StreamingResponse(bare_json(con, parquet_path), media_type="application/json")

    def lookup(request: Request) -> Response:
        found = bare_lookup(con, parquet_path, key_column, request.query_params.get("key", ""))
        if found is None:
            return Response(b'{"error":"not found"}', 404, media_type="application/json")
        return Response(found, media_type="application/json")

    app = Starlette(routes=[Route("/rows", rows), Route("/lookup", lookup)])
    app.state.duckdb = con
    return app


# -- measuring -----------------------------------------------------------------------------------


def _drain(chunks: Iterator[bytes]) -> int:
    return sum(len(c) for c in chunks)


def _best_rate(runs: int, rows: int, fn: Callable[[], int]) -> tuple[float, int]:
    """Best rows/s over ``runs`` runs, and the bytes of one run."""
    best = float("inf")
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        size = fn()
        best = min(best, time.perf_counter() - started)
    return rows / best, size


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2] * 1e3
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3
    return f"p50 {p50:8.3f} ms   p99 {p99:8.3f} ms"


def _timed(fn: Callable[[Any], Any], keys: list[Any], threads: int) -> list[float]:
    def one(key: Any) -> float:
        started = time.perf_counter()
        fn(key)
        return time.perf_counter() - started

    if threads == 1:
        return [one(k) for k in keys]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, keys))


def _streams(engine: Engine, path: str, rows: int, runs: int) -> None:
    con = _bare_connection()
    names = pq.read_schema(path).names
    plain = [Projection(n, quote_ident(n)) for n in names]
    masked = [Projection(p.name, MASKED.get(p.name, p.sql)) for p in plain]

    def ours(columns: list[Projection], fmt: str) -> Callable[[], int]:
        def run() -> int:
            chunks, stats = engine.stream(RowQuery(path, columns, None, [], rows), fmt)  # type: ignore[arg-type]
            size = _drain(chunks)
            assert stats().rows == rows
            return size

        return run

    print(f"{'whole version, file order':34s} {'rows/s':>12s} {'MB':>8s}   engine/plain")
    for fmt, bare in (("arrow", bare_arrow), ("json", bare_json), ("csv", bare_csv)):
        # Interleaved, best of each: the machine may be shared.
        bare_rate, bare_size = 0.0, 0
        our_rate, our_size = 0.0, 0
        for _ in range(runs):
            rate, bare_size = _best_rate(1, rows, lambda b=bare: _drain(b(con, path)))  # type: ignore[misc]
            bare_rate = max(bare_rate, rate)
            rate, our_size = _best_rate(1, rows, ours(plain, fmt))
            our_rate = max(our_rate, rate)
        masked_rate, masked_size = _best_rate(runs, rows, ours(masked, fmt))
        print(f"  plain DuckDB {fmt:5s} {'':15s} {bare_rate:12,.0f} {bare_size / 1e6:8.1f}")
        print(
            f"  engine {fmt:5s} {'':21s} {our_rate:12,.0f} {our_size / 1e6:8.1f}   "
            f"{our_rate / bare_rate:.2f}"
        )
        print(
            f"  engine {fmt:5s}, 3 masked columns {'':3s} {masked_rate:12,.0f} "
            f"{masked_size / 1e6:8.1f}   {masked_rate / bare_rate:.2f}"
        )
    # The same through pages, following the cursors (file order, then with a row filter).
    for label, where, size in (
        ("arrow, pages of 100,000", None, 100_000),
        ("arrow, 100,000, filtered", ('"年龄" >= ?', [18]), 100_000),
        ("json, pages of 10,000", None, 10_000),
    ):
        fmt = label.split(",")[0]

        def paged(where: Any = where, size: int = size, fmt: str = fmt) -> int:
            total, cursor = 0, None
            while True:
                q = RowQuery(path, plain, where, [], size, cursor)
                chunks, stats = engine.stream(q, fmt)  # type: ignore[arg-type]
                total += _drain(chunks)
                cursor = stats().next_cursor
                if cursor is None:
                    return total

        rate, size_bytes = _best_rate(runs, rows, paged)
        print(f"  engine {label:26s} {rate:12,.0f} {size_bytes / 1e6:8.1f}")
    # The naive Python JSON a bare endpoint might write instead, for scale (100,000 rows).
    sample = min(rows, 100_000)

    def naive() -> int:
        cur = con.cursor()
        reader = cur.sql(
            "SELECT * FROM read_parquet(?) LIMIT ?", params=[path, sample]
        ).to_arrow_reader(BATCH_ROWS)
        size = 0
        for batch in reader:
            size += len(json.dumps(batch.to_pylist(), ensure_ascii=False, default=str).encode())
        cur.close()
        return size

    rate, _ = _best_rate(1, sample, naive)
    print(f"  (for scale: pyarrow to_pylist + json.dumps {rate:12,.0f} rows/s)")

    print("sorted by 收入 desc, 100 rows")
    order = [("收入", True)]
    q = RowQuery(path, masked, None, order, 100)
    first = _timed(lambda _: engine.page(q), [None] * runs, 1)
    cursor = engine.page(q).next_cursor
    following = _timed(
        lambda _: engine.page(RowQuery(path, masked, None, order, 100, cursor)), [None] * runs, 1
    )

    def bare_sorted(_: Any) -> None:
        cur = con.cursor()
        try:
            sql = 'SELECT * FROM read_parquet(?) ORDER BY "收入" DESC LIMIT 100'
            cur.sql(sql, params=[path]).to_arrow_table()
        finally:
            cur.close()

    bare = _timed(bare_sorted, [None] * runs, 1)
    print(f"  plain DuckDB ORDER BY … LIMIT 100  {min(bare) * 1e3:8.1f} ms")
    print(f"  engine, first page (masked)        {min(first) * 1e3:8.1f} ms")
    print(f"  engine, next page (masked)         {min(following) * 1e3:8.1f} ms")
    con.close()


def _lookups(path: str, rows: int, quick: bool) -> None:
    con = _bare_connection()
    keys = [
        r[0]
        for r in con.execute(
            f"SELECT {quote_ident(KEY_COLUMN)} FROM read_parquet(?)", [path]
        ).fetchall()
    ]
    rnd = random.Random(5)
    names = pq.read_schema(path).names
    plain = [Projection(n, quote_ident(n)) for n in names]
    masked = [Projection(p.name, MASKED.get(p.name, p.sql)) for p in plain]
    where = ('"年龄" >= ?', [18])
    key_sql = quote_ident(KEY_COLUMN)
    bare_n = 40 if quick else 100

    def bare(key: Any) -> None:
        assert bare_lookup(con, path, KEY_COLUMN, key) is not None

    print(f"lookup by {KEY_COLUMN} (unique, random order) {'':10s} latency")
    for threads in (1, 16):
        samples = _timed(bare, rnd.sample(keys, bare_n * (1 if threads == 1 else 4)), threads)
        print(f"  plain DuckDB, {threads:2d} thread(s) {'':22s} {_percentiles(samples)}")
    with Engine() as engine:
        started = time.perf_counter()
        engine.lookup(path, key_sql, keys[0], masked, where)
        print(
            f"  engine, first lookup (builds the key index) {'':4s} "
            f"{(time.perf_counter() - started) * 1e3:8.1f} ms"
        )

        def ours(columns: list[Projection], filt: Any) -> Callable[[Any], None]:
            def run(key: Any) -> None:
                assert engine.lookup(path, key_sql, key, columns, filt) is not None

            return run

        cold = _timed(ours(masked, where), rnd.sample(keys, 200), 16)
        print(f"  engine, masked, cold columns, 16 threads {'':7s} {_percentiles(cold)}")
        _timed(ours(masked, where), rnd.sample(keys, 2000), 4)  # warm every row group
        n = 1000 if quick else 4000
        for label, columns, filt in (
            ("masked + row filter", masked, where),
            ("plain columns", plain, None),
        ):
            for threads in (1, 16):
                samples = _timed(ours(columns, filt), rnd.sample(keys, n), threads)
                print(f"  engine, warm, {label:19s} {threads:2d} thread(s) {_percentiles(samples)}")
        print(f"  engine lookup cache: {engine.cache_bytes / 1e6:,.0f} MB")
    con.close()


def main(quick: bool = False) -> None:
    rows = 100_000 if quick else 1_000_000
    runs = 1 if quick else 3
    print(f"== service engine: {rows:,} rows × 10 columns, engine vs plain DuckDB, one process")
    tmp = Path(tempfile.mkdtemp(prefix="yaosu-bench-service-engine-"))
    try:
        path = tmp / "version.parquet"
        started = time.perf_counter()
        generate(path, rows)
        print(
            f"generated in {time.perf_counter() - started:.1f}s: "
            f"{path.stat().st_size / 1e6:,.1f} MB Parquet; "
            f"{threading.active_count()} thread(s), best of {runs} interleaved runs"
        )
        with Engine() as engine:
            _streams(engine, str(path), rows, runs)
        _lookups(str(path), rows, quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.service_engine", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    main(quick=parser.parse_args().quick)

"""The indexed baseline of the data-service lookup benchmark (issue 15, item 9): a bare Starlette
endpoint over the same rows in PostgreSQL with a B-tree on the key — no auth, policy, masking,
metering or ledger. ``load`` copies a version's rows into a table of their own (typed as the
Parquet columns), ``pg_app`` serves ``GET /lookup?key=…`` as one JSON row (404 when absent) from
a plain function on Starlette's thread pool, one connection per worker thread, and ``drop``
removes the table afterwards.

The server is the local PostgreSQL (``YAOSU_BENCH_PG_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``); without one the baseline is skipped."""

from __future__ import annotations

import io
import os
import threading
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg import sql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

URL = os.environ.get("YAOSU_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")

_TYPES = {
    pa.int64(): "bigint",
    pa.string(): "text",
    pa.float64(): "double precision",
    pa.date32(): "date",
    pa.timestamp("us"): "timestamp",
    pa.bool_(): "boolean",
}


def reachable(url: str = URL) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def load(parquet_path: str, table: str, key_column: str, url: str = URL) -> int:
    """Copy the version's rows into ``table`` (made anew) with a B-tree on ``key_column``."""
    data = pq.read_table(parquet_path)
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(_TYPES.get(f.type, "text")))
        for f in data.schema
    )
    buffer = io.BytesIO()
    pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        con.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(table), columns))
        copy = sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(sql.Identifier(table))
        with con.cursor().copy(copy) as cp:
            cp.write(buffer.getvalue())
        con.execute(
            sql.SQL("CREATE INDEX ON {} USING btree ({})").format(
                sql.Identifier(table), sql.Identifier(key_column)
            )
        )
        con.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    return data.num_rows


def drop(table: str, url: str = URL) -> None:
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


def pg_app(table: str, key_column: str, url: str = URL) -> Starlette:
    """``GET /lookup?key=…``: the first row with that key as JSON (PostgreSQL renders it)."""
    local = threading.local()
    query = sql.SQL("SELECT row_to_json(t)::text FROM {} AS t WHERE {} = %s LIMIT 1").format(
        sql.Identifier(table), sql.Identifier(key_column)
    )

    def connection() -> Any:
        con = getattr(local, "con", None)
        if con is None:
            con = local.con = psycopg.connect(url, autocommit=True, prepare_threshold=0)
        return con

    def lookup(request: Request) -> Response:
        row = connection().execute(query, [request.query_params.get("key", "")]).fetchone()
        if row is None:
            return Response(b'{"error":"not found"}', 404, media_type="application/json")
        return Response(row[0].encode(), media_type="application/json")

    return Starlette(routes=[Route("/lookup", lookup)])

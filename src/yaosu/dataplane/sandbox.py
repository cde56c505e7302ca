"""The compute sandbox (计算沙箱): run one checked SELECT on DuckDB over granted views only.

The caller (the compute domain) hands over, per granted table, the SELECT text of its view —
projection, masking and row filter already applied by trusted code — and the Parquet files it
reads. The sandbox is a fresh in-memory DuckDB connection set up in this order:

1. ``memory_limit``, ``threads``, no spilling to disk (``temp_directory`` must be set while
   external access is still on);
2. ``allowed_paths`` = exactly those Parquet files, then ``enable_external_access = false``:
   DuckDB still reads the granted files, and nothing else — no other file or directory, no
   network, no extension installs or loads (checked: ``read_csv('/etc/passwd')``, ``glob``,
   ``COPY … TO`` and ``INSTALL`` all fail with a permission error);
3. the views are created;
4. ``lock_configuration = true``: no later ``SET`` can undo any of it.

The one thing DuckDB itself cannot stop is a raw read of an allowed Parquet file (which would
skip the view's masking). So before running, the sandbox asks DuckDB's own parser for the
statement (``json_serialize_sql``) and refuses anything but one SELECT whose every relation is a
registered view or a CTE, with no table function — a second line behind the sqlglot checker
that does not depend on sqlglot parsing like DuckDB does.

A timer thread interrupts the query at the time limit (``conn.interrupt()``, not a wait), and
results come back as an Arrow table of at most ``max_rows`` rows.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from yaosu.kit.errors import Forbidden, YaosuError

__all__ = ["Limits", "Sandbox", "SandboxError", "SandboxResult", "View"]

# DuckDB function names the guard refuses even as scalars (the checker's allow-list is the
# first line; these are the ones that read the node's state or files).
_DENIED_PREFIXES = ("read_", "duckdb_", "pragma_", "parquet_", "sniff_", "glob", "query")
_DENIED_NAMES = {"getenv", "current_setting", "getvariable", "which_secret", "load_extension"}


class SandboxError(YaosuError):
    """A sandbox query was refused or stopped; nothing was returned."""

    status = 422
    code = "compute_engine_error"

    def __init__(self, code: str, message: str, message_zh: str, **details: Any) -> None:
        super().__init__(message, message_zh, code=code, **details)


class SandboxRefused(SandboxError, Forbidden):
    status = 403


@dataclass(frozen=True)
class View:
    """A granted table: its name in the sandbox, the SELECT text that defines it (reading
    ``read_parquet`` of ``files``), and the files."""

    name: str
    select: str
    files: tuple[Path, ...]


@dataclass(frozen=True)
class Limits:
    seconds: float = 30.0
    memory: str = "1GB"
    threads: int = 2
    max_rows: int = 100_000


@dataclass(frozen=True)
class SandboxResult:
    table: pa.Table
    truncated: bool  # more than max_rows rows; the rest were not fetched
    seconds: float


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Sandbox:
    """One sandbox connection; use as a context manager, or call `close`."""

    def __init__(self, views: Sequence[View], limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.views = {v.name.lower() for v in views}
        files = sorted({str(Path(f).resolve()) for v in views for f in v.files})
        conn = duckdb.connect(":memory:")
        try:
            # No spilling: a query that outgrows the memory limit stops instead of writing.
            conn.execute("SET temp_directory = ''")
            conn.execute(f"SET memory_limit = {_literal(self.limits.memory)}")
            conn.execute(f"SET threads = {int(self.limits.threads)}")
            conn.execute("SET preserve_insertion_order = false")
            if files:
                listed = ", ".join(_literal(f) for f in files)
                conn.execute(f"SET allowed_paths = [{listed}]")
            conn.execute("SET enable_external_access = false")
            for view in views:
                conn.execute(f"CREATE VIEW {_quote(view.name)} AS {view.select}")
            conn.execute("SET lock_configuration = true")
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def run(self, sql: str) -> SandboxResult:
        """Run one SELECT; raise `SandboxError` (timeout, memory, refused) or return Arrow."""
        self._guard(sql)
        timer = threading.Timer(self.limits.seconds, self._conn.interrupt)
        started = time.perf_counter()
        timer.start()
        try:
            reader = self._conn.sql(sql).to_arrow_reader(65_536)
            batches: list[pa.RecordBatch] = []
            rows = 0
            truncated = False
            for batch in reader:
                if rows + batch.num_rows > self.limits.max_rows:
                    batches.append(batch.slice(0, self.limits.max_rows - rows))
                    truncated = True
                    reader.close()  # the rest is never computed
                    break
                batches.append(batch)
                rows += batch.num_rows
            table = pa.Table.from_batches(batches, schema=reader.schema)
        except duckdb.InterruptException as exc:
            raise self._timeout() from exc
        except duckdb.OutOfMemoryException as exc:
            raise SandboxError(
                "compute_memory_limit",
                f"The query needed more than the memory limit of {self.limits.memory}.",
                f"查询所需内存超过 {self.limits.memory} 的限制。",
                memory=self.limits.memory,
            ) from exc
        except duckdb.PermissionException as exc:
            raise SandboxRefused(
                "compute_engine_refused",
                f"The engine refused the query: {exc}",
                f"引擎拒绝执行该查询：{exc}",
            ) from exc
        except duckdb.Error as exc:
            if time.perf_counter() - started >= self.limits.seconds:
                raise self._timeout() from exc
            raise SandboxError(
                "compute_engine_error",
                f"The query failed in the engine: {exc}",
                f"查询在引擎中执行失败：{exc}",
            ) from exc
        finally:
            timer.cancel()
        return SandboxResult(table, truncated, time.perf_counter() - started)

    def _timeout(self) -> SandboxError:
        return SandboxError(
            "compute_timeout",
            f"The query was stopped at the time limit of {self.limits.seconds:g} s.",
            f"查询超过 {self.limits.seconds:g} 秒的时间限制，已被中止。",
            seconds=self.limits.seconds,
        )

    # -- DuckDB's own reading of the statement
    def _guard(self, sql: str) -> None:
        statements = self._conn.extract_statements(sql)
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise self._refused("only one SELECT statement may run in the sandbox")
        rows = self._conn.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()
        tree = json.loads(rows[0][0]) if rows else {"error": True}
        if tree.get("error"):
            raise self._refused(str(tree.get("error_message", "not a SELECT")))
        ctes = {name.lower() for name in _cte_names(tree)}
        for node in _nodes(tree):
            kind = node.get("type")
            if kind == "TABLE_FUNCTION":
                raise self._refused("table functions are not allowed")
            if kind == "BASE_TABLE":
                name = str(node.get("table_name", "")).lower()
                if node.get("schema_name") or node.get("catalog_name"):
                    raise self._refused(f"relation {name} is not a granted view")
                if name not in self.views and name not in ctes:
                    raise self._refused(f"relation {name} is not a granted view")
            if node.get("class") == "FUNCTION":
                fn = str(node.get("function_name", "")).lower()
                if fn in _DENIED_NAMES or fn.startswith(_DENIED_PREFIXES):
                    raise self._refused(f"function {fn} is not allowed")

    @staticmethod
    def _refused(why: str) -> SandboxRefused:
        return SandboxRefused(
            "compute_engine_refused",
            f"The sandbox refused the query: {why}.",
            f"沙箱拒绝执行该查询：{why}。",
        )


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _nodes(value)


def _cte_names(tree: Any) -> Iterator[str]:
    for node in _nodes(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map", []):
                yield str(entry.get("key", ""))

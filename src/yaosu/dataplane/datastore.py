"""Offset pages of a stored version, for DataStore-style reads (the CKAN ``datastore_search``):
equality filters, a case-insensitive text match, a sort, limit and offset, and an exact total.

The caller hands over one SQL expression per output column (e.g. a masking expression) and
names the *plain* columns: stored columns passed through unchanged. Only plain columns may be
filtered, searched or sorted, because a condition on a masked column would reveal its unmasked
values one question at a time. Values reach SQL only as bound parameters; the only identifiers
written into SQL are the version's own column names, quoted.

Everything runs in DuckDB. A page first picks its rows (row numbers and sort keys only), then
computes the output columns for those rows alone, so masking costs nothing for skipped rows. An
unfiltered, unsorted page is a range of row numbers, and an unfiltered total is read from the
Parquet footer: both are fast whatever the size of the version.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from yaosu.kit.errors import Invalid, NotFound

from .errors import DataplaneError
from .query import Projection, quote_ident

__all__ = ["ROW_ID", "Datastore", "TablePage", "TableQuery"]

# The 1-based row number in the version, always the first output column (CKAN's ``_id``).
ROW_ID = "_id"
# Stored types whose name may be written into a cast (DuckDB's own names, no user text).
_SIMPLE_TYPE = re.compile(r"[A-Z][A-Z0-9 ]*(\(\d+(, ?\d+)?\))?")
_TEXT_TYPES = ("VARCHAR",)


@dataclass(frozen=True)
class TableQuery:
    """A page of the Parquet version at ``path``.

    ``columns`` are the output columns (after ``_id``); ``plain`` the stored columns that may be
    filtered, searched and sorted (they must be output unchanged, or not output at all).
    ``equals`` keeps rows whose column equals any of the values (``None`` matches NULL); values
    that do not fit the column's type match nothing. ``text`` keeps rows where any plain text
    column contains it, and ``contains`` rows where each named column contains its text (both
    ignoring case).
    ``order_by`` lists (plain column or ``_id``, descending); NULLs sort last, ties by ``_id``.
    """

    path: str
    columns: list[Projection]
    plain: frozenset[str]
    equals: dict[str, list[Any]] = field(default_factory=dict)
    text: str | None = None
    contains: dict[str, str] = field(default_factory=dict)
    order_by: list[tuple[str, bool]] = field(default_factory=list)
    limit: int = 100
    offset: int = 0
    count: bool = True


@dataclass(frozen=True)
class TablePage:
    """The page's rows (``_id`` first, then the output columns) and the total of matching rows
    (None when not asked for)."""

    table: pa.Table
    total: int | None


def _refused(code: str, en: str, zh: str, **details: Any) -> Invalid:
    return DataplaneError(code, en, zh, **details)


@dataclass(frozen=True)
class _Stored:
    names: list[str]
    types: dict[str, str]  # DuckDB type names
    rows: int


class Datastore:
    """Pages over Parquet versions with one in-memory DuckDB database (thread-safe: each call
    runs on its own cursor). ``allowed_directories`` limits the files DuckDB may read; ``setup``
    registers functions that column SQL calls before the configuration is locked."""

    def __init__(
        self,
        *,
        allowed_directories: Sequence[str] | None = None,
        setup: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
        threads: int | None = None,
    ) -> None:
        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "preserve_insertion_order": True,
            "python_enable_replacements": False,
        }
        if threads:
            config["threads"] = threads
        self._con = duckdb.connect(":memory:", config=config)
        self._dirs: list[str] | None = None
        try:
            self._con.execute("SET GLOBAL parquet_metadata_cache = true")
            if allowed_directories is not None:
                self._dirs = [os.path.join(os.path.realpath(d), "") for d in allowed_directories]
                self._con.execute("SET allowed_directories = ?", [self._dirs])
                self._con.execute("SET enable_external_access = false")
            if setup is not None:
                setup(self._con)
            self._con.execute("SET lock_configuration = true")
        except BaseException:
            self._con.close()
            raise
        self._lock = threading.Lock()
        self._stored: dict[tuple[str, int, int], _Stored] = {}

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._con.cursor()

    def stored(self, path: str) -> _Stored:
        """The version's stored column names, their DuckDB types and its row count (read from
        the footer once per file)."""
        if self._dirs is not None:
            real = os.path.realpath(path)
            if not any(real.startswith(d) for d in self._dirs):
                raise _refused(
                    "path_not_allowed",
                    f"{path} is outside the directories this engine may read.",
                    f"{path} 不在允许读取的目录中。",
                )
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise NotFound(
                f"Dataset version file {path} does not exist.",
                f"数据集版本文件 {path} 不存在。",
                code="version_not_found",
            ) from None
        stamp = (path, st.st_mtime_ns, st.st_size)
        found = self._stored.get(stamp)
        if found is None:
            rows = pq.read_metadata(path).num_rows
            cur = self._cursor()
            try:
                described = cur.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
            finally:
                cur.close()
            names = [str(r[0]) for r in described]
            found = _Stored(names, {str(r[0]): str(r[1]) for r in described}, int(rows))
            with self._lock:
                if len(self._stored) > 256:
                    self._stored.clear()
                self._stored[stamp] = found
        return found

    def search(self, q: TableQuery) -> TablePage:
        stored = self.stored(q.path)
        where, params = self._where(q, stored)
        keys = self._order(q, stored)
        limit, offset = max(0, q.limit), max(0, q.offset)
        items = "".join(f", ({c.sql}) AS __ds_c{i}" for i, c in enumerate(q.columns))
        item_params = [p for c in q.columns for p in c.params]
        source = "read_parquet(?, file_row_number = true) AS __ds_t"
        select = f"SELECT __ds_t.file_row_number + 1 AS __ds_id{items} FROM {source}"
        with self._run() as cur:
            if not where and not keys:
                # A range of row numbers: no scan, no sort.
                sql = (
                    f"{select} WHERE __ds_t.file_row_number >= ? "
                    "AND __ds_t.file_row_number < ? ORDER BY __ds_t.file_row_number"
                )
                run_params = [*item_params, q.path, offset, offset + limit]
            else:
                # First the page's row numbers (sort keys and filter columns only), then the
                # output columns of those rows alone (DuckDB skips row groups outside them).
                order = ", ".join(
                    [f"{k} {'DESC' if d else 'ASC'} NULLS LAST" for k, d in keys]
                    + ["__ds_t.file_row_number"]
                )
                picked = cur.execute(
                    f"SELECT __ds_t.file_row_number FROM {source} "
                    f"WHERE {' AND '.join(where) or 'true'} ORDER BY {order} LIMIT ? OFFSET ?",
                    [q.path, *params, limit, offset],
                ).fetchall()
                rows = [int(r[0]) for r in picked]
                sql = (
                    f"{select} WHERE __ds_t.file_row_number = ANY(?) "
                    "ORDER BY list_position(?, __ds_t.file_row_number)"
                )
                run_params = [*item_params, q.path, rows, rows]
            table = cur.sql(sql, params=run_params).to_arrow_table()
            total: int | None = None
            if q.count and not where:
                total = stored.rows
            elif q.count:
                row = cur.execute(
                    f"SELECT count(*) FROM read_parquet(?) AS __ds_t WHERE {' AND '.join(where)}",
                    [q.path, *params],
                ).fetchone()
                total = int(row[0]) if row else 0
        return TablePage(table.rename_columns([ROW_ID, *(c.name for c in q.columns)]), total)

    @contextlib.contextmanager
    def _run(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self._cursor()
        try:
            yield cur
        except (duckdb.ConversionException, duckdb.OutOfRangeException) as exc:
            message = str(exc).split("\n", 1)[0]
            raise _refused(
                "bad_value",
                f"A value does not fit its column: {message}",
                f"取值与列类型不符：{message}",
            ) from None
        finally:
            cur.close()

    def _plain(self, q: TableQuery, stored: _Stored, name: str, what: str) -> str:
        if name not in stored.types or name not in q.plain:
            raise _refused(
                "column_not_plain",
                f"Cannot {what} by {name!r}: it is not a column of this dataset, or it is "
                "masked (masked columns are never filtered, searched or sorted).",
                f"不能按 {name!r} {_ZH[what]}：该列不存在或已脱敏"
                "（脱敏列不能用于筛选、搜索或排序）。",
                column=name,
            )
        return quote_ident(name)

    def _where(self, q: TableQuery, stored: _Stored) -> tuple[list[str], list[Any]]:
        conds: list[str] = []
        params: list[Any] = []
        for name, values in q.equals.items():
            column = (
                "(__ds_t.file_row_number + 1)"
                if name == ROW_ID
                else f"__ds_t.{self._plain(q, stored, name, 'filter')}"
            )
            kind = "BIGINT" if name == ROW_ID else stored.types[name]
            castable = bool(_SIMPLE_TYPE.fullmatch(kind))
            alts = []
            for v in values:
                if v is None:
                    alts.append(f"{column} IS NULL")
                elif castable:
                    alts.append(f"{column} = TRY_CAST(? AS {kind})")
                    params.append(_param(v))
                else:  # nested or unusual types compare as text
                    alts.append(f"CAST({column} AS VARCHAR) = ?")
                    params.append(str(_param(v)))
            conds.append("(" + (" OR ".join(alts) or "false") + ")")
        if q.text:
            names = [n for n in stored.names if n in q.plain and stored.types[n] in _TEXT_TYPES]
            alts = [f"contains(lower(CAST(__ds_t.{quote_ident(n)} AS VARCHAR)), ?)" for n in names]
            params += [q.text.lower()] * len(alts)
            conds.append("(" + (" OR ".join(alts) or "false") + ")")
        for name, text in q.contains.items():
            column = self._plain(q, stored, name, "search")
            conds.append(f"contains(lower(CAST(__ds_t.{column} AS VARCHAR)), ?)")
            params.append(text.lower())
        return conds, params

    def _order(self, q: TableQuery, stored: _Stored) -> list[tuple[str, bool]]:
        keys = []
        for name, desc in q.order_by:
            if name == ROW_ID:
                keys.append(("__ds_t.file_row_number", desc))
            else:
                keys.append((f"__ds_t.{self._plain(q, stored, name, 'sort')}", desc))
        if keys == [("__ds_t.file_row_number", False)]:
            return []  # file order
        return keys


_ZH = {"filter": "筛选", "search": "搜索", "sort": "排序"}


def _param(value: Any) -> Any:
    """A filter value as a bound parameter: numbers and booleans as they are, the rest as text."""
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)

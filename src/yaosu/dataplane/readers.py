"""Open any supported input as a `Source`: files by format, SQL queries, HTTP downloads.

Formats: CSV and TSV (``.csv``, ``.tsv``, ``.txt`` with a sniffed delimiter), Excel ``.xlsx``,
JSON (an array of objects), NDJSON (``.ndjson``/``.jsonl``) and Parquet. The format comes from
``format=``, else the file extension, else the leading bytes: ``PK`` (zip) is xlsx, ``PAR1`` is
Parquet, ``[`` is a JSON array, ``{`` NDJSON, and other text is treated as CSV.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import urllib.parse
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pyarrow as pa

from yaosu.kit import netguard
from yaosu.kit.errors import YaosuError

from .csvsource import CsvSource
from .encoding import UTF8_BOM, transcode_to_utf8, wide_encoding
from .errors import DataplaneError, fmt_int
from .excel import ExcelSource
from .jsonsource import JsonSource
from .parquetsource import ParquetSource
from .source import Limits, Source, check_columns, string_batch, to_text

__all__ = [
    "FORMATS",
    "Limits",
    "Source",
    "detect_format",
    "http_source",
    "open_source",
    "sql_source",
]

FORMATS = ("csv", "tsv", "xlsx", "json", "ndjson", "parquet")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_ALIASES = {"txt": "csv", "jsonl": "ndjson", "xlsm": "xlsx", "pq": "parquet"}
_CONTENT_TYPES = {
    "text/csv": ".csv",
    "text/tab-separated-values": ".tsv",
    "application/json": ".json",
    "application/x-ndjson": ".ndjson",
    "application/jsonl": ".ndjson",
    "application/vnd.apache.parquet": ".parquet",
    "application/x-parquet": ".parquet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}


def _unknown(name: str, detail: str) -> DataplaneError:
    return DataplaneError(
        "unknown_format",
        f"The format of {name} is not supported ({detail}); use CSV, TSV, XLSX, JSON, NDJSON "
        "or Parquet.",
        f"不支持 {name} 的格式（{detail}）；请使用 CSV、TSV、XLSX、JSON、NDJSON 或 Parquet。",
        file=name,
    )


def _empty(name: str) -> DataplaneError:
    return DataplaneError(
        "empty_file",
        f"The file {name} is empty.",
        f"文件 {name} 为空。",
        file=name,
    )


def detect_format(path: str, format: str | None = None) -> str:
    """Decide the format of a file: the given one, its extension, or its leading bytes."""
    name = os.path.basename(path)
    if format is not None:
        fmt = _ALIASES.get(format.lower(), format.lower())
        if fmt not in FORMATS:
            raise _unknown(name, f"format {format!r}")
        if fmt == "json":
            return _json_flavour(path)
        return fmt
    ext = os.path.splitext(path)[1].lower()
    by_extension = _EXTENSIONS.get(ext)
    if by_extension == "json":
        return _json_flavour(path)
    if by_extension is not None:
        return by_extension
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.removeprefix(UTF8_BOM).lstrip()
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        return "ndjson"
    if head and b"\x00" not in head:
        return "csv"
    raise _unknown(name, f"extension {ext!r}" if ext else "no extension, unrecognised content")


def _json_flavour(path: str) -> str:
    # A .json file holding objects one after another (not in an array) is read as NDJSON.
    with open(path, "rb") as f:
        head = f.read(4096).removeprefix(UTF8_BOM).lstrip()
    return "ndjson" if head.startswith(b"{") else "json"


def open_source(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    delimiter: str | None = None,
    limits: Limits | None = None,
) -> Source:
    """Open a file as a `Source` of string batches.

    ``format`` overrides detection; ``encoding`` overrides detection for text formats;
    ``sheet`` picks an Excel sheet by name or 0-based index (default: the first);
    ``delimiter`` overrides CSV sniffing. Raises `DataplaneError` for unreadable input.
    """
    path = os.fspath(path)
    name = os.path.basename(path)
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        raise DataplaneError(
            "file_not_found", f"{path} does not exist.", f"{path} 不存在。", file=path
        ) from None
    if size == 0:
        raise _empty(name)
    fmt = detect_format(path, format)
    limits = limits or Limits()
    wide = wide_encoding(encoding) if fmt in ("csv", "tsv", "json", "ndjson") else None
    if wide is not None:
        return _open_wide(path, fmt, wide, delimiter, limits)
    if fmt in ("csv", "tsv"):
        return CsvSource(path, format=fmt, encoding=encoding, delimiter=delimiter, limits=limits)
    if fmt == "xlsx":
        return ExcelSource(path, sheet=sheet, limits=limits)
    if fmt in ("json", "ndjson"):
        source = JsonSource(path, format=fmt, encoding=encoding, limits=limits)
        if not source.columns:
            raise _empty(name)
        return source
    return ParquetSource(path, limits=limits)


def _open_wide(path: str, fmt: str, codec: str, delimiter: str | None, limits: Limits) -> Source:
    """A UTF-16/UTF-32 text file, given as such: read through a UTF-8 copy (deleted on
    close); the version records the encoding given."""
    folder = tempfile.mkdtemp(prefix="yaosu-wide-")
    try:
        copy = os.path.join(folder, os.path.basename(path))
        transcode_to_utf8(path, codec, copy)
        source = open_source(copy, format=fmt, encoding="utf-8", delimiter=delimiter, limits=limits)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    source.encoding = codec
    source._on_close.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    return source


# -- pulls -------------------------------------------------------------------------------------


def _pull_failed(what: str, reason: str, **details: Any) -> DataplaneError:
    return DataplaneError(
        "pull_failed",
        f"Pulling {what} failed: {reason}",
        f"拉取 {what} 失败：{reason}",
        reason=reason,
        **details,
    )


class SqlSource(Source):
    """The result of one SQL query over a DB-API connection, fetched in batches."""

    format = "sql"
    encoding = None

    def __init__(self, connect: Callable[[], Any], query: str, *, batch_rows: int) -> None:
        super().__init__()
        self.name = "query"
        self._batch_rows = batch_rows
        self._consumed = False
        try:
            self._connection = connect()
        except YaosuError:  # a refusal (own database, address policy) keeps its own code
            raise
        except Exception as exc:
            raise _pull_failed("the query", f"cannot connect: {exc}") from None
        self._on_close.append(self._connection.close)
        try:
            self._cursor = self._connection.cursor()
            self._cursor.execute(query)
            description = self._cursor.description
        except Exception as exc:
            self.close()
            raise _pull_failed("the query", str(exc) or type(exc).__name__) from None
        if description is None:
            self.close()
            raise _pull_failed("the query", "the statement returned no result set")
        self.columns = check_columns(
            [d[0] for d in description], where_en="Query result", where_zh="查询结果"
        )

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Fetch the rows with ``cursor.fetchmany``; a query result can be read once."""
        if self._consumed:
            raise DataplaneError(
                "source_consumed",
                "This query result was already read; run the query again.",
                "该查询结果已被读取，请重新执行查询。",
            )
        self._consumed = True
        schema = self.schema
        width = len(self.columns)
        try:
            while True:
                try:
                    rows = self._cursor.fetchmany(self._batch_rows)
                except Exception as exc:
                    raise _pull_failed("the query", str(exc) or type(exc).__name__) from None
                if not rows:
                    break
                columns: list[list[str | None]] = [[] for _ in range(width)]
                for row in rows:
                    for target, value in zip(columns, row, strict=True):
                        target.append(to_text(value))
                yield string_batch(schema, columns)
        finally:
            self.close()


def sql_source(connect: Callable[[], Any], query: str, *, batch_rows: int = 50_000) -> Source:
    """Run ``query`` on a connection from ``connect`` (any DB-API 2.0 driver) and return its
    result as a `Source`, streamed with ``fetchmany(batch_rows)``. The connection is closed
    when the rows are read or the source is closed. Failures raise ``pull_failed`` with the
    driver's message."""
    return SqlSource(connect, query, batch_rows=batch_rows)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def http_source(
    url: str,
    *,
    format: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    timeout: float = 30,
    limits: Limits | None = None,
    policy: netguard.NetPolicy | None = None,
) -> Source:
    """Download ``url`` (streamed to a temporary file, at most ``Limits.max_download_bytes``)
    and open it like a local file. The file is deleted when the source is closed. HTTP and
    network failures raise ``pull_failed`` with the status or reason. Only addresses that
    ``policy`` allows are reached (default: public addresses only; the node passes its
    ``YAOSU_PULL_ALLOW`` policy), every redirect hop included; others raise ``pull_forbidden``."""
    limits = limits or Limits()
    policy = policy if policy is not None else netguard.NetPolicy()
    folder = tempfile.mkdtemp(prefix="yaosu-pull-")
    try:
        path = _download(url, folder, timeout, limits.max_download_bytes, policy)
        source = open_source(path, format=format, encoding=encoding, sheet=sheet, limits=limits)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    source.name = url
    # Removed on close(), and at the latest when the source is garbage-collected.
    cleanup = weakref.finalize(source, shutil.rmtree, folder, True)
    source._on_close.append(cleanup)
    return source


def _download(url: str, folder: str, timeout: float, cap: int, policy: netguard.NetPolicy) -> str:
    basename = os.path.basename(urllib.parse.urlsplit(url).path)
    basename = _SAFE_NAME.sub("_", basename).strip("._") or "download"
    try:
        with netguard.open_http(
            "GET", url, policy, code="pull_forbidden", timeout=timeout
        ) as response:
            if response.status_code >= 400:
                raise _pull_failed(
                    url,
                    f"HTTP {response.status_code} {response.reason_phrase}",
                    status=response.status_code,
                )
            if not os.path.splitext(basename)[1]:
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                basename += _CONTENT_TYPES.get(kind, "")
            path = os.path.join(folder, basename)
            received = 0
            with open(path, "wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    received += len(chunk)
                    if received > cap:
                        raise _pull_failed(
                            url,
                            f"the body is larger than the limit of {fmt_int(cap)} bytes",
                            limit=cap,
                        )
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise _pull_failed(url, str(exc) or type(exc).__name__) from None
    except netguard.HostUnresolved as exc:
        raise _pull_failed(url, str(exc)) from None
    return path

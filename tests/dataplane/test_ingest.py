"""Ingest end to end: types, profile, content addressing, atomicity on errors and cancels,
reading versions back, and pulls over SQL and HTTP."""

from __future__ import annotations

import csv
import datetime as dt
import http.server
import importlib
import io
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.dataplane.support import (
    assert_nothing_stored,
    people,
    stored_files,
    write_csv,
    write_json,
)
from yaosu.dataplane import (
    Cancelled,
    ColumnType,
    DataplaneError,
    Limits,
    Storage,
    export,
    http_source,
    ingest,
    open_source,
    preview,
    schema,
    sql_source,
)
from yaosu.dataplane.profile import profile_parquet, sample_indices
from yaosu.kit.netguard import AddressRefused, NetPolicy

ingest_module = importlib.import_module(
    "yaosu.dataplane.ingest"
)  # the package's `ingest` is the function

T = ColumnType
SMALL_BLOCKS = Limits(max_line_bytes=64 << 10, block_bytes=64 << 10)  # many small batches


def ingest_file(path: Path, storage: Storage, **kwargs: Any) -> Any:
    limits = kwargs.pop("limits", None)
    with open_source(path, limits=limits) as source:
        return ingest(source, storage, **kwargs)


def test_ingest_gb18030_csv(tmp_path: Path, storage: Storage) -> None:
    path = write_csv(tmp_path / "people.csv", people(3000), encoding="gb18030")
    result = ingest_file(path, storage)
    types = {c.name: c.type for c in result.columns}
    assert types == {
        "编号": T.INTEGER,
        "姓名": T.TEXT,
        "身份证号": T.TEXT,
        "邮编": T.TEXT,
        "年龄": T.INTEGER,
        "收入": T.FLOAT,
        "出生日期": T.DATE,
        "登记时间": T.DATETIME,
        "有效": T.BOOLEAN,
        "地址": T.TEXT,
    }
    reasons = {c.name: c.reason for c in result.columns}
    assert reasons["身份证号"] is not None and "more than 15 digits" in reasons["身份证号"]
    assert reasons["邮编"] == "row 1: '000000' has a leading zero (kept as text to preserve it)"
    assert (result.rows, result.source_format, result.encoding) == (3000, "csv", "gb18030")
    assert result.key == f"versions/{result.sha256[:2]}/{result.sha256}.parquet"
    assert storage.size(result.key) == result.size_bytes
    assert stored_files(storage)["staging"] == []

    table = pq.read_table(storage.path(result.key))
    assert table.schema.field("出生日期").type == pa.date32()
    assert table.schema.field("登记时间").type == pa.timestamp("us")
    assert table.column("姓名")[5].as_py() == "𠀀明"
    assert table.column("邮编")[1].as_py() == "000001"

    profile = result.profile
    assert profile.rows == 3000 and len(profile.sample) == 20
    assert [r["编号"] - 1 for r in profile.sample] == sample_indices(3000)
    assert profile_parquet(storage.path(result.key)) == profile  # the same, from the file alone
    by_name = {c.name: c for c in profile.columns}
    assert by_name["编号"].min == "1" and by_name["编号"].max == "3000"
    assert by_name["出生日期"].min == "1910-01-01"
    assert by_name["有效"].distinct_approx == 2 and by_name["有效"].null_count == 0
    assert 2700 <= by_name["编号"].distinct_approx <= 3000


def test_same_content_same_key(tmp_path: Path, storage: Storage) -> None:
    rows = people(500)
    utf8 = write_csv(tmp_path / "a.csv", rows)
    again = ingest_file(utf8, storage)
    first = ingest_file(utf8, storage)
    assert first.key == again.key and first.sha256 == again.sha256
    # The same table in other encodings and formats is the same version.
    variants = [
        write_csv(tmp_path / "b.csv", rows, encoding="gb18030"),
        write_csv(tmp_path / "c.csv", rows, bom=True),
        write_csv(tmp_path / "d.tsv", rows, delimiter="\t"),
        write_json(
            tmp_path / "e.ndjson",
            [dict(zip(rows[0], map(str, r), strict=True)) for r in rows[1:]],
            ndjson=True,
        ),
    ]
    for path in variants:
        assert ingest_file(path, storage).key == first.key, path.name
    assert len(stored_files(storage)["versions"]) == 1


def test_late_odd_value_keeps_text_and_names_the_row(tmp_path: Path, storage: Storage) -> None:
    rows: list[list[Any]] = [["id", "amount"]] + [[i, i * 3] for i in range(1, 60_001)]
    rows[50_000][1] = "N/A"  # data row 50,000
    result = ingest_file(write_csv(tmp_path / "late.csv", rows), storage)
    amount = result.columns[1]
    assert amount.type is T.TEXT
    assert amount.reason == "row 50,000: 'N/A' is not an integer"
    assert result.columns[0].type is T.INTEGER


def test_header_only_file_is_an_empty_version(tmp_path: Path, storage: Storage) -> None:
    path = tmp_path / "h.csv"
    path.write_text("a,b\n")
    result = ingest_file(path, storage)
    assert result.rows == 0 and [c.type for c in result.columns] == [T.TEXT, T.TEXT]
    assert preview(storage, result.key) == []
    assert b"".join(export(storage, result.key, "csv")) == b'"a","b"\n'


def test_error_from_progress_callback_leaves_nothing(tmp_path: Path, storage: Storage) -> None:
    path = write_csv(tmp_path / "p.csv", people(6000))
    calls: list[tuple[int, int]] = []

    def progress(rows: int, nbytes: int) -> None:
        calls.append((rows, nbytes))
        if len(calls) == 3:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        ingest_file(path, storage, progress=progress, limits=SMALL_BLOCKS)
    assert len(calls) == 3 and calls[0][0] < calls[1][0] < calls[2][0]
    assert 0 < calls[0][1] <= calls[2][1] <= path.stat().st_size
    assert_nothing_stored(storage)


def test_cancel_leaves_nothing(tmp_path: Path, storage: Storage) -> None:
    path = write_csv(tmp_path / "p.csv", people(6000))
    polls = iter(range(1000))
    with pytest.raises(Cancelled) as err:
        ingest_file(path, storage, cancel=lambda: next(polls) >= 4, limits=SMALL_BLOCKS)
    assert err.value.code == "cancelled"
    assert_nothing_stored(storage)


def late_change(n: int) -> list[list[Any]]:
    """People rows whose age column turns to text on the last row: speculation fails."""
    rows = people(n)
    rows[-1][4] = "unknown"
    return rows


def test_late_type_change_rewrites_the_version_identically(
    tmp_path: Path, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "_GROUP_ROWS", 1000)  # several row groups
    rows = late_change(6000)
    calls: list[int] = []
    original = ingest_module._pass_two

    def spy(*args: Any) -> Any:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(ingest_module, "_pass_two", spy)
    small = ingest_file(write_csv(tmp_path / "a.csv", rows), storage, limits=SMALL_BLOCKS)
    assert calls == [1]  # the speculative file was dropped and written again
    assert small.columns[4].type is T.TEXT
    assert small.columns[4].reason == "row 6,000: 'unknown' is not an integer"
    # Another batching of the same content (one batch, speculation never wrong) agrees.
    whole = ingest_file(write_csv(tmp_path / "b.tsv", rows, delimiter="\t"), storage)
    assert whole.key == small.key
    assert pq.ParquetFile(storage.path(small.key)).metadata.num_row_groups == 6
    assert stored_files(storage)["staging"] == []


def test_row_groups_do_not_depend_on_batch_sizes(
    tmp_path: Path, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "_GROUP_BYTES", 100_000)  # cut by size, mid-batch
    path = write_csv(tmp_path / "a.csv", people(4000))
    small = ingest_file(path, storage, limits=SMALL_BLOCKS)
    large = ingest_file(path, storage)
    assert small.key == large.key
    groups = pq.ParquetFile(storage.path(small.key)).metadata.num_row_groups
    assert groups > 3


def test_cancel_during_the_second_pass_leaves_nothing(
    tmp_path: Path, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "p.csv", late_change(6000))
    original = ingest_module._pass_two
    second_pass = threading.Event()

    def spy(*args: Any) -> Any:
        second_pass.set()
        return original(*args)

    monkeypatch.setattr(ingest_module, "_pass_two", spy)
    with pytest.raises(Cancelled):
        ingest_file(path, storage, cancel=second_pass.is_set, limits=SMALL_BLOCKS)
    assert second_pass.is_set()
    assert_nothing_stored(storage)


def test_bad_row_late_in_the_file_leaves_nothing(tmp_path: Path, storage: Storage) -> None:
    text = "a,b\n" + "1,2\n" * 40_000 + "1,2,3\n"
    path = tmp_path / "late-ragged.csv"
    path.write_text(text)
    with pytest.raises(DataplaneError) as err:
        ingest_file(path, storage, limits=SMALL_BLOCKS)
    assert err.value.code == "ragged_row" and err.value.details["line"] == 40_002
    assert_nothing_stored(storage)


def test_failure_while_writing_the_version_leaves_nothing(
    tmp_path: Path, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(ingest_module, "_sha256", broken)
    with pytest.raises(OSError, match="disk full"):
        ingest_file(write_csv(tmp_path / "a.csv", people(10)), storage)
    assert_nothing_stored(storage)


def test_read_back_preview_schema_export(
    tmp_path: Path, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "_GROUP_ROWS", 1024)
    rows = people(2500)
    result = ingest_file(write_csv(tmp_path / "a.csv", rows), storage)
    assert pq.ParquetFile(storage.path(result.key)).num_row_groups == 3

    page = preview(storage, result.key, limit=5, offset=1022)
    assert [r["编号"] for r in page] == [1023, 1024, 1025, 1026, 1027]
    assert page[0]["出生日期"] == rows[1023][6] and page[0]["有效"] is True
    assert preview(storage, result.key, limit=10, offset=2498)[-1]["编号"] == 2500

    columns = schema(storage, result.key)
    assert columns == result.columns

    exported = b"".join(export(storage, result.key, "csv")).decode()
    back = list(csv.reader(io.StringIO(exported)))
    assert back[0] == rows[0] and len(back) == 2501
    assert back[2][1:4] == [str(v) for v in rows[2][1:4]]

    items = json.loads(b"".join(export(storage, result.key, "json")))
    assert len(items) == 2500 and items[0]["登记时间"] == "2024-01-01 00:00:00"
    assert (
        b"".join(export(storage, result.key, "parquet"))
        == Path(storage.path(result.key)).read_bytes()
    )
    with pytest.raises(DataplaneError):
        export(storage, result.key, "xml")  # type: ignore[arg-type]


def test_exports_ingest_back_to_the_same_version(tmp_path: Path, storage: Storage) -> None:
    rows = people(300)
    for row in rows[1:]:
        row[5] = f"{float(row[5]):.1f}"  # whole floats such as 2.0 must stay floats
    result = ingest_file(write_csv(tmp_path / "a.csv", rows), storage)
    assert result.columns[5].type is T.FLOAT
    for fmt in ("csv", "json"):
        path = tmp_path / f"export.{fmt}"
        path.write_bytes(b"".join(export(storage, result.key, fmt)))
        assert ingest_file(path, storage).key == result.key, fmt


def test_ingest_xlsx_json_and_parquet(tmp_path: Path, storage: Storage) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["日期", "金额", "代码"])
    for i in range(30):
        ws.append([dt.date(2024, 1, i % 28 + 1), i * 1.5, f"{i:04d}"])
    wb.save(tmp_path / "a.xlsx")
    result = ingest_file(tmp_path / "a.xlsx", storage)
    assert [c.type for c in result.columns] == [T.DATE, T.FLOAT, T.TEXT]
    assert result.source_format == "xlsx" and result.encoding is None

    result = ingest_file(
        write_json(tmp_path / "a.json", [{"n": i, "ok": i % 2 == 0} for i in range(10)]), storage
    )
    assert [c.type for c in result.columns] == [T.INTEGER, T.BOOLEAN]

    pq.write_table(pa.table({"x": [1, 2, None], "t": ["a", None, "c"]}), tmp_path / "a.parquet")
    result = ingest_file(tmp_path / "a.parquet", storage)
    assert [(c.type, c.nullable) for c in result.columns] == [(T.INTEGER, True), (T.TEXT, True)]


def test_ingest_from_sql(tmp_path: Path, storage: Storage) -> None:
    db = tmp_path / "src.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (id INTEGER, day TEXT, v REAL)")
        con.executemany(
            "INSERT INTO t VALUES (?, ?, ?)",
            [(i, f"2024-02-{i % 29 + 1:02d}", i / 8) for i in range(100)],
        )
    source = sql_source(lambda: sqlite3.connect(db), "SELECT * FROM t", batch_rows=30)
    result = ingest(source, storage)
    assert result.rows == 100 and result.source_format == "sql"
    assert [c.type for c in result.columns] == [T.INTEGER, T.DATE, T.FLOAT]


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, tuple[str, bytes]] = {}

    def do_GET(self) -> None:
        found = self.files.get(self.path)
        if found is None:
            self.send_error(404, "Not Found")
            return
        kind, body = found
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# The test server listens on loopback, which a pull reaches only when a CIDR inside loopback is
# listed explicitly (see yaosu.kit.netguard); by default it is refused.
LOCAL = NetPolicy.parse("127.0.0.1/32")


def test_ingest_from_http(tmp_path: Path, storage: Storage, http_server: str) -> None:
    body = write_csv(tmp_path / "x.csv", people(100), encoding="gb18030").read_bytes()
    _Handler.files = {"/export": ("text/csv; charset=gbk", body), "/data.csv": ("text/plain", body)}
    with pytest.raises(AddressRefused) as refused:
        http_source(f"{http_server}/export")
    assert refused.value.code == "pull_forbidden" and refused.value.details["reason"] == "loopback"
    with http_source(f"{http_server}/export", policy=LOCAL) as source:
        assert (source.format, source.encoding, source.name) == (
            "csv",
            "gb18030",
            f"{http_server}/export",
        )
        downloaded = Path(source.path)  # type: ignore[attr-defined]
        result = ingest(source, storage)
    assert not downloaded.exists()  # closed: the temporary download is gone
    with http_source(f"{http_server}/data.csv", policy=LOCAL) as source:
        assert ingest(source, storage).key == result.key

    with pytest.raises(DataplaneError) as err:
        http_source(f"{http_server}/missing.csv", policy=LOCAL)
    assert err.value.code == "pull_failed" and err.value.details["status"] == 404
    assert "HTTP 404" in err.value.message

    with pytest.raises(DataplaneError) as err:
        http_source(f"{http_server}/data.csv", limits=Limits(max_download_bytes=1000), policy=LOCAL)
    assert err.value.code == "pull_failed" and "1,000 bytes" in err.value.message

"""Readers: every format as string batches, format detection, and every kind of bad input
with its error code and location."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pytest

from tests.dataplane.support import write_csv, write_json, write_parquet
from yaosu.dataplane import Limits, open_source, sql_source
from yaosu.dataplane.errors import DataplaneError
from yaosu.dataplane.readers import detect_format


def rows_of(path: Path, **kwargs: Any) -> list[dict[str, Any]]:
    with open_source(path, **kwargs) as source:
        out: list[dict[str, Any]] = []
        for batch in source.batches():
            assert all(t == pa.string() for t in batch.schema.types)
            out += batch.to_pylist()
        return out


def error_of(path: Path, **kwargs: Any) -> DataplaneError:
    with pytest.raises(DataplaneError) as err:
        rows_of(path, **kwargs)
    return err.value


def write_xlsx(path: Path, rows: list[list[Any]], *, title: str = "数据") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


# -- formats -----------------------------------------------------------------------------------


def test_csv_all_strings_and_empty_cells_are_null(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('id,name,note\n1,张三,\n2,"李,四","多行\n备注"\n', encoding="utf-8")
    with open_source(path) as source:
        assert (source.format, source.encoding, source.columns) == (
            "csv",
            "utf-8",
            ["id", "name", "note"],
        )
    assert rows_of(path) == [
        {"id": "1", "name": "张三", "note": None},
        {"id": "2", "name": "李,四", "note": "多行\n备注"},
    ]


def test_tsv_by_extension_and_txt_by_sniffing(tmp_path: Path) -> None:
    rows = [["a", "b"], ["1", "x,y"]]
    tsv = write_csv(tmp_path / "a.tsv", rows, delimiter="\t")
    txt = write_csv(tmp_path / "a.txt", rows, delimiter="\t")
    semi = write_csv(tmp_path / "semi.csv", rows, delimiter=";")
    for path in (tsv, txt):
        with open_source(path) as source:
            assert source.format == "tsv"
        assert rows_of(path) == [{"a": "1", "b": "x,y"}]
    assert rows_of(semi) == [{"a": "1", "b": "x,y"}]


def test_header_only_is_a_valid_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("a,b\n")
    with open_source(path) as source:
        assert source.columns == ["a", "b"]
    assert rows_of(path) == []


def test_xlsx_first_sheet_and_named_sheet(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "人员"
    ws.append(["编号", "姓名", "生日", "金额", "有效"])
    ws.append([1, "张三", dt.date(1990, 5, 1), 12.5, True])
    ws.append(["0001", None, dt.datetime(2024, 1, 2, 3, 4, 5), 3.0, False])
    other = wb.create_sheet("第二页")
    other.append(["x"])
    other.append([42])
    wb.save(path)
    with open_source(path) as source:
        assert (source.format, source.encoding) == ("xlsx", None)
    assert rows_of(path) == [
        {"编号": "1", "姓名": "张三", "生日": "1990-05-01", "金额": "12.5", "有效": "true"},
        {
            "编号": "0001",
            "姓名": None,
            "生日": "2024-01-02 03:04:05",
            "金额": "3",
            "有效": "false",
        },
    ]
    assert rows_of(path, sheet="第二页") == [{"x": "42"}]
    assert rows_of(path, sheet=1) == [{"x": "42"}]


def test_json_array_and_ndjson_union_keys_in_first_seen_order(tmp_path: Path) -> None:
    items = [
        {"b": 1, "a": "x"},
        {"a": 1.50, "c": {"n": [1, 2.0]}, "d": True},
        {"b": None, "e": ""},
    ]
    expected = [
        {"b": "1", "a": "x", "c": None, "d": None, "e": None},
        {"b": None, "a": "1.5", "c": '{"n":[1,2.0]}', "d": "true", "e": None},
        {"b": None, "a": None, "c": None, "d": None, "e": None},
    ]
    array = write_json(tmp_path / "a.json", items)
    lines = write_json(tmp_path / "a.ndjson", items, ndjson=True)
    for path, fmt in ((array, "json"), (lines, "ndjson")):
        with open_source(path) as source:
            assert source.format == fmt
            assert source.columns == ["b", "a", "c", "d", "e"]
        assert rows_of(path) == expected


def test_json_numbers_keep_their_text(tmp_path: Path) -> None:
    path = tmp_path / "n.json"
    path.write_text('[{"v": 1.50}, {"v": 1e3}, {"v": 12345678901234567890}]')
    assert [r["v"] for r in rows_of(path)] == ["1.50", "1e3", "12345678901234567890"]


def test_json_items_spanning_many_read_windows(tmp_path: Path) -> None:
    items = [{"id": i, "text": "长文本" * 50} for i in range(6000)]  # ~2.7 MB: several windows
    path = write_json(tmp_path / "big.json", items)
    got = rows_of(path)
    assert len(got) == 6000 and got[-1]["id"] == "5999"


def test_gb18030_ndjson(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "g.jsonl", [{"名": "𠀀"}, {"名": "张三"}], ndjson=True, encoding="gb18030"
    )
    with open_source(path) as source:
        assert source.encoding == "gb18030"
    assert rows_of(path) == [{"名": "𠀀"}, {"名": "张三"}]


def test_parquet_is_cast_to_strings(tmp_path: Path) -> None:
    table = pa.table(
        {
            "i": pa.array([1, None], pa.int64()),
            "f": [1.5, 2.25],
            "b": [True, False],
            "d": pa.array([dt.date(2024, 1, 5), None], pa.date32()),
            "t": pa.array([dt.datetime(2024, 1, 5, 10, 30), None], pa.timestamp("us", "UTC")),
            "s": ["x", ""],
            "l": pa.array([[1, 2], None], pa.list_(pa.int64())),
            "c": pa.array(["a", "b"]).dictionary_encode(),
        }
    )
    path = write_parquet(tmp_path / "t.parquet", table)
    assert rows_of(path) == [
        {
            "i": "1",
            "f": "1.5",
            "b": "true",
            "d": "2024-01-05",
            "t": "2024-01-05 10:30:00.000000",
            "s": "x",
            "l": "[1, 2]",
            "c": "a",
        },
        {
            "i": None,
            "f": "2.25",
            "b": "false",
            "d": None,
            "t": None,
            "s": None,
            "l": None,
            "c": "b",
        },
    ]


def test_format_detection_by_magic_bytes(tmp_path: Path) -> None:
    xlsx = write_xlsx(tmp_path / "x.xlsx", [["a"], [1]])
    parquet = write_parquet(tmp_path / "p.parquet", pa.table({"a": [1]}))
    for src, expected in ((xlsx, "xlsx"), (parquet, "parquet")):
        blind = tmp_path / f"blind-{expected}"
        blind.write_bytes(src.read_bytes())
        assert detect_format(str(blind)) == expected
    for text, expected in (('[{"a": 1}]', "json"), ('{"a": 1}\n', "ndjson"), ("a,b\n1,2\n", "csv")):
        blind = tmp_path / f"blind-{expected}"
        blind.write_text(text)
        assert detect_format(str(blind)) == expected
    ndjson_named_json = tmp_path / "lines.json"
    ndjson_named_json.write_text('{"a": 1}\n{"a": 2}\n')
    assert rows_of(ndjson_named_json) == [{"a": "1"}, {"a": "2"}]


def test_sql_source_streams_a_query(tmp_path: Path) -> None:
    db = tmp_path / "src.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (id INTEGER, name TEXT, score REAL)")
        con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, f"名{i}", i / 4) for i in range(7)])
    source = sql_source(lambda: sqlite3.connect(db), "SELECT * FROM t ORDER BY id", batch_rows=3)
    assert (source.format, source.columns) == ("sql", ["id", "name", "score"])
    batches = list(source.batches())
    assert [b.num_rows for b in batches] == [3, 3, 1]
    assert batches[0].to_pylist()[1] == {"id": "1", "name": "名1", "score": "0.25"}
    with pytest.raises(DataplaneError) as err:
        list(source.batches())
    assert err.value.code == "source_consumed"


def test_sql_source_failing_query_is_pull_failed(tmp_path: Path) -> None:
    db = tmp_path / "src.db"
    sqlite3.connect(db).close()
    with pytest.raises(DataplaneError) as err:
        sql_source(lambda: sqlite3.connect(db), "SELECT * FROM missing")
    assert err.value.code == "pull_failed"
    assert "no such table: missing" in err.value.message


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.csv", b""),
        ("blank.csv", b"\n\n  \n"),
        ("bom.csv", b"\xef\xbb\xbf"),
        ("empty.json", b"[]"),
        ("empty.xlsx", b""),
    ],
)
def test_empty_file(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert error_of(path).code == "empty_file"


def test_ragged_row_names_the_line(tmp_path: Path) -> None:
    lines = ["a,b,c,d,e,f"] + ["1,2,3,4,5,6"] * 1232 + ["1,2,3,4,5,6,7"] + ["1,2,3,4,5,6"] * 5
    path = tmp_path / "r.csv"
    path.write_text("\n".join(lines) + "\n")
    err = error_of(path)
    assert err.code == "ragged_row"
    assert err.message == "Line 1,234 has 7 fields, the header has 6."
    assert err.message_zh == "第 1,234 行有 7 个字段，表头有 6 个。"
    assert err.details == {"line": 1234, "fields": 7, "expected": 6}


def test_ragged_row_counts_physical_lines_of_multiline_fields(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text('a,b\n1,"x\ny"\n2\n')
    err = error_of(path)
    assert (err.code, err.details["line"], err.details["fields"]) == ("ragged_row", 4, 1)


def test_blank_column_names_its_position(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("a, ,c\n1,2,3\n")
    err = error_of(path)
    assert err.code == "blank_column"
    assert err.details["column_position"] == 2
    assert "column 2" in err.message and "第 2 列" in err.message_zh


def test_duplicate_column_names_both_positions(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,姓名,Id\n1,2,3\n")
    err = error_of(path)
    assert err.code == "duplicate_column"
    assert err.details["column_positions"] == [1, 3]
    assert "columns 1 and 3" in err.message


def test_duplicate_column_in_xlsx_uses_letters(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "d.xlsx", [["a", "b", "a"], [1, 2, 3]])
    err = error_of(path)
    assert err.code == "duplicate_column"
    assert "columns A and C" in err.message and "'数据'" in err.message


def test_single_enormous_line_is_rejected_early(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    with path.open("wb") as f:
        f.write(b"a,b\n1,2\n3,")
        chunk = b"x" * (1 << 20)
        for _ in range(50):  # one 50 MB line
            f.write(chunk)
        f.write(b"\n4,5\n")
    err = error_of(path)
    assert err.code == "line_too_long"
    assert err.details["line"] == 3 and err.details["byte_offset"] == 8
    assert "Line 3 (byte offset 8)" in err.message


def test_enormous_quoted_multiline_record_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(b'a,b\n1,2\n3,"' + b"line\n" * 400_000 + b'"\n')
    err = error_of(path, limits=Limits(max_line_bytes=1 << 20))
    assert err.code == "line_too_long"
    assert err.details["line"] == 3
    assert "record starting on line 3" in err.message


def test_limit_is_configurable_and_long_lines_within_it_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_bytes(b"a,b\n1," + b"y" * 300_000 + b"\n")
    assert len(rows_of(path)[0]["b"]) == 300_000
    assert error_of(path, limits=Limits(max_line_bytes=100_000)).code == "line_too_long"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('a,b\n1,2\n3,"cut off here', 3),
        ('a,b\n1,2\n3,"cut off\nacross lines\n', 3),
    ],
)
def test_truncated_quoted_field_at_end_of_file(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    err = error_of(path)
    assert err.code == "truncated_file"
    assert err.details["line"] == line and f"line {line}" in err.message


def test_stray_quote_inside_a_field_is_not_truncation(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text('a,b\n1,5" screen\n2,ok\n')
    assert rows_of(path) == [{"a": "1", "b": '5" screen'}, {"a": "2", "b": "ok"}]


def test_truncated_json_array(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('[\n{"a": 1},\n{"a": "cut')
    err = error_of(path)
    assert err.code == "truncated_file" and err.details["line"] == 3


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00\x01\x02binary")
    err = error_of(path)
    assert err.code == "unknown_format" and "x.bin" in err.message
    assert error_of(tmp_path / "x.bin", format="docx").code == "unknown_format"


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 << 20))
    err = error_of(path)
    assert err.code == "zip_bomb"
    assert err.details["member"] == "xl/worksheets/sheet1.xml" and err.details["ratio"] > 200


def test_zip_bomb_by_total_size(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "big.xlsx", [["a"], *([[i] for i in range(2000)])])
    err = error_of(path, limits=Limits(max_xlsx_uncompressed=20_000))
    assert err.code == "zip_bomb" and "20,000" in err.message


@pytest.mark.parametrize("name", ["bad.xlsx", "bad.parquet"])
def test_corrupt_binary_files(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 not really a zip" if name.endswith("xlsx") else b"PAR1junk")
    err = error_of(path)
    assert err.code == "corrupt_file" and err.details["reason"]


def test_corrupt_xlsx_with_valid_zip(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    path.write_bytes(buffer.getvalue())
    assert error_of(path).code == "corrupt_file"


def test_corrupt_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('[\n{"a": 1},\n{"a": 2,, "b": 3}\n]')
    err = error_of(path)
    assert err.code == "corrupt_file"
    assert (err.details["line"], err.details["column"]) == (3, 9)
    assert "line 3, column 9" in err.message


def test_json_item_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "n.json"
    path.write_text('[{"a": 1},\n {"a": 2},\n 3]')
    err = error_of(path)
    assert err.code == "json_not_object"
    assert err.details == {"index": 2, "line": 3}
    assert "Item 2 (line 3) is a number" in err.message


def test_missing_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "s.xlsx", [["a"], [1]])
    err = error_of(path, sheet="nope")
    assert err.code == "sheet_not_found" and "'数据'" in err.message

"""Encoding detection, overrides, and exact locations of undecodable bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dataplane.support import people, write_csv
from yaosu.dataplane import open_source
from yaosu.dataplane.errors import DataplaneError

ROWS = [["名称", "说明"], ["张三", "北京"], ["𠀀", "GB18030 独有字符"], ["李四", "上海"]]


def all_rows(path: Path, **kwargs: object) -> list[dict[str, str | None]]:
    with open_source(path, **kwargs) as source:  # type: ignore[arg-type]
        return [row for batch in source.batches() for row in batch.to_pylist()]


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [
        ("utf-8", False, "utf-8"),
        ("utf-8", True, "utf-8-sig"),
        ("gb18030", False, "gb18030"),
    ],
)
def test_detects_encoding(tmp_path: Path, encoding: str, bom: bool, expected: str) -> None:
    path = write_csv(tmp_path / "a.csv", ROWS, encoding=encoding, bom=bom)
    with open_source(path) as source:
        assert source.encoding == expected
        assert source.columns == ["名称", "说明"]
    assert all_rows(path)[1] == {"名称": "𠀀", "说明": "GB18030 独有字符"}


def test_gbk_file_is_read_as_gb18030(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", [r for r in ROWS if r[0] != "𠀀"], encoding="gbk")
    with open_source(path) as source:
        assert source.encoding == "gb18030"  # a superset of GBK: same characters
    assert all_rows(path)[0] == {"名称": "张三", "说明": "北京"}


def test_detects_gb18030_when_the_head_is_ascii(tmp_path: Path) -> None:
    # 2 MB of ASCII rows first, so only the samples from the middle and end show Chinese.
    rows = [["a", "b"]] + [[str(i), "x" * 20] for i in range(80_000)]
    rows += [[str(i), "中文地址"] for i in range(80_000)]
    path = write_csv(tmp_path / "late.csv", rows, encoding="gb18030")
    with open_source(path) as source:
        assert source.encoding == "gb18030"


def test_given_encoding_overrides_detection(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", ROWS, encoding="gb18030")
    with open_source(path, encoding="GB18030") as source:
        assert source.encoding == "gb18030"


def test_wrong_given_encoding_names_byte_offset_and_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["name", "note"], *ROWS[1:]], encoding="gb18030")
    with pytest.raises(DataplaneError) as err:
        all_rows(path, encoding="utf-8")
    assert err.value.code == "encoding_error"
    assert err.value.details["line"] == 2 and err.value.details["byte_offset"] == 10
    assert "Byte offset 10 (line 2)" in err.value.message
    assert "第 2 行" in err.value.message_zh


def test_bad_byte_deep_in_a_utf8_file_is_located(tmp_path: Path) -> None:
    body = "a,b\n" + "1,中文\n" * 300_000
    data = body.encode() + b"2,\xff\xfe\n"
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(DataplaneError) as err:
        all_rows(path)
    assert err.value.code == "encoding_error"
    assert err.value.details == {
        "byte_offset": len(body.encode()) + 2,
        "line": 300_002,
        "encoding": "utf-8",
    }
    assert "line 300,002" in err.value.message


def test_bad_byte_in_a_gb18030_file_is_located(tmp_path: Path) -> None:
    head = b"a,b\n" + "1,中文\n".encode("gb18030") * 200_000
    path = tmp_path / "bad.csv"
    path.write_bytes(head + b"2,\xff\n")
    with pytest.raises(DataplaneError) as err:
        all_rows(path)
    assert err.value.code == "encoding_error"
    assert err.value.details["byte_offset"] == len(head) + 2
    assert err.value.details["line"] == 200_002


def test_undetectable_encoding(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(b"a,b\n" + bytes(range(128, 256)) * 64)
    with pytest.raises(DataplaneError) as err:
        open_source(path)
    assert err.value.code in ("encoding_undetectable", "encoding_unsupported")


def test_utf16_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes("a,b\n1,2\n".encode("utf-16"))
    with pytest.raises(DataplaneError) as err:
        open_source(path)
    assert err.value.code == "encoding_unsupported"


def test_unknown_encoding_name(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", ROWS)
    with pytest.raises(DataplaneError) as err:
        open_source(path, encoding="no-such-codec")
    assert err.value.code == "unknown_encoding"


def test_people_fixture_round_trips_in_every_encoding(tmp_path: Path) -> None:
    rows = people(50)
    for encoding in ("utf-8", "gb18030"):
        path = write_csv(tmp_path / f"{encoding}.csv", rows, encoding=encoding)
        got = all_rows(path)
        assert [r["姓名"] for r in got] == [r[1] for r in rows[1:]]


@pytest.mark.parametrize("read_size", [1, 7, 4096, 1 << 20])
def test_the_stream_hands_back_exactly_the_text_whatever_the_read_size(
    tmp_path: Path, read_size: int
) -> None:
    from yaosu.dataplane.encoding import Utf8Stream

    text = "".join(f'{i},张三𠀀,"北京,""东城"""\n' for i in range(3000))
    path = tmp_path / "gb.csv"
    path.write_bytes(text.encode("gb18030"))
    stream = Utf8Stream(str(path), "gb18030", chunk_size=1000, quote=b'"')
    try:
        parts = []
        while chunk := stream.read(read_size):
            assert len(chunk) <= read_size
            parts.append(chunk)
    finally:
        stream.close()
    assert b"".join(parts) == text.encode("utf-8")
    assert stream.offset == path.stat().st_size and stream.quotes % 2 == 0
    assert stream.line_at(path.stat().st_size) == 3001  # the line after the last newline

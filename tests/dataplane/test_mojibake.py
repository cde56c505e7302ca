"""Mojibake is an error, not a version: Big5, Shift-JIS and UTF-16 files that would be read as
GB18030 (or UTF-8) are refused naming the encodings tried, headers with private-use or
replacement characters are refused, and an explicit encoding reads each file correctly."""

from __future__ import annotations

import codecs
import csv
import io
import json
from pathlib import Path

import pytest

from tests.fixtures.classification import people_rows
from yaosu.dataplane import open_source
from yaosu.dataplane.encoding import _cjk_counts
from yaosu.dataplane.errors import DataplaneError

# Chinese text that Big5 can encode (traditional forms), Japanese text for Shift-JIS.
ZH_ROWS = [["姓名", "住址", "單位"]] + [
    [f"陳大文{i}", f"臺北市中正區重慶南路{i}號", "資訊處"] for i in range(40)
]
JA_ROWS = [["名前", "住所", "会社"]] + [
    [f"山田太郎{i}", f"東京都千代田区丸の内{i}丁目", "株式会社テスト"] for i in range(40)
]
SIMPLE = [["姓名", "住址", "金额"]] + [
    [str(r["xm"]), str(r["zz"]), str(r["je"])] for r in people_rows(40)
]


def text_of(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def write(path: Path, rows: list[list[str]], encoding: str) -> Path:
    path.write_bytes(text_of(rows).encode(encoding))
    return path


def header(path: Path, **kw: object) -> list[str]:
    with open_source(path, **kw) as source:  # type: ignore[arg-type]
        return list(source.columns)


def refused(path: Path, **kw: object) -> DataplaneError:
    with pytest.raises(DataplaneError) as err:
        open_source(path, **kw)  # type: ignore[arg-type]
    return err.value


CASES = [
    ("big5", ZH_ROWS, "big5"),
    ("cp950", ZH_ROWS, "big5"),
    ("shift_jis", JA_ROWS, "shift_jis"),
    ("cp932", JA_ROWS, "shift_jis"),
    ("utf-16-le", SIMPLE, "utf-16-le"),
    ("utf-16-be", SIMPLE, "utf-16-be"),
    ("utf-16-le", ZH_ROWS, "utf-16-le"),
]


@pytest.mark.parametrize(("encoding", "rows", "candidate"), CASES)
def test_mojibake_is_refused_naming_the_encodings_tried(
    tmp_path: Path, encoding: str, rows: list[list[str]], candidate: str
) -> None:
    path = write(tmp_path / "data.csv", rows, encoding)
    err = refused(path)
    assert err.code == "encoding_mojibake"
    assert err.details["tried"] == ["utf-8", "gb18030"]
    assert candidate in err.details["candidates"]
    assert "utf-8, gb18030" in err.message and "utf-8、gb18030" in err.message_zh
    # The override reads it right.
    override = "big5" if encoding == "cp950" else "shift_jis" if encoding == "cp932" else encoding
    assert header(path, encoding=override) == rows[0]


def test_mojibake_deep_in_a_file_with_an_ascii_head(tmp_path: Path) -> None:
    """The head is ASCII; the Big5 text comes after the first megabyte (the side samples)."""
    path = tmp_path / "late.csv"
    ascii_rows = "".join(f"{i},row{i},x\n" for i in range(90_000))
    body = "".join(f"{i},陳大文,臺北市中正區重慶南路\n" for i in range(20_000))
    path.write_bytes(("a,b,c\n" + ascii_rows + body).encode("big5"))
    assert path.stat().st_size > 1 << 20
    # The side samples do not decode as GB18030 here: the statistical guess reads it as Big5.
    # Either way it is never stored as GB18030 mojibake.
    try:
        with open_source(path) as source:
            assert source.encoding != "gb18030"
            rows = [r for b in source.batches() for r in b.to_pylist()]
        assert rows[-1]["b"] == "陳大文"
    except DataplaneError as exc:
        assert exc.code == "encoding_mojibake" and exc.details["tried"] == ["utf-8", "gb18030"]
    assert header(path, encoding="big5") == ["a", "b", "c"]


def test_utf16_with_a_byte_order_mark_is_read_when_given(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.csv", SIMPLE, "utf-16")
    err = refused(path)
    assert err.code == "encoding_unsupported" and "utf-16" in err.details["candidates"]
    with open_source(path, encoding="utf-16") as source:
        assert source.columns == SIMPLE[0] and source.encoding == "utf-16"
        rows = [r for b in source.batches() for r in b.to_pylist()]
    assert len(rows) == 40 and rows[0]["姓名"] == SIMPLE[1][0]
    assert header(write(tmp_path / "u32.csv", SIMPLE, "utf-32"), encoding="utf-32") == SIMPLE[0]


def test_utf16_json_is_read_when_given(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(json.dumps([{"姓名": "张三", "金额": 1}], ensure_ascii=False).encode("utf-16"))
    assert header(path, encoding="utf-16") == ["姓名", "金额"]


def test_a_wrong_wide_override_is_an_encoding_error(tmp_path: Path) -> None:
    path = write(tmp_path / "le.csv", ZH_ROWS, "utf-16-le")
    err = refused(path, encoding="utf-16-be")
    assert err.code in ("encoding_error", "header_mojibake", "corrupt_file")


@pytest.mark.parametrize(
    "bad",
    ["\ue000\ue001", "名\ufffd称", "\U000f0001列", "a\uf8ffb"],
    ids=["pua", "replacement", "plane15", "pua-end"],
)
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_header_with_private_use_or_replacement_characters_is_refused(
    tmp_path: Path, bad: str, fmt: str
) -> None:
    if fmt == "csv":
        path = tmp_path / "h.csv"
        path.write_text(f"ok,{bad}\n1,2\n", encoding="utf-8")
    else:
        path = tmp_path / "h.json"
        path.write_text(json.dumps([{"ok": 1, bad: 2}], ensure_ascii=False), encoding="utf-8")
    err = refused(path)
    assert err.code == "header_mojibake"
    assert err.details["column_position"] == 2 and err.details["tried"] == ["utf-8"]
    assert err.details["characters"] and all(c.startswith("U+") for c in err.details["characters"])
    # Given explicitly, it is still refused: no column name holds these characters.
    assert refused(path, encoding="utf-8").code == "header_mojibake"


def test_gb18030_header_with_user_defined_characters_is_refused(tmp_path: Path) -> None:
    """GB18030's user-defined area (0xAAA1…) decodes to private use: a Big5 header read as
    GB18030 often lands there."""
    path = tmp_path / "ud.csv"
    path.write_bytes(b"\xaa\xa1\xaa\xa2,b\n1,2\n")
    err = refused(path, encoding="gb18030")
    assert err.code == "header_mojibake" and err.details["tried"] == ["gb18030"]


@pytest.mark.parametrize(
    "rows",
    [
        SIMPLE,
        [["名称", "说明"], ["𠀀𠀁", "扩展B"], ["䶮", "扩展A"]],  # rare names, four-byte GB18030
        [["价格", "备注"], ["€12", "¥30 °C"], ["张三", "北京"]],  # symbols outside GB2312
        [["臺灣", "資訊"], ["陳", "國"]],  # traditional characters written in GB18030
    ],
    ids=["simplified", "rare-names", "symbols", "few-traditional"],
)
def test_real_gb18030_text_is_not_mistaken_for_mojibake(
    tmp_path: Path, rows: list[list[str]]
) -> None:
    path = write(tmp_path / "gb.csv", rows, "gb18030")
    with open_source(path) as source:
        assert source.encoding == "gb18030" and source.columns == rows[0]


def test_a_long_traditional_text_in_gb18030_is_read() -> None:
    """Traditional Chinese stored in GB18030 keeps most characters inside GB2312."""
    text = text_of(ZH_ROWS).encode("gb18030").decode("gb18030")
    common, strong, weak = _cjk_counts(text)
    assert strong == 0 and common > weak


def test_detection_order_is_documented() -> None:
    assert codecs.lookup("cp950").name == "cp950"  # Big5's Windows form, also refused above

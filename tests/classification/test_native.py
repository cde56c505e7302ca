"""The C helper for keyed pseudonyms (native.py, _hmac.c): equal to Python's HMAC-SHA256 on any
text, key and array layout; refusing bad buffers; and interchangeable with the SQL form that
runs where it is not built."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yaosu.classification import masking, native
from yaosu.classification.masking import DateShift, MaskingPolicy, Pseudonymize, columns_of

built = pytest.mark.skipif(
    native._module() is None and not os.environ.get("CI"),
    reason="the C extension is not built here (no compiler or OpenSSL headers)",
)


def reference(key: bytes, values: list[str | None]) -> list[str | None]:
    return [
        None if v is None else hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest()
        for v in values
    ]


@pytest.fixture
def sql_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Masking as on a node where the extension is not built (the documented off switch)."""
    monkeypatch.setenv("YAOSU_NATIVE_HMAC", "0")
    native.available.cache_clear()
    yield
    monkeypatch.undo()
    native.available.cache_clear()


def test_ci_runs_the_native_path() -> None:
    if not os.environ.get("CI"):
        pytest.skip("only CI insists on the extension")
    assert native._module() is not None, "setup.py did not build yaosu.classification._hmac"
    assert native.available()


@built
@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=90)), max_size=40),
    key=st.binary(min_size=1, max_size=200),
    start=st.integers(0, 5),
    large=st.booleans(),
    length=st.integers(1, 64),
)
def test_every_value_is_python_hmac_whatever_the_layout(
    values: list[str | None], key: bytes, start: int, large: bool, length: int
) -> None:
    array = pa.array(values, pa.large_string() if large else pa.string()).slice(start)
    expected = reference(key, values[start:])
    got = native.hmac_sha256_hex(key, array)
    assert got.type == pa.string()
    assert got.to_pylist() == expected
    cut = [None if v is None else v[:length] for v in expected]
    chunked = pa.chunked_array([array, array], array.type)
    assert native.hmac_sha256_hex(key, chunked, length).to_pylist() == cut * 2


@built
def test_an_empty_array_and_all_nulls() -> None:
    assert native.hmac_sha256_hex(b"k", pa.array([], pa.string())).to_pylist() == []
    assert native.hmac_sha256_hex(b"k", pa.array([None, None], pa.string())).to_pylist() == [
        None,
        None,
    ]
    assert native.hmac_sha256_hex(b"k", pa.array(["", ""])).to_pylist() == reference(b"k", ["", ""])


@built
def test_the_extension_refuses_offsets_outside_its_buffers() -> None:
    module = native._module()
    assert module is not None
    offsets = pa.array([0, 10], pa.int32()).buffers()[1]
    with pytest.raises(ValueError, match="outside the data buffer"):
        module.hmac_sha256_hex(b"k", offsets, b"abc", 0, 1, False, 64)
    backwards = pa.array([3, 1], pa.int32()).buffers()[1]
    with pytest.raises(ValueError, match="outside the data buffer"):
        module.hmac_sha256_hex(b"k", backwards, b"abc", 0, 1, False, 64)
    with pytest.raises(ValueError, match="too short"):
        module.hmac_sha256_hex(b"k", offsets, b"abc", 0, 5, False, 64)
    with pytest.raises(ValueError, match="too short"):
        module.hmac_sha256_hex(b"k", offsets, b"abc", -1, 1, False, 64)
    with pytest.raises(ValueError, match="too short"):  # 32-bit offsets read as 64-bit
        module.hmac_sha256_hex(b"k", offsets, b"abc", 0, 1, True, 64)
    fine = pa.array([0, 3], pa.int32()).buffers()[1]
    for length in (0, 65, -1):
        with pytest.raises(ValueError, match="1 to 64 hex digits"):
            module.hmac_sha256_hex(b"k", fine, b"abc", 0, 1, False, length)


@built
def test_the_duckdb_function_takes_exactly_one_key_and_length() -> None:
    values = pa.array(["a", "b"])
    twelve = pa.array([12, 12], pa.int32())
    got = native.duckdb_function(pa.array([b"k", b"k"]), values, twelve).to_pylist()
    assert got == [d[:12] for d in reference(b"k", ["a", "b"]) if d]
    with pytest.raises(ValueError, match="one non-null key"):
        native.duckdb_function(pa.array([b"k", b"j"]), values, twelve)
    with pytest.raises(ValueError, match="one non-null key"):
        native.duckdb_function(pa.array([None, None], pa.binary()), values, twelve)
    with pytest.raises(ValueError, match="one digest length"):
        native.duckdb_function(pa.array([b"k", b"k"]), values, pa.array([12, 13], pa.int32()))


def test_the_off_switch_compiles_the_sql_form(sql_only: None) -> None:
    assert not native.available()
    columns = [{"name": "手机", "type": "text"}]
    sql, params = masking.select_list(
        MaskingPolicy(name="p", rules={"手机": Pseudonymize()}), columns, b"key"
    )
    assert native.FUNCTION not in sql and "sha256(" in sql
    assert len(params) == 2  # the padded inner and outer keys, never the key itself
    assert b"key" not in params


POLICY = MaskingPolicy(
    name="both",
    rules={
        "手机": Pseudonymize(format="mobile"),
        "证件": Pseudonymize(format="resident_id", length=64),
        "就诊": DateShift(max_days=30, key_column="证件", key_format="resident_id"),
    },
)


def _export(src: Path, dest: Path) -> pa.Table:
    table = pq.read_table(src)
    masking.export_masked(src, dest, POLICY, columns_of(table.schema), b"node key " * 9)
    return pq.read_table(dest)


@pytest.fixture
def version(tmp_path: Path) -> Path:
    import datetime as dt

    path = tmp_path / "v.parquet"
    rows = 5000
    pq.write_table(
        pa.table(
            {
                "手机": pa.array([13800000000 + i * 37 for i in range(rows)], pa.int64()),
                "证件": [
                    None if i % 97 == 0 else f"11010519900101{i % 10000:04d}" for i in range(rows)
                ],
                "就诊": [dt.date(2024, 1, 1) + dt.timedelta(days=i % 300) for i in range(rows)],
            }
        ),
        path,
    )
    return path


@built
def test_native_and_sql_forms_write_the_same_export(
    version: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert native.available()
    fast = _export(version, tmp_path / "fast.parquet")
    monkeypatch.setenv("YAOSU_NATIVE_HMAC", "0")
    native.available.cache_clear()
    try:
        assert not native.available()
        slow = _export(version, tmp_path / "slow.parquet")
    finally:
        monkeypatch.undo()
        native.available.cache_clear()
    assert fast.equals(slow)
    phones = fast.column("手机").to_pylist()
    assert phones[1] == hmac.new(b"node key " * 9, b"13800000037", hashlib.sha256).hexdigest()[:32]
    assert fast.column("证件").null_count == len(range(0, 5000, 97))

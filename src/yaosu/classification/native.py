"""Keyed pseudonyms (HMAC-SHA256) over a whole Arrow string array, in C.

DuckDB's ``sha256`` is software-only and an HMAC written in SQL hashes four blocks per value
(the padded key twice) with a hex round trip in between; a Python loop pays the interpreter per
value. The optional extension ``yaosu.classification._hmac`` hashes the padded key once into an
inner and an outer state and then costs two compressions per value, with OpenSSL's libcrypto
(SHA-NI where the CPU has it) and without the GIL, so DuckDB's threads hash in parallel: about
0.14 s per million values on one core, against about 1.2 s of CPU for the SQL form.

The extension is built by ``pip install`` when a C compiler and OpenSSL's headers are there
(``setup.py``); without it, or with ``YAOSU_NATIVE_HMAC=0``, masking uses the SQL form, which
gives the same digests. ``available()`` says which one runs; it also checks the extension
against Python's ``hmac`` once, so a miscompiled build is never used.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import os
from functools import cache
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["FUNCTION", "available", "duckdb_function", "hmac_sha256_hex"]

FUNCTION = "yaosu_hmac_sha256"
"""The DuckDB function: ``yaosu_hmac_sha256(key BLOB, value VARCHAR, length INTEGER) → VARCHAR``,
the first ``length`` hex digits of the HMAC."""

_HEX = 64


def _module() -> ModuleType | None:
    try:
        return importlib.import_module("yaosu.classification._hmac")
    except ImportError:
        return None


@cache
def available() -> bool:
    """Whether the C extension is built, enabled, and agrees with Python's ``hmac``."""
    if os.environ.get("YAOSU_NATIVE_HMAC", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if _module() is None:
        return False
    probe = pa.array(["", "13800138000", "张三", None, "x" * 200])
    for key in (b"k", b"K" * 64, b"long key " * 10):
        got = hmac_sha256_hex(key, probe.slice(1)).to_pylist()
        if hmac_sha256_hex(key, probe, 7).to_pylist()[1] != (got[0] or "")[:7]:
            return False
        want = [
            None if v is None else hmac.new(key, v.encode(), hashlib.sha256).hexdigest()
            for v in probe.slice(1).to_pylist()
        ]
        if got != want:
            return False
    return True


def hmac_sha256_hex(key: bytes, values: pa.Array | pa.ChunkedArray, length: int = _HEX) -> pa.Array:
    """The first ``length`` (1–64) lowercase hex digits of HMAC-SHA256(key, UTF-8 value) of
    every value; NULL stays NULL.

    Raises RuntimeError when the extension is not built (check ``available()`` first).
    """
    extension = _module()
    if extension is None:
        raise RuntimeError("yaosu.classification._hmac is not built")
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.string())  # string views, dictionaries
    count = len(values)
    if count == 0:
        return pa.array([], pa.string())
    _, offsets, data = values.buffers()
    digests = extension.hmac_sha256_hex(
        bytes(key),
        offsets,
        data if data is not None else b"",
        values.offset,
        count,
        pa.types.is_large_string(values.type),
        length,
    )
    validity = pc.is_valid(values).buffers()[1] if values.null_count else None
    wide = length * count >= 2**31  # past 32-bit offsets
    positions = np.arange(0, length * (count + 1), length, dtype=np.int64 if wide else np.int32)
    return pa.Array.from_buffers(
        pa.large_string() if wide else pa.string(),
        count,
        [validity, pa.py_buffer(positions), pa.py_buffer(digests)],
        values.null_count,
    )


def duckdb_function(keys: pa.Array, values: pa.Array, lengths: pa.Array) -> pa.Array:
    """The Arrow function behind ``yaosu_hmac_sha256(key, value, length)``: the key and the
    length are bound parameters, one of each per query."""
    if len(values) == 0:
        return pa.array([], pa.string())
    key, length = pc.unique(keys), pc.unique(lengths)
    if len(key) != 1 or not key[0].is_valid:
        raise ValueError(f"{FUNCTION} takes one non-null key per query")
    if len(length) != 1 or not length[0].is_valid:
        raise ValueError(f"{FUNCTION} takes one digest length per query")
    return hmac_sha256_hex(key[0].as_py(), values, length[0].as_py())

"""Data plane: immutable, content-hashed dataset versions from files and pulls.

``open_source`` (or ``sql_source``/``http_source``) reads an input as string batches,
``ingest`` infers column types over the whole input and stores a Parquet version named by its
SHA-256 in a ``Storage``, and ``preview``/``schema``/``export`` read versions back. This package
imports no other yaosu package except ``yaosu.kit``.
"""

from __future__ import annotations

from .errors import Cancelled, DataplaneError
from .inference import ColumnInfo, ColumnType
from .ingest import IngestResult, ingest
from .profile import ColumnProfile, Profile
from .read import export, preview, schema
from .readers import detect_format, http_source, open_source, sql_source
from .source import Limits, Source
from .storage import Storage

__all__ = [
    "Cancelled",
    "ColumnInfo",
    "ColumnProfile",
    "ColumnType",
    "DataplaneError",
    "IngestResult",
    "Limits",
    "Profile",
    "Source",
    "Storage",
    "detect_format",
    "export",
    "http_source",
    "ingest",
    "open_source",
    "preview",
    "schema",
    "sql_source",
]

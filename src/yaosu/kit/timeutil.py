"""Time in one place: aware UTC datetimes, and a normaliser for naive values read from SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes; everything we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: datetime) -> str:
    return aware(value).isoformat().replace("+00:00", "Z")


# Schemas use this so SQLite's naive values serialize with their UTC offset like PostgreSQL's.
UTCDateTime = Annotated[datetime, AfterValidator(aware)]

"""Time in one place: aware UTC datetimes, a normaliser for naive values read from SQLite, and
the node's local time.

Instants are stored, compared and sent over the API in UTC. People see the node's time zone
(``YAOSU_TIMEZONE``, default ``Asia/Shanghai``), and calendar days — daily quotas, date-only
validity bounds, "today" counters, due dates — are days of that zone, ending at its midnight.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


# --- the node's zone -----------------------------------------------------------------------------
@lru_cache(maxsize=16)
def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Asia/Shanghai``, ``UTC``); ValueError naming it and
    giving examples when there is no such zone."""
    try:
        if not name or name != name.strip():
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"{name!r} is not an IANA time zone name (for example Asia/Shanghai, Asia/Urumqi, UTC)"
        ) from exc


def local_zone() -> ZoneInfo:
    """The node's time zone (the ``timezone`` setting, checked when the settings load)."""
    from yaosu.config import get_settings  # config builds on kit: looked up when asked

    return zone_named(get_settings().timezone)


def local(value: datetime, zone: tzinfo | None = None) -> datetime:
    """An instant on the wall clock of ``zone`` (default: the node's zone)."""
    return aware(value).astimezone(zone or local_zone())


def local_day(at: datetime, zone: tzinfo | None = None) -> date:
    """The calendar day of ``zone`` (default: the node's) that the instant ``at`` falls in."""
    return local(at, zone).date()


def day_start(day: date, zone: tzinfo | None = None) -> datetime:
    """The instant (UTC) the calendar day ``day`` of ``zone`` begins: its local midnight."""
    # Where a clock change skips midnight, zoneinfo reads the missing 00:00 with the offset
    # before the change: the instant of the jump, which is where the day begins.
    return datetime.combine(day, time(), zone or local_zone()).astimezone(UTC)


def next_midnight(at: datetime, zone: tzinfo | None = None) -> datetime:
    """The instant (UTC) the local day containing ``at`` ends: the next local midnight."""
    z = zone or local_zone()
    return day_start(local_day(at, z) + timedelta(days=1), z)


def day_end(at: datetime | date, zone: tzinfo | None = None) -> datetime:
    """The last instant (UTC, to the microsecond) of a local day — given as a date or as an
    instant in it: a deadline or a validity that runs "to the end of that day"."""
    z = zone or local_zone()
    day = at if not isinstance(at, datetime) else local_day(at, z)
    return day_start(day + timedelta(days=1), z) - timedelta(microseconds=1)


def seconds_to_midnight(at: datetime, zone: tzinfo | None = None) -> int:
    """Whole seconds (at least 1) from ``at`` to the next local midnight, for a Retry-After."""
    left = (next_midnight(at, zone) - aware(at)).total_seconds()
    return max(1, math.ceil(left))


def offset_label(value: datetime) -> str:
    """The UTC offset of an aware local time as people write it: ``UTC+8``, ``UTC+5:30``,
    ``UTC-3``, ``UTC``."""
    off = value.utcoffset() or timedelta()
    minutes = int(off.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h}" + (f":{m:02d}" if m else "")


def local_text(
    value: datetime | str | None,
    zone: tzinfo | None = None,
    empty: str = "—",
    *,
    seconds: bool = False,
    offset: bool = True,
) -> str:
    """An instant as people read it: local wall time to the minute (or second) and the offset
    (``2026-12-08 00:00 UTC+8``; without ``offset`` where a heading names the zone). Takes a
    datetime or an ISO 8601 text (``…Z``)."""
    if value is None or value == "":
        return empty
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    at = local(value, zone)
    text = f"{at:%Y-%m-%d %H:%M:%S}"[: None if seconds else 16]
    return f"{text} {offset_label(at)}" if offset else text


def zone_label(zone: tzinfo | None = None) -> str:
    """The zone's offset now (``UTC+8``), for a heading over local times."""
    return offset_label(local(utcnow(), zone))


def local_date_text(
    value: datetime | date | None, zone: tzinfo | None = None, empty: str = "—"
) -> str:
    """The local calendar day of an instant (``2026-12-08``); a date is shown as it is."""
    if value is None:
        return empty
    if isinstance(value, datetime):
        return local_day(value, zone).isoformat()
    return value.isoformat()

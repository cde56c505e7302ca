"""Local time: the node's zone comes from ``YAOSU_TIMEZONE`` and a bad one is refused at start-up;
days begin and end at local midnight (also where a clock change skips it); pages and the CLI
write local wall time with its offset, the API keeps UTC instants."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fixtures.timezone import set_node_zone  # noqa: F401 (the fixture)
from yaosu.config import Settings, SettingsError, get_settings, reset_settings
from yaosu.kit.timeutil import (
    day_end,
    day_start,
    iso,
    local_date_text,
    local_day,
    local_text,
    local_zone,
    next_midnight,
    seconds_to_midnight,
    zone_named,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZONES = ["Asia/Shanghai", "UTC", "America/New_York", "Asia/Kolkata", "America/Santiago"]


def test_the_default_zone_is_beijing_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YAOSU_TIMEZONE", raising=False)
    assert Settings().timezone == "Asia/Shanghai"


def test_the_zone_follows_the_setting(node_zone: Any) -> None:
    assert local_zone() == SHANGHAI  # the suite's
    node_zone("Asia/Urumqi")
    assert local_zone().key == "Asia/Urumqi"
    at = datetime(2026, 12, 7, 17, 30, tzinfo=UTC)
    assert local_text(at) == "2026-12-07 23:30 UTC+6"
    node_zone("Asia/Shanghai")
    assert local_text(at) == "2026-12-08 01:30 UTC+8"


@pytest.mark.parametrize("bad", ["Mars/Olympus", "Asia/Shang hai", "", "../etc/passwd", "+08:00"])
def test_a_bad_zone_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("YAOSU_TIMEZONE", bad)
    reset_settings()
    try:
        with pytest.raises(SettingsError) as caught:
            get_settings()
        assert str(caught.value).startswith("Invalid settings: YAOSU_TIMEZONE: ")
        assert "is not an IANA time zone name" in str(caught.value)
    finally:
        monkeypatch.undo()
        reset_settings()
    with pytest.raises(ValueError, match="not an IANA time zone"):
        zone_named(bad)


def test_a_bad_zone_stops_the_node_before_it_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    from yaosu.app import create_app

    monkeypatch.setenv("YAOSU_TIMEZONE", "Asia/Atlantis")
    reset_settings()
    try:
        with pytest.raises(SettingsError, match="YAOSU_TIMEZONE: 'Asia/Atlantis'"):
            create_app()
    finally:
        monkeypatch.undo()
        reset_settings()


def test_the_cli_refuses_a_bad_zone_with_one_clear_line(tmp_path: Any) -> None:
    env = {"PATH": "/usr/bin:/bin", "YAOSU_DATA_DIR": str(tmp_path), "YAOSU_TIMEZONE": "Moon/Base"}
    done = subprocess.run(
        [sys.executable, "-c", "from yaosu.cli import main; main()", "db", "current"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: Invalid settings: YAOSU_TIMEZONE: 'Moon/Base' is not an IANA time zone name "
        "(for example Asia/Shanghai, Asia/Urumqi, UTC)"
    )
    assert "Traceback" not in done.stderr


def test_beijing_days_end_at_16_utc() -> None:
    assert local_day(datetime(2026, 12, 7, 15, 59, 59, tzinfo=UTC)) == date(2026, 12, 7)
    assert local_day(datetime(2026, 12, 7, 16, 0, 1, tzinfo=UTC)) == date(2026, 12, 8)
    assert day_start(date(2026, 12, 8)) == datetime(2026, 12, 7, 16, tzinfo=UTC)
    assert next_midnight(datetime(2026, 12, 7, 15, 59, 59, tzinfo=UTC)) == datetime(
        2026, 12, 7, 16, tzinfo=UTC
    )
    assert seconds_to_midnight(datetime(2026, 12, 7, 15, 59, 59, 1, tzinfo=UTC)) == 1
    assert seconds_to_midnight(datetime(2026, 12, 7, 16, 0, 1, tzinfo=UTC)) == 86399
    assert day_end(date(2026, 12, 7)) == datetime(2026, 12, 7, 15, 59, 59, 999_999, tzinfo=UTC)
    # SQLite gives naive values, which are UTC
    assert local_day(datetime(2026, 12, 7, 16, 0, 1)) == date(2026, 12, 8)


def test_a_day_where_the_clock_skips_midnight_begins_at_the_jump() -> None:
    # Chile moved its clocks from 2022-09-11 00:00 (UTC-4) straight to 01:00 (UTC-3).
    santiago = ZoneInfo("America/Santiago")
    start = day_start(date(2022, 9, 11), santiago)
    assert start == datetime(2022, 9, 11, 4, tzinfo=UTC)
    assert local_day(start, santiago) == date(2022, 9, 11)
    assert local_day(start - timedelta(microseconds=1), santiago) == date(2022, 9, 10)
    # that day is 23 hours long
    assert next_midnight(start, santiago) - start == timedelta(hours=23)


@given(
    st.datetimes(datetime(1970, 1, 2), datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.sampled_from(ZONES),
)
def test_every_instant_lies_in_its_local_day(at: datetime, name: str) -> None:
    zone = ZoneInfo(name)
    day = local_day(at, zone)
    assert day_start(day, zone) <= at <= day_end(at, zone) < next_midnight(at, zone)
    assert local_day(next_midnight(at, zone), zone) == day + timedelta(days=1)
    assert 1 <= seconds_to_midnight(at, zone) <= 25 * 3600


@pytest.mark.parametrize(
    ("zone", "text"),
    [
        ("Asia/Shanghai", "2026-12-08 00:00 UTC+8"),
        ("UTC", "2026-12-07 16:00 UTC"),
        ("Asia/Kolkata", "2026-12-07 21:30 UTC+5:30"),
        ("America/New_York", "2026-12-07 11:00 UTC-5"),
    ],
)
def test_local_text_names_the_offset(zone: str, text: str) -> None:
    at = datetime(2026, 12, 7, 16, 0, 30, tzinfo=UTC)
    assert local_text(at, ZoneInfo(zone)) == text
    assert local_text(iso(at), ZoneInfo(zone)) == text  # the API's "…Z" text reads the same
    assert local_text(at, ZoneInfo(zone), seconds=True) == text.replace(" UTC", ":30 UTC", 1)
    assert local_text(None) == "—" and local_date_text(None, empty="") == ""
    assert local_date_text(at, SHANGHAI) == "2026-12-08"
    assert iso(at) == "2026-12-07T16:00:30Z"  # instants over the API stay UTC

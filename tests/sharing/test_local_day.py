"""Days are the node's local days (``YAOSU_TIMEZONE``): a grant's daily quota renews at local
midnight, not at midnight UTC, its usage is counted under the local date, and refusals say so
with a Retry-After to that midnight. The clock is the service's (``data_service.clock``), fixed
by the test; each case runs on SQLite and PostgreSQL (``fresh_engine``)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.fixtures.timezone import set_node_zone  # noqa: F401 (the fixture)
from tests.sharing.test_dataservice_rate import factories, setup_grant
from yaosu.identity.subject import Subject
from yaosu.kit.errors import YaosuError


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    from yaosu.sharing.dataservice import data_service

    now = [datetime(2026, 12, 7, 12, tzinfo=UTC)]
    monkeypatch.setattr(data_service, "clock", lambda: now[0])
    return now


def call(engine: Engine, consumer: Subject, gid: str) -> tuple[str, int | None, str]:
    """One rows call: ("ok", None, "") or (refusal code, Retry-After, message)."""
    from yaosu.sharing.dataservice import data_service

    sessions, read = factories(engine)
    try:
        with read() as s:
            b"".join(
                data_service.rows(
                    sessions, s, consumer, gid, fields=None, params={}, purpose=None,
                    order=[], limit=3, cursor=None, fmt="csv",
                )
            )  # fmt: skip
        return "ok", None, ""
    except YaosuError as exc:
        return exc.code, exc.details.get("retry_after"), exc.message


def usage_by_day(engine: Engine, gid: str) -> dict[str, int]:
    """Calls counted per usage day, as stored."""
    from yaosu.db.uow import session_factory
    from yaosu.sharing import repository as repo

    with session_factory(engine, write=False)() as s:
        return {u.day: int(u.calls) for u in repo.usage_series(s, gid, "2000-01-01") if u.calls}


@pytest.mark.parametrize(
    ("zone", "before", "after", "wait", "day_before", "day_after"),
    [
        # Beijing (UTC+8): the day of 2026-12-07 ends at 16:00Z.
        (
            "Asia/Shanghai",
            datetime(2026, 12, 7, 15, 59, 59, tzinfo=UTC),
            datetime(2026, 12, 7, 16, 0, 1, tzinfo=UTC),
            1,
            "2026-12-07",
            "2026-12-08",
        ),
        # The same instants on a node set to UTC are one day: the quota renews at 00:00Z.
        (
            "UTC",
            datetime(2026, 12, 7, 23, 59, 58, tzinfo=UTC),
            datetime(2026, 12, 8, 0, 0, 1, tzinfo=UTC),
            2,
            "2026-12-07",
            "2026-12-08",
        ),
        # Urumqi (UTC+6): the day ends at 18:00Z.
        (
            "Asia/Urumqi",
            datetime(2026, 12, 7, 17, 59, 30, tzinfo=UTC),
            datetime(2026, 12, 7, 18, 0, 0, tzinfo=UTC),
            30,
            "2026-12-07",
            "2026-12-08",
        ),
    ],
)
def test_the_daily_quota_renews_at_local_midnight(
    fresh_engine: Engine,
    clock: list[datetime],
    node_zone: Any,
    zone: str,
    before: datetime,
    after: datetime,
    wait: int,
    day_before: str,
    day_after: str,
) -> None:
    node_zone(zone)
    gid, consumer, _ = setup_grant(fresh_engine, calls_per_day=2)
    clock[0] = before
    assert call(fresh_engine, consumer, gid)[0] == "ok"
    assert call(fresh_engine, consumer, gid)[0] == "ok"
    code, retry_after, message = call(fresh_engine, consumer, gid)
    assert (code, retry_after) == ("quota_calls_exceeded", wait)
    assert f"renews at local midnight ({zone}), in {wait} s" in message
    clock[0] = after
    assert call(fresh_engine, consumer, gid)[0] == "ok"
    assert usage_by_day(fresh_engine, gid) == {day_before: 2, day_after: 1}


def test_midnight_utc_is_not_a_new_day_in_beijing(
    fresh_engine: Engine, clock: list[datetime]
) -> None:
    """The suite's zone is the default, Asia/Shanghai: 23:59 and 00:01 UTC are 07:59 and 08:01
    of one Beijing day, so the quota used up before midnight UTC stays used up after it."""
    gid, consumer, _ = setup_grant(fresh_engine, calls_per_day=1)
    clock[0] = datetime(2026, 12, 7, 23, 59, tzinfo=UTC)
    assert call(fresh_engine, consumer, gid)[0] == "ok"
    clock[0] = datetime(2026, 12, 8, 0, 1, tzinfo=UTC)
    code, retry_after, message = call(fresh_engine, consumer, gid)
    assert code == "quota_calls_exceeded"
    # to 2026-12-08T16:00Z, Beijing's next midnight
    assert retry_after == int(timedelta(hours=15, minutes=59).total_seconds())
    assert "local midnight (Asia/Shanghai)" in message
    assert usage_by_day(fresh_engine, gid) == {"2026-12-08": 1}


def test_a_grant_runs_to_the_end_of_its_last_local_day(session: Any) -> None:
    """The document's last day ("至 2027-06-30") and the grant row's last instant agree: the end
    of that day in the node's zone; the first day is the local day of approval."""
    from zoneinfo import ZoneInfo

    from tests.fixtures.classification import people_rows
    from tests.fixtures.sharing import served_resource
    from yaosu.kit.timeutil import aware
    from yaosu.models.sharing import Grant
    from yaosu.policy.model import parse_policy
    from yaosu.sharing import schemas
    from yaosu.sharing.service import request_service

    served = served_resource(session, people_rows(3, seed=5))
    req = request_service.submit(
        session,
        served.consumer,
        schemas.ShareRequestCreate(
            resource_id=served.resource.id,
            fields=["xm"],
            purpose="government_service",
            legal_basis="《政务数据共享条例》",
            term_days=30,
        ),
    )
    grant = session.get(Grant, req.grant_id)
    assert grant is not None
    beijing = ZoneInfo("Asia/Shanghai")
    first = aware(grant.not_before).astimezone(beijing)
    last = aware(grant.not_after).astimezone(beijing)
    assert (last.hour, last.minute, last.second, last.microsecond) == (23, 59, 59, 999_999)
    assert (last.date() - first.date()).days == 30
    window = parse_policy(grant.policy).terms.window
    assert window.start is not None and window.end is not None
    assert window.start.astimezone(beijing) == datetime.combine(first.date(), time(), beijing)
    assert window.end - aware(grant.not_after) == timedelta(microseconds=1)

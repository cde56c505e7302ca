"""Pull schedules read the node's wall clock: ``0 3 * * *`` runs at 03:00 local time, and the
next run is stored as a UTC instant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fixtures.timezone import set_node_zone  # noqa: F401 (the fixture)
from yaosu.catalog.service import next_run


@pytest.mark.parametrize(
    ("zone", "after", "expected"),
    [
        # 20:00 in Beijing: the next 03:00 there is 19:00Z
        (
            "Asia/Shanghai",
            datetime(2026, 12, 7, 12, tzinfo=UTC),
            datetime(2026, 12, 7, 19, tzinfo=UTC),
        ),
        ("UTC", datetime(2026, 12, 7, 12, tzinfo=UTC), datetime(2026, 12, 8, 3, tzinfo=UTC)),
        # New York in December is UTC-5
        (
            "America/New_York",
            datetime(2026, 12, 7, 12, tzinfo=UTC),
            datetime(2026, 12, 8, 8, tzinfo=UTC),
        ),
    ],
)
def test_a_daily_schedule_runs_at_local_three(
    node_zone: Any, zone: str, after: datetime, expected: datetime
) -> None:
    node_zone(zone)
    found = next_run("0 3 * * *", after)
    assert found == expected and found.utcoffset() is not None and not found.utcoffset()

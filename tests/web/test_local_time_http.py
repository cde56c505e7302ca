"""Pages show the node's local time (``YAOSU_TIMEZONE``) with its offset, on both databases: a
share request's submission time and review deadline, the listing's dates, and the same page
after the zone is changed; the ``<time datetime>`` attribute keeps the UTC instant, and a new
request's deadline is the end of a local day."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from tests.fixtures.timezone import set_node_zone  # noqa: F401 (the fixture)
from tests.fixtures.web import sign_in
from tests.web.test_ws_sharing_http import (
    file_request,
    world,  # noqa: F401 (the fixture)
)
from yaosu.models.sharing import ShareRequest

SUBMITTED = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)  # 00:30 on 12-08 in Beijing
DEADLINE = datetime(2026, 12, 12, 15, 59, 59, 999_999, tzinfo=UTC)  # the end of 12-12 there


def test_pages_show_local_time_with_the_offset(
    app: Any,
    world: dict[str, Any],  # noqa: F811 (the imported fixture)
    node_zone: Any,
) -> None:
    m = sign_in(app, "officer.m")
    filed = file_request(m, world["cond"])  # conditional: sent to review, with a deadline
    assert filed.status_code == 200, filed.text
    assert 'id="shr-review"' in filed.text
    # Five days to review, to the end of a day in the node's zone (Beijing, the default).
    assert "23:59 UTC+8。" in filed.text

    session = world["session"]
    req = session.scalars(
        select(ShareRequest).where(ShareRequest.resource_id == world["cond"])
    ).one()
    req.created_at, req.deadline_at = SUBMITTED, DEADLINE
    session.commit()
    url = f"/workspace/sharing/requests/{req.id}"

    page = m.get(url).text
    assert "2026-12-08 00:30 UTC+8" in page  # submitted
    assert '<time datetime="2026-12-12T15:59:59.999999Z">2026-12-12 23:59 UTC+8</time>' in page
    english = m.get(url + "?lang=en").text
    assert "2026-12-08 00:30 UTC+8" in english and "2026-12-12 23:59 UTC+8" in english
    listing = m.get("/workspace/sharing?role=consumer").text
    assert "<td>2026-12-08</td>" in listing  # the local day it was filed
    # The history keeps the instant and shows it locally.
    assert "2026-12-07 16:30" not in page

    node_zone("UTC")
    page = m.get(url).text
    assert "2026-12-07 16:30 UTC" in page and "2026-12-12 15:59 UTC" in page
    assert "UTC+8" not in page
    assert "<td>2026-12-07</td>" in m.get("/workspace/sharing?role=consumer").text

    node_zone("America/New_York")
    assert "2026-12-07 11:30 UTC-5" in m.get(url + "?lang=en").text
    # The API keeps ISO 8601 instants in UTC whatever the zone.
    api = m.get(f"/api/v1/share-requests/{req.id}")
    assert api.status_code == 200, api.text
    assert api.json()["created_at"] in {"2026-12-07T16:30:00Z", "2026-12-07T16:30:00+00:00"}

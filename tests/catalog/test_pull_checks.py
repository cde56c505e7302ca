"""What the workspace's pulls page needs from the catalog services: a resource's schedules (for
the provider and the data authority only), the information systems the acceptance check can be
asked about, addresses refused when the pull is asked for, and failures recorded without the
source's password."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import SYSTEM, create_org, create_user
from yaosu.catalog import census, schemas
from yaosu.catalog.service import dataset_service, public_params
from yaosu.catalog.tasks import run_in_session
from yaosu.identity.service import auth_service, token_service
from yaosu.kit.errors import Forbidden, Invalid
from yaosu.ledger.service import ledger_service


def who(session: Any, username: str) -> Any:
    user = auth_service.authenticate(session, username, "correct horse battery")
    return token_service.subject_of(user, frozenset({"catalog:read", "catalog:write"}), None, "t")


def test_schedules_are_listed_for_the_provider_and_the_authority(session: Any) -> None:
    gaj = create_org(session, "公安局")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, create_org(session, "交通局"), "officer.t", "data_officer")
    create_user(session, create_org(session, "大数据局"), "reviewer", "reviewer")
    resource = create_resource(session, gaj, publish=True)
    for cron in ("0 3 * * *", "*/5 * * * *"):
        dataset_service.request_pull(
            session,
            who(session, "officer.g"),
            resource.id,
            schemas.PullCreate(kind="http", url="http://127.0.0.1:9/x.csv", cron=cron),
        )
    mine = dataset_service.schedules(session, who(session, "officer.g"), resource.id)
    assert [s.cron for s in mine] == ["*/5 * * * *", "0 3 * * *"]
    assert len(dataset_service.schedules(session, who(session, "reviewer"), resource.id)) == 2
    with pytest.raises(Forbidden):
        dataset_service.schedules(session, who(session, "officer.t"), resource.id)


def test_the_systems_the_acceptance_check_knows(session: Any) -> None:
    gaj = create_org(session, "公安局")
    create_user(session, create_org(session, "交通局"), "officer.t", "data_officer")
    create_resource(session, gaj, publish=True)  # 人口综合库
    create_resource(session, gaj, name="草稿", source_system="交管业务系统")
    create_resource(session, gaj, name="无来源", source_system=None)
    assert census.systems(session, SYSTEM) == ["交管业务系统", "人口综合库"]
    # Another unit reads only the published catalog.
    assert census.systems(session, who(session, "officer.t")) == ["人口综合库"]


@pytest.mark.parametrize(
    "url",
    ["not a url", "ftp://example.cn/x.csv", "http:///x.csv", "file:///etc/passwd", "http://[::1"],
)
def test_an_http_pull_needs_an_http_address(session: Any, url: str) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    with pytest.raises(Invalid) as exc:
        dataset_service.request_pull(
            session, SYSTEM, resource.id, schemas.PullCreate(kind="http", url=url)
        )
    assert exc.value.code == "invalid_url" and "HTTP" in exc.value.message_zh


def test_a_database_address_with_a_bad_port_is_invalid(session: Any) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    with pytest.raises(Invalid) as exc:
        dataset_service.request_pull(
            session,
            SYSTEM,
            resource.id,
            schemas.PullCreate(kind="sql", url="postgresql+psycopg://u:pw@h:xx/db", table="t"),
        )
    assert exc.value.code == "invalid_url"


def test_a_failure_quoting_the_address_keeps_no_password(session: Any) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    url = "http://etl:s3cret-pw@127.0.0.1:9/stops.csv"
    job = dataset_service.request_pull(
        session, SYSTEM, resource.id, schemas.PullCreate(kind="http", url=url)
    )
    failed = run_in_session(session, job.id)
    assert failed.status == "failed" and failed.error["code"] == "pull_failed"
    assert "s3cret-pw" not in str(failed.error) and "etl:***@127.0.0.1:9" in failed.error["message"]
    assert public_params(failed.params)["url"] == "http://etl:***@127.0.0.1:9/stops.csv"
    entries, _ = ledger_service.trail(session, job.id, 10, 0)
    assert all(b"s3cret-pw" not in e.entry for e in entries)

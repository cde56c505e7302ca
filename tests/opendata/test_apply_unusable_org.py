"""A conditional-open application 有条件开放申请 is made only by a unit that may act: the portal's
form takes any signed-in visitor (not the API's access check), so the service refuses a unit
awaiting admission 准入, refused, suspended or gone — through the portal form as through the
service. Both databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.classification.test_publication_check import as_user
from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import create_org, create_user
from tests.fixtures.web import sign_in
from yaosu.kit.errors import Forbidden
from yaosu.models.sharing import ShareRequest
from yaosu.opendata import schemas as open_schemas
from yaosu.opendata.service import application_service


def dataset(session: Session) -> Any:
    gaj = create_org(session, "公安局")
    return create_resource(
        session,
        gaj,
        publish=True,
        name="户籍人口信息",
        share_attribute="conditional",
        share_conditions="仅限政务服务",
        open_attribute="conditional",
    )


def application(resource_id: str) -> open_schemas.ApplicationCreate:
    return open_schemas.ApplicationCreate(
        resource_id=resource_id,
        fields=["xm"],
        purpose="commercial_use",
        purpose_text="授信模型",
        term_days=90,
        commitment=True,
    )


@pytest.mark.parametrize("status", ["pending", "rejected", "suspended", "exited"])
def test_a_unit_that_may_not_act_applies_for_nothing(session: Session, status: str) -> None:
    r = dataset(session)
    org = create_org(session, f"运营公司{status}", kind="operator", status=status)
    user = create_user(session, org, f"op.{status}", "cdo")
    with pytest.raises(Forbidden) as caught:
        application_service.apply(session, as_user(user), application(r.id))
    assert caught.value.code == f"org_{status}"
    assert session.query(ShareRequest).filter_by(consumer_id=org.id).count() == 0


def test_an_active_unit_applies(session: Session) -> None:
    r = dataset(session)
    org = create_org(session, "运营公司", kind="operator")
    user = create_user(session, org, "op.active", "cdo")
    req = application_service.apply(session, as_user(user), application(r.id))
    assert req.channel == "open"


def test_a_pending_applicant_is_refused_through_the_portal_form(app: Any, session: Session) -> None:
    r = dataset(session)
    org = create_org(session, "待准入运营公司", kind="operator", status="pending")
    create_user(session, org, "op.portal", "cdo")
    client = sign_in(app, "op.portal")
    form = {
        "fields": ["xm"],
        "purpose": "commercial_use",
        "purpose_text": "授信模型",
        "term_days": "90",
        "delivery_mode": "api",
        "commitment": "true",
    }
    answer = client.post(
        f"/datasets/{r.id}/apply?lang=en",
        data=form,
        headers={"X-CSRF-Token": client.cookies["yaosu_csrf"], "HX-Request": "true"},
    )
    assert answer.status_code == 403, answer.text[:300]
    assert session.query(ShareRequest).filter_by(consumer_id=org.id).count() == 0

import pytest

from yaosu.identity import rules
from yaosu.kit.errors import Conflict, Forbidden, Invalid


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("pending", "active"),
        ("pending", "rejected"),
        ("active", "suspended"),
        ("suspended", "active"),
        ("active", "exited"),
        ("suspended", "exited"),
    ],
)
def test_allowed_org_transitions(current: str, target: str) -> None:
    rules.check_transition(rules.ORG_TRANSITIONS, "organization", "机构", current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("exited", "active"),
        ("rejected", "active"),
        ("pending", "suspended"),
        ("active", "pending"),
    ],
)
def test_refused_org_transitions_say_why(current: str, target: str) -> None:
    with pytest.raises(Conflict) as exc:
        rules.check_transition(rules.ORG_TRANSITIONS, "organization", "机构", current, target)
    assert current in exc.value.message and target in exc.value.message
    assert exc.value.code == "invalid_transition"


def test_admission_is_decided_once() -> None:
    rules.check_transition(
        rules.ADMISSION_TRANSITIONS, "admission", "准入申请", "submitted", "approved"
    )
    with pytest.raises(Conflict):
        rules.check_transition(
            rules.ADMISSION_TRANSITIONS, "admission", "准入申请", "approved", "rejected"
        )


def test_government_hierarchy() -> None:
    rules.check_org_shape("government", "district", "government", "city", [])
    rules.check_org_shape(
        "government", "city", "government", "city", []
    )  # a department of the city
    with pytest.raises(Invalid, match="cannot sit under"):
        rules.check_org_shape("government", "city", "government", "district", [])
    with pytest.raises(Invalid, match="needs a level"):
        rules.check_org_shape("government", None, None, None, [])
    with pytest.raises(Invalid, match="parent must be a government"):
        rules.check_org_shape("government", "grid", "enterprise", None, [])
    with pytest.raises(Invalid, match="Only government"):
        rules.check_org_shape("enterprise", "city", None, None, [])


def test_service_providers_name_their_services() -> None:
    rules.check_org_shape("service_provider", None, None, None, ["notary", "arbitrator"])
    with pytest.raises(Invalid, match="at least one"):
        rules.check_org_shape("service_provider", None, None, None, [])
    with pytest.raises(Invalid, match="Unknown service types: astrologer"):
        rules.check_org_shape("service_provider", None, None, None, ["astrologer"])
    with pytest.raises(Invalid, match="Unknown organization kind"):
        rules.check_org_shape("guild", None, None, None, [])


def test_every_requirement_kind_exists() -> None:
    assert set(rules.ORG_KINDS) == {
        "government",
        "institution",
        "enterprise",
        "operator",
        "service_provider",
        "regulator",
        "individual",
    }
    assert rules.GOV_LEVELS == ("province", "city", "district", "street", "community", "grid")
    assert set(rules.SERVICE_TYPES) == {
        "broker",
        "notary",
        "insurer",
        "evaluator",
        "auditor",
        "compliance_assessor",
        "arbitrator",
    }


def test_scopes_cannot_exceed_the_creator() -> None:
    assert rules.check_scopes(["identity:read"], ["identity:read", "ledger:read"]) == [
        "identity:read"
    ]
    with pytest.raises(Forbidden, match="identity:write"):
        rules.check_scopes(["identity:write"], ["identity:read"])
    with pytest.raises(Invalid, match="Unknown scopes"):
        rules.check_scopes(["root"])
    with pytest.raises(Invalid, match="at least one"):
        rules.check_scopes([])


def test_roles() -> None:
    assert rules.check_roles(["member", "cdo", "member"]) == ["cdo", "member"]
    with pytest.raises(Invalid):
        rules.check_roles(["king"])
    assert rules.may_manage_users_of(frozenset({"cdo"}), "a", "a")
    assert not rules.may_manage_users_of(frozenset({"cdo"}), "a", "b")
    assert not rules.may_manage_users_of(frozenset({"data_officer"}), "a", "a")
    assert rules.may_manage_users_of(frozenset({"platform_admin"}), "a", "b")

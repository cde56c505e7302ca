"""Pydantic schemas of the sharing API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from yaosu.kit.timeutil import UTCDateTime


class ShareRequestCreate(BaseModel):
    resource_id: str = Field(description="Resource id or code")
    fields: list[str] = Field(min_length=1, max_length=500, description="Fields wanted")
    purpose: str = Field(description="one_thing, government_service, supervision, …")
    purpose_text: str = Field(default="", max_length=2000, examples=["新生儿出生一件事"])
    scenario: str | None = Field(default=None, max_length=200)
    legal_basis: str = Field(min_length=1, max_length=2000)
    term_days: int = Field(default=365, ge=1, le=3 * 365)
    delivery_mode: Literal["api", "file", "subscription"] = Field(
        default="api",
        description="api; file; subscription (after approval, subscribe a webhook to the grant)",
    )


class Narrowing(BaseModel):
    """What a reviewer may change when approving: fewer fields, masking, a shorter term, a row
    filter (data return 数据回流), quotas."""

    fields: list[str] | None = None
    masking: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description='Field → masking rule, e.g. {"sfzh": {"op": "mask", "format": "resident_id"}}',
    )
    unmask: dict[str, Annotated[str, Field(max_length=2000)]] | None = Field(
        default=None,
        max_length=500,
        description="Field → the reason to lift its default masking. A reviewed grant masks "
        "every personal field by the resource's default masking policy; a general personal "
        "field (一般个人信息) is lifted with a reason, a sensitive one (敏感个人信息) only by the "
        "data authority and only when the request's legal basis names a law (《…法》, "
        "《…条例》…). The reason is kept in the ledger and on the grant.",
        examples=[{"xm": "窗口核验须比对姓名"}],
    )
    term_days: int | None = Field(default=None, ge=1, le=3 * 365)
    row_filter: list[dict[str, Any]] | None = Field(
        default=None,
        description='ODRL constraints on rows, e.g. [{"leftOperand": '
        '"yaosu:row.district_code", "operator": "isAnyOf", "rightOperand": ["370602"]}]',
    )
    calls_per_day: int | None = Field(default=None, ge=1)
    rows_per_day: int | None = Field(default=None, ge=1)
    rate_per_minute: int | None = Field(default=None, ge=1)


class Decision(BaseModel):
    approve: bool
    reason: str | None = Field(default=None, max_length=2000)
    narrowing: Narrowing | None = None


class ShareRequest(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    resource_id: str
    provider_id: str
    consumer_id: str
    fields: list[str]
    purpose: str
    purpose_text: str
    scenario: str | None
    legal_basis: str
    term_days: int
    delivery_mode: str
    channel: str = Field(default="sharing", description="sharing 政务共享 or open 有条件开放")
    research_plan: str | None = None
    status: str
    auto_approved: bool
    deadline_at: UTCDateTime | None
    overdue: bool = False
    decisions: list[dict[str, Any]]
    narrowed: dict[str, Any]
    refusal: dict[str, Any] | None
    grant_id: str | None
    created_at: UTCDateTime
    updated_at: UTCDateTime


class Grant(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    request_id: str | None
    resource_id: str
    provider_id: str
    consumer_id: str
    policy: dict[str, Any] = Field(description="ODRL 2.2 Agreement checked on every call")
    status: str
    not_before: UTCDateTime
    not_after: UTCDateTime
    delivery_mode: str
    status_reason: str | None
    unmasked: dict[str, Any] | None = Field(
        default=None,
        description="Personal fields a reviewer released without their default masking: "
        "field → reason, class, stage, reviewer, time (and the law cited, for sensitive ones)",
    )
    created_at: UTCDateTime
    updated_at: UTCDateTime


class GrantDetail(Grant):
    summary: str = Field(description="The policy in plain Chinese")
    summary_en: str


class UsageDay(BaseModel):
    day: str
    calls: int
    rows: int
    bytes: int
    refusals: dict[str, int]


class Usage(BaseModel):
    grant_id: str
    days: list[UsageDay]


class Subscribed(BaseModel):
    id: str
    grant_id: str
    url: str
    secret: str = Field(description="Shown once: verify X-Yaosu-Signature with it")


class ResponsibilityCreate(BaseModel):
    org_id: str
    name: str = Field(min_length=1, max_length=200)
    basis: str = Field(default="", max_length=2000)
    due_at: datetime
    resource_id: str | None = None


class ResponsibilityItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    org_id: str
    name: str
    basis: str
    due_at: UTCDateTime
    resource_id: str | None
    fulfilled_at: UTCDateTime | None
    overdue: bool = False


class ResponsibilityList(BaseModel):
    """A unit's sharing responsibility list 共享责任清单: what it must provide, what it has
    published, and requests to it that are waiting past their deadline."""

    org_id: str | None
    items: list[ResponsibilityItem]
    published_resources: int
    overdue_items: int
    overdue_requests: list[ShareRequest]

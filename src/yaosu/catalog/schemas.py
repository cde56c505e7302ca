"""Pydantic schemas of the catalog API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from yaosu.kit.timeutil import UTCDateTime


class FieldItem(BaseModel):
    """An information item 信息项."""

    name: str = Field(min_length=1, max_length=100, examples=["sfzh"])
    label_zh: str = Field(default="", max_length=100, examples=["身份证号"])
    type: str = Field(
        default="string", description="string, integer, decimal, boolean, date, datetime or text"
    )
    description: str = Field(default="", max_length=2000)


class Contact(BaseModel):
    name: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=200)


class ResourceBase(BaseModel):
    name_en: str | None = Field(default=None, max_length=200)
    summary: str = Field(default="", max_length=5000)
    format: str | None = Field(
        default=None, description="table, file, spreadsheet, api, image, geo"
    )
    fields: list[FieldItem] = Field(default_factory=list)
    describes: str | None = Field(
        default=None,
        description="What one row describes 描述对象: person, organization, place (a place or "
        "facility), event or other; left out, classification infers it from the columns. "
        "Coordinates and addresses of places are not personal information.",
    )
    update_cycle: str | None = Field(
        default=None, description="realtime, daily, weekly, monthly, quarterly, yearly, irregular"
    )
    base_library: str | None = Field(
        default=None,
        description="population, legal_person, "
        "natural_resources_geo, social_credit, e_license, macro_economy",
    )
    theme: str | None = Field(default=None, max_length=100)
    share_attribute: str | None = Field(
        default=None, description="unconditional 无条件共享, conditional 有条件共享, none 不予共享"
    )
    share_conditions: str | None = Field(default=None, max_length=2000)
    share_legal_basis: str | None = Field(default=None, max_length=2000)
    share_method: str | None = Field(default=None, description="api, file, database")
    open_attribute: str | None = Field(
        default=None, description="unconditional 无条件开放, conditional 有条件开放, none 不予开放"
    )
    source_system: str | None = Field(default=None, max_length=200)
    authoritative: bool = Field(default=False, description="Authoritative source 一数一源")
    keywords: list[str] = Field(default_factory=list, max_length=30)
    contact: Contact = Field(default_factory=Contact)


class ResourceCreate(ResourceBase):
    name: str = Field(min_length=1, max_length=200, examples=["常住人口基本信息"])
    classification_code: str = Field(examples=["10101001"], description="类(1)+项(2)+目(2)+细目(3)")
    provider_id: str | None = Field(default=None, description="Defaults to the caller's unit")
    provider_code: str | None = Field(default=None, max_length=40)


class ResourceUpdate(BaseModel):
    """Only the keys sent are changed."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = None
    summary: str | None = None
    format: str | None = None
    fields: list[FieldItem] | None = None
    describes: str | None = None
    update_cycle: str | None = None
    base_library: str | None = None
    theme: str | None = None
    share_attribute: str | None = None
    share_conditions: str | None = None
    share_legal_basis: str | None = None
    share_method: str | None = None
    open_attribute: str | None = None
    source_system: str | None = None
    authoritative: bool | None = None
    keywords: list[str] | None = None
    contact: Contact | None = None


class Resource(ResourceBase):
    model_config = ConfigDict(from_attributes=True)

    id: str
    code: str
    name: str
    classification_code: str
    provider_id: str
    provider_code: str | None
    grade: str | None
    status: str
    catalog_version: int
    return_reason: str | None
    registration_code: str | None
    current_version_id: str | None
    created_at: UTCDateTime
    updated_at: UTCDateTime
    published_at: UTCDateTime | None


class Reason(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class PublishSeen(BaseModel):
    """What the reviewer's publication card showed; when given, a publication is refused
    (409 ``stale_findings``) if the current version or its findings changed since."""

    model_config = ConfigDict(extra="forbid")

    version_id: str | None = Field(default=None, max_length=26)
    findings_digest: str | None = Field(default=None, min_length=64, max_length=64)


class CatalogVersion(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    snapshot: dict[str, Any]
    diff: list[dict[str, Any]]
    created_by: str | None
    created_at: UTCDateTime


class Registration(BaseModel):
    """The public record behind a unified registration code 登记编码."""

    code: str
    resource_code: str
    name: str
    provider: str
    catalog_version: int
    snapshot_sha256: str
    status: str
    registered_at: UTCDateTime


class ColumnInfo(BaseModel):
    name: str
    type: str
    nullable: bool = True
    reason: str | None = None


class DatasetVersion(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    resource_id: str
    number: int
    sha256: str
    rows: int
    size_bytes: int
    columns: list[dict[str, Any]]
    source: dict[str, Any]
    state: str = Field(description="staged (awaiting review) | accepted | rejected")
    current: bool = Field(default=False, description="The version grants and open data serve")
    decision: str | None = Field(
        default=None, description="initial | automatic | reviewer | rejected"
    )
    decision_reason: str | None = None
    decided_by: str | None = None
    decided_at: UTCDateTime | None = None
    review_reasons: list[dict[str, Any]] = Field(
        default_factory=list, description="Why a staged version waits for a reviewer"
    )
    created_at: UTCDateTime


class VersionAccept(BaseModel):
    """A reviewer's acceptance of a staged version; the note is optional."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class Rollback(BaseModel):
    """Point the resource back to one of its earlier accepted versions, saying why."""

    model_config = ConfigDict(extra="forbid")

    version_id: str = Field(min_length=1, max_length=26)
    reason: str = Field(default="", max_length=2000, description="Required; goes into the ledger")


class VersionReject(BaseModel):
    """A reviewer's rejection of a staged version, with the reason (required)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000, description="Required; goes into the ledger")


class StagedVersion(BaseModel):
    """A staged version in the reviewers' queue, with its resource."""

    version: DatasetVersion
    resource_id: str
    resource_code: str
    resource_name: str
    provider_id: str


class DatasetVersionDetail(DatasetVersion):
    profile: dict[str, Any]


class Job(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    resource_id: str
    kind: str
    status: str
    rows_done: int
    bytes_done: int
    bytes_total: int | None
    error: dict[str, Any] | None
    version_id: str | None
    schedule_id: str | None
    created_at: UTCDateTime
    started_at: UTCDateTime | None
    finished_at: UTCDateTime | None


class UploadCreate(BaseModel):
    filename: str = Field(min_length=1, max_length=300)
    size: int = Field(ge=1, le=64 * 1024**3)
    format: str | None = None
    encoding: str | None = None
    sheet: str | None = None


class Upload(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    resource_id: str
    filename: str
    size: int
    received: int
    status: str
    job_id: str | None


class PullCreate(BaseModel):
    kind: str = Field(description="sql or http")
    url: str = Field(min_length=1, max_length=2000, description="SQLAlchemy URL or HTTP(S) URL")
    table: str | None = Field(default=None, max_length=200)
    query: str | None = Field(default=None, max_length=20000)
    format: str | None = None
    encoding: str | None = None
    cron: str | None = Field(default=None, description="Run on this schedule; omit to run once now")


class Schedule(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    resource_id: str
    kind: str
    cron: str
    enabled: bool
    next_run_at: UTCDateTime
    last_job_id: str | None


class Facet(BaseModel):
    value: str
    label: str
    count: int


class SearchResult(BaseModel):
    items: list[Resource]
    total: int
    limit: int
    offset: int
    facets: dict[str, list[Facet]]


class DemandCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=5000)
    scenario: str | None = Field(default=None, max_length=200, examples=["高效办成一件事"])
    wanted_fields: list[str] = Field(default_factory=list, max_length=100)
    provider_id: str | None = Field(default=None, description="Ask one unit; omit to ask all")


class DemandAnswerCreate(BaseModel):
    resource_id: str | None = Field(default=None, description="The resource that meets it")
    reason: str | None = Field(default=None, max_length=2000, description="Why it is declined")


class DemandAnswer(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    provider_id: str
    decision: str
    resource_id: str | None
    reason: str | None
    created_at: UTCDateTime


class Demand(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    requester_id: str
    title: str
    description: str
    scenario: str | None
    wanted_fields: list[str]
    provider_id: str | None
    status: str
    created_at: UTCDateTime
    answers: list[DemandAnswer]


class AcceptanceItem(BaseModel):
    resource_id: str
    code: str
    name: str
    catalogued: bool
    ingested: bool
    registered: bool


class Acceptance(BaseModel):
    """Project acceptance check 项目验收: is the system's data catalogued, opened, registered?"""

    system: str
    resources: list[AcceptanceItem]
    passed: bool
    problems: list[str]

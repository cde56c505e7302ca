"""Pydantic schemas of the open-data API (``/api/v1/open``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from yaosu.kit.timeutil import UTCDateTime


class Distribution(BaseModel):
    """A downloadable file of an open resource: the current version, de-identified under its
    classification's default policy."""

    model_config = ConfigDict(from_attributes=True)

    format: str
    media_type: str
    url: str
    sha256: str
    size_bytes: int
    rows: int
    version: int
    downloads: int


class OpenField(BaseModel):
    name: str
    label_zh: str | None = None
    type: str | None = None
    description: str | None = None
    masked: str | None = Field(default=None, description="The masking operator applied, if any")


class OpenDataset(BaseModel):
    """A resource as the public sees it."""

    id: str
    code: str
    name: str
    name_en: str | None
    summary: str
    provider_id: str
    provider_name: str
    base_library: str | None
    theme: str | None
    open_attribute: str
    grade: str | None
    update_cycle: str | None
    format: str | None
    keywords: list[str]
    registration_code: str | None
    published_at: UTCDateTime | None
    updated_at: UTCDateTime
    downloadable: bool
    rows: int | None
    version: int | None
    version_sha256: str | None
    fields: list[OpenField]


class OpenSearch(BaseModel):
    items: list[OpenDataset]
    total: int
    limit: int
    offset: int
    facets: dict[str, list[dict[str, Any]]]


class Preview(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    total: int


class ApplicationCreate(BaseModel):
    """A conditional-open application 有条件开放申请 by an enterprise, researcher or institution."""

    resource_id: str = Field(description="Resource id or code")
    fields: list[str] = Field(min_length=1, max_length=500)
    purpose: str = Field(description="A policy purpose, e.g. commercial_use, scientific_research")
    purpose_text: str = Field(min_length=1, max_length=2000, examples=["普惠金融授信风控模型"])
    scenario: str | None = Field(default=None, max_length=200)
    term_days: int = Field(default=180, ge=1, le=3 * 365)
    delivery_mode: Literal["api", "file"] = "api"
    research: bool = Field(default=False, description="The research route (institutions only)")
    research_plan: str | None = Field(default=None, max_length=5000)
    commitment: bool = Field(
        description="The applicant accepts the open-data terms (安全承诺); must be true"
    )


class DemandCreate(BaseModel):
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(min_length=5, max_length=5000)
    wanted_fields: list[str] = Field(default_factory=list, max_length=50)
    requester_name: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=200, description="Never shown publicly")


class DemandAnswer(BaseModel):
    answer: str = Field(min_length=1, max_length=5000)
    resource_id: str | None = Field(default=None, description="A resource that meets it")
    decline: bool = False


class PublicDemand(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    description: str
    wanted_fields: list[str]
    requester_name: str | None
    status: str
    answer: str | None
    resource_id: str | None
    provider_id: str | None
    answered_at: UTCDateTime | None
    created_at: UTCDateTime


class ReuseCreate(BaseModel):
    title: str = Field(min_length=2, max_length=200)
    kind: Literal["app", "paper", "visualization", "other"]
    url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    description: str = Field(default="", max_length=5000)
    resource_ids: list[str] = Field(min_length=1, max_length=50)
    author: str = Field(min_length=1, max_length=100)


class ReuseDecision(BaseModel):
    show: bool
    reason: str | None = Field(default=None, max_length=2000)


class Reuse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    kind: str
    url: str | None
    description: str
    resource_ids: list[str]
    author: str
    status: str
    created_at: UTCDateTime


class DeveloperCreate(BaseModel):
    """A developer account 开发者账号: signs in and makes API keys (tokens) for the open API."""

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=200)
    password: str = Field(min_length=8, max_length=256)


class Figures(BaseModel):
    datasets: int
    downloadable: int
    providers: int
    rows: int
    downloads: int
    applications: int
    demands: int
    reuses: int

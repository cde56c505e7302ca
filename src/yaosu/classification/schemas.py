"""Pydantic schemas of the classification API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from yaosu.kit.timeutil import UTCDateTime


class FieldResult(BaseModel):
    """One column: what the detectors found and what the data officer decided."""

    model_config = ConfigDict(from_attributes=True)

    position: int
    column: str
    detected_type: str | None = Field(description="Detector type code, or null: unclassified")
    confidence: float
    non_null: int
    valid: int
    contains: list[str] = Field(description="For free text: the types found inside it")
    hint: str | None = Field(description="Type suggested by the column name")
    reason: str
    reason_zh: str
    detected_pi_class: str
    type: str | None = Field(description="Effective type (after review)")
    pi_class: str = Field(description="sensitive 敏感个人信息, general 一般个人信息, none")
    status: str = Field(description="proposed 待确认, accepted 已确认, changed 已更正")
    review_reason: str | None
    reviewed_by: str | None
    reviewed_at: UTCDateTime | None


class Classification(BaseModel):
    """A dataset version's classification and grade 分类分级结果."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    version_id: str
    resource_id: str
    rows: int
    proposed_grade: str
    proposal: dict[str, Any] = Field(description="Rule that proposed the grade, with its reason")
    grade: str
    status: str
    grade_reason: str | None
    catalog_entries: list[str]
    rules_digest: str
    describes: str | None = Field(
        description="What a row describes 描述对象: person, organization, place, event, other, "
        "or null (not known); coordinates and addresses of places are not personal"
    )
    describes_source: str | None = Field(
        description="declared (catalog), inferred (from the columns) or reviewed (corrected)"
    )
    describes_reason: str | None
    reviewed_by: str | None
    reviewed_at: UTCDateTime | None
    created_at: UTCDateTime
    updated_at: UTCDateTime
    fields: list[FieldResult]


class FieldReview(BaseModel):
    """Accept the proposal for a column, or correct its type and/or class (with a reason)."""

    column: str = Field(min_length=1, max_length=300)
    type: str | None = Field(
        default=None, description="New type code; omit to keep, 'none' for no type"
    )
    pi_class: str | None = Field(default=None, description="sensitive, general or none")
    reason: str | None = Field(default=None, max_length=2000)


class DescribesReview(BaseModel):
    """Correct what the table's rows describe 描述对象 (with a reason, in the ledger)."""

    describes: str = Field(description="person, organization, place, event or other")
    reason: str | None = Field(default=None, max_length=2000)


class GradeReview(BaseModel):
    grade: str = Field(description="core, important, general_4 … general_1")
    reason: str | None = Field(default=None, max_length=2000)


class TypeInfo(BaseModel):
    code: str
    label_zh: str
    label_en: str
    description: str
    pi_class: str


class GradeInfo(BaseModel):
    code: str
    label_zh: str
    label_en: str
    sharing: str = Field(description="policy, computation_only or refuse (SEC-4)")


class Vocabulary(BaseModel):
    types: list[TypeInfo]
    grades: list[GradeInfo]
    rules_name: str
    rules_source: str
    rules_digest: str
    rules: list[dict[str, Any]]


class ImportantEntryBase(BaseModel):
    sector: str = Field(min_length=1, max_length=100, examples=["政务"])
    region_code: str | None = Field(default=None, max_length=12, examples=["370600"])
    name: str = Field(min_length=1, max_length=200, examples=["全市人口基础信息"])
    description: str = Field(default="", max_length=5000)
    kind: Literal["important", "core"] = "important"
    code_prefixes: list[str] = Field(
        default_factory=list, description="Catalog classification codes or their prefixes"
    )
    resource_codes: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list, description="Matched in resource names")
    basis: str | None = Field(default=None, max_length=2000)


class ImportantEntryCreate(ImportantEntryBase):
    pass


class ImportantEntryUpdate(BaseModel):
    sector: str | None = Field(default=None, min_length=1, max_length=100)
    region_code: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    kind: Literal["important", "core"] | None = None
    code_prefixes: list[str] | None = None
    resource_codes: list[str] | None = None
    keywords: list[str] | None = None
    basis: str | None = None


class ImportantEntry(ImportantEntryBase):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: str
    created_at: UTCDateTime
    updated_at: UTCDateTime


class MaskingPolicyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\s/]+$")
    description: str = Field(default="", max_length=2000)
    rules: dict[str, dict[str, Any]] = Field(
        description='Column name → operator, e.g. {"sfzh": {"op": "mask", "format": "resident_id"}}'
    )


class MaskingPolicy(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    org_id: str
    name: str
    description: str
    rules: dict[str, Any]
    created_at: UTCDateTime


class MaskedExportRequest(BaseModel):
    policy: str | None = Field(
        default=None,
        description="Name or id of a saved policy; 'default' masks every detected field",
    )
    rules: dict[str, dict[str, Any]] | None = Field(
        default=None, description="An inline policy instead of a saved one"
    )
    format: Literal["parquet", "csv", "json"] = "csv"


class KAnonymityRequest(BaseModel):
    quasi_identifiers: list[str] = Field(min_length=1, max_length=20)
    k: int = Field(default=5, ge=2, le=10_000)
    plan: dict[str, dict[str, Any]] | None = Field(
        default=None, description="Generalization rules to try on the quasi-identifiers"
    )


class OpenColumn(BaseModel):
    column: str
    detected_type: str | None
    type: str | None
    detected_pi_class: str
    pi_class: str
    rule: dict[str, Any] | None = Field(
        description="Its rule in an open distribution; null = as is"
    )
    quasi_identifier: bool
    problem: str | None = Field(description="sensitive_unmasked, unmasked or unclassified")


class PublicationCheck(BaseModel):
    """The reviewer's publication card: findings, open rules and k of the open distribution."""

    resource_id: str
    open_attribute: str | None
    grade: str | None
    version_id: str | None
    version_number: int | None
    rows: int | None
    classified: bool
    describes: str | None = Field(
        default=None, description="What a row describes 描述对象, as the classification used it"
    )
    describes_source: str | None = Field(default=None, description="declared, inferred, reviewed")
    applies: bool = Field(description="True when the resource is 无条件开放 and has data")
    columns: list[OpenColumn]
    quasi_identifiers: list[str]
    k: int | None
    min_k: int
    passed: bool
    findings_digest: str = Field(description="Send it back when publishing (stale_findings)")

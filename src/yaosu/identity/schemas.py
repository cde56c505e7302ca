"""Pydantic schemas of the identity API."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from yaosu.kit.timeutil import UTCDateTime


class OrgCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["示范市公安局"])
    name_en: str | None = Field(default=None, max_length=200)
    kind: str = Field(
        description="government, institution, enterprise, operator, "
        "service_provider, regulator or individual"
    )
    gov_level: str | None = Field(
        default=None, description="province … grid, government units only"
    )
    parent_id: str | None = None
    uscc: str | None = Field(
        default=None, description="Unified social credit code 统一社会信用代码"
    )
    region_code: str | None = Field(default=None, max_length=12)
    service_types: list[str] = Field(default_factory=list)

    @field_validator("uscc")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.strip().upper() if v else v


class Org(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    name_en: str | None
    kind: str
    gov_level: str | None
    parent_id: str | None
    uscc: str | None
    region_code: str | None
    service_types: list[str]
    status: str
    did: str
    created_at: UTCDateTime


class StatusChange(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class UserCreate(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=200)
    password: str = Field(min_length=8, max_length=256)
    org_id: str
    roles: list[str] = Field(default_factory=lambda: ["member"])


class User(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    username: str
    display_name: str
    email: str | None
    org_id: str
    roles: list[str] = Field(validation_alias=AliasChoices("role_names", "roles"))
    is_active: bool
    created_at: UTCDateTime
    last_login_at: UTCDateTime | None


class Me(User):
    org: Org
    scopes: list[str]


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str]
    expires_in_days: int = Field(default=90, ge=1, le=730)


class Token(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    user_id: str
    scopes: list[str]
    created_at: UTCDateTime
    expires_at: UTCDateTime
    revoked_at: UTCDateTime | None


class TokenCreated(Token):
    token: str = Field(description="The secret, shown only this once.")


class AccessToken(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class AdmissionCreate(BaseModel):
    """An operator or service provider applies for admission 准入 (no account needed)."""

    org_name: str = Field(min_length=1, max_length=200)
    org_name_en: str | None = Field(default=None, max_length=200)
    requested_kind: str = Field(description="operator or service_provider")
    uscc: str
    service_types: list[str] = Field(default_factory=list)
    statement: str = Field(min_length=1, max_length=10000, description="Qualifications and intent")
    contact_username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    contact_display_name: str = Field(min_length=1, max_length=100)
    contact_email: str | None = Field(default=None, max_length=200)
    contact_password: str = Field(min_length=8, max_length=256)

    @field_validator("uscc")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()


class Admission(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    org_id: str
    requested_kind: str
    service_types: list[str]
    statement: str
    status: str
    submitted_at: UTCDateTime
    decided_at: UTCDateTime | None
    decided_by: str | None
    reason: str | None


class Decision(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)

"""Payload validation errors in people's words: each pydantic error type has a reason in zh and
en built from its context, fields go by their labels, our validators' reasons keep both
languages."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from yaosu.kit.validation import REASONS, Unfit, explain


class Colour(StrEnum):
    red = "red"
    green = "green"


class Item(BaseModel):
    label_zh: str = Field(min_length=1)


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=3, max_length=5)
    purpose: str = Field(title="Purpose of use", json_schema_extra={"title_zh": "使用目的"})
    term_days: int = Field(default=30, gt=0, le=365)
    mode: Literal["api", "file"] = "api"
    colour: Colour = Colour.red
    fields: list[Item] = Field(default_factory=list, max_length=2)
    code: str = "x"

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if v == "bad":
            raise Unfit("The code must not be 'bad'.", "代码不能为“bad”。")
        return v


def problems(data: Any, *, json: bool = False) -> tuple[str, str, list[dict[str, Any]]]:
    try:
        Form.model_validate_json(data) if json else Form.model_validate(data)
    except ValidationError as exc:
        return explain(exc.errors(), Form)
    raise AssertionError("valid")


def one(data: dict[str, Any]) -> dict[str, Any]:
    base = {"name": "abcd", "purpose": "x"}
    _, _, entries = problems({**base, **data})
    assert len(entries) == 1, entries
    return entries[0]


@pytest.mark.parametrize(
    ("data", "kind", "en", "zh"),
    [
        ({"name": "ab"}, "string_too_short", "at least 3 characters", "至少 3 个字符"),
        ({"name": "abcdef"}, "string_too_long", "at most 5 characters", "最多 5 个字符"),
        ({"term_days": "x"}, "int_parsing", "must be a whole number", "应为整数"),
        ({"term_days": 0}, "greater_than", "must be greater than 0", "必须大于 0"),
        ({"term_days": 400}, "less_than_equal", "must be at most 365", "不能大于 365"),
        (
            {"mode": "fax"},
            "literal_error",
            "must be one of: api, file",
            "只能是以下之一：api、file",
        ),
        (
            {"colour": "blue"},
            "enum",
            "must be one of: red, green",
            "只能是以下之一：red、green",
        ),
        ({"fields": [{"label_zh": "a"}] * 3}, "too_long", "at most 2 items", "最多 2 项"),
        ({"extra": 1}, "extra_forbidden", "not a field this request accepts", "不是可接受的字段"),
        ({"code": "bad"}, "value_error", "The code must not be 'bad'.", "代码不能为“bad”。"),
    ],
)
def test_each_error_has_its_reason_in_both_languages(
    data: dict[str, Any], kind: str, en: str, zh: str
) -> None:
    entry = one(data)
    assert entry["type"] == kind
    assert (entry["reason"], entry["reason_zh"]) == (en, zh)


def test_a_missing_field_goes_by_its_label_from_the_schema_or_the_vocabulary() -> None:
    en, zh, entries = problems({})
    assert [e["field"] for e in entries] == ["name", "purpose"]
    assert en == "Please check: Name (required); Purpose of use (required)."
    assert zh == "请检查：名称（必须填写）；使用目的（必须填写）。"
    assert "Field required" not in en + zh


def test_a_nested_field_is_named_by_its_place() -> None:
    entry = one({"fields": [{"label_zh": "ok"}, {"label_zh": ""}]})
    assert entry["field"] == "fields.1.label_zh"
    assert entry["label"] == "Fields › item 2 › Chinese label"
    assert entry["label_zh"] == "数据项 › 第 2 项 › 中文名称"
    assert entry["reason_zh"] == "不能为空"


def test_one_is_singular() -> None:
    class Short(BaseModel):
        name: str = Field(max_length=1)

    try:
        Short(name="ab")
    except ValidationError as exc:
        _, _, entries = explain(exc.errors(), Short)
    assert entries[0]["reason"] == "at most 1 character"


def test_a_body_that_is_not_json() -> None:
    _, _, entries = problems("{bad", json=True)
    assert entries[0]["type"] == "json_invalid" and entries[0]["label_zh"] == "请求体"
    assert entries[0]["reason_zh"].startswith("不是合法的 JSON")


def test_an_unknown_type_still_says_something_in_both_languages() -> None:
    _, _, entries = explain([{"type": "brand_new_type", "loc": ("body", "name"), "msg": "?"}])
    assert (entries[0]["reason"], entries[0]["reason_zh"]) == REASONS["invalid"][::-1]


def test_many_errors_are_summed_up() -> None:
    errors = [{"type": "missing", "loc": ("body", f"f{i}")} for i in range(8)]
    en, zh, entries = explain(errors)
    assert (
        len(entries) == 8 and en.endswith("and 3 more problems.") and zh.endswith("另有 3 处问题。")
    )

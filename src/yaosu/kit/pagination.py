"""Offset pagination shared by every list endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_LIMIT = 200


class PageParams(BaseModel):
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def page_of(
    schema: type[T], items: Sequence[object], total: int, limit: int, offset: int
) -> Page[T]:
    """A page of ``schema`` views of ORM rows (schemas read attributes)."""
    return Page[T](
        items=[schema.model_validate(i) for i in items],  # type: ignore[attr-defined]
        total=total,
        limit=limit,
        offset=offset,
    )

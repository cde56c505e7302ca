"""What a table's rows describe 描述对象, and what that does to a column's meaning. Pure: no I/O.

Detectors judge a column by its shape: a value that looks like an address is an address. Whether
it is personal information depends on what the row is about. The address of a care home or the
coordinates of a bus stop describe a place open to everyone; the same shapes in a residents'
table say where a person lives. So a table's row subject decides:

* ``place`` (地点或设施): coordinates and addresses are not personal information (class
  ``none``), so they are not masked, do not raise the grade and are not quasi-identifiers.
  Every other personal type (names, phones, identity numbers) keeps its class.
* any other subject, or none known: today's classes, unchanged.

The subject is declared in the catalog, corrected by a data officer, or else inferred here from
the columns. Only ``place`` relaxes anything, so it is never taken on trust: a declared or
corrected ``place`` on a table whose columns identify people is overruled (``overruled``), and
a correction to it is refused, until the column's type is corrected. Inference: a table with
any column that identifies people describes people; one with a unified social credit code
describes organizations; one with a place or facility name and a location (address or
coordinates) and nothing about people describes places. Otherwise nothing is inferred and
nothing changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from yaosu.classification.grading import RuleTable

# Types that single out a person wherever they appear (a landline is left out: facilities have
# switchboard numbers).
PERSON_TYPES = frozenset(
    {
        "resident_id",
        "passport",
        "hk_macau_permit",
        "taiwan_permit",
        "bank_card",
        "mobile",
        "email",
        "person_name",
        "birth_date",
        "licence_plate",
        "ipv4",
        "ipv6",
    }
)
# Types that say where something is: personal for people, public for places.
LOCATION_TYPES = frozenset({"address", "gps"})
SOURCES = ("declared", "inferred", "reviewed")

# Names and labels of a column naming a place or facility.
_PLACE_ZH = (
    "名称",
    "站点",
    "站名",
    "机构",
    "学校",
    "医院",
    "场所",
    "设施",
    "场馆",
    "网点",
    "景区",
    "园区",
    "公园",
)
_PLACE_WORDS = frozenset(
    {"station", "stop", "facility", "site", "school", "hospital", "venue", "poi", "institution"}
    | {"park", "shop", "store", "branch", "outlet"}
)
# Pinyin abbreviations ending in mc 名称 (jgmc 机构名称, zdmc 站点名称, xxmc 学校名称).
_PINYIN_NAME = re.compile(r"^[a-z]{0,6}mc$")


@dataclass(frozen=True)
class Column:
    """One column as inference sees it: its name, catalog label, effective type and, for free
    text, the types found inside."""

    name: str
    label: str | None
    type: str | None
    contains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inference:
    describes: str | None  # None: nothing could be told
    reason_en: str
    reason_zh: str
    columns: tuple[str, ...] = ()  # the evidence

    def as_reason(self) -> str:
        return f"{self.reason_zh} / {self.reason_en}"


def _words(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def names_place(name: str, label: str | None) -> bool:
    """Whether a column's name or catalog label names a place or facility."""
    text = f"{name} {label or ''}"
    if any(w in text for w in _PLACE_ZH):
        return True
    words = _words(name)
    return not _PLACE_WORDS.isdisjoint(words) or any(_PINYIN_NAME.match(w) for w in words)


def _identifies_person(c: Column) -> bool:
    if c.type in PERSON_TYPES:
        return True
    return c.type == "free_text" and not PERSON_TYPES.isdisjoint(c.contains)


def infer(columns: Sequence[Column]) -> Inference:
    """What the rows describe, told from the columns alone (see the module docstring)."""
    people = tuple(c.name for c in columns if _identifies_person(c))
    if people:
        shown = ", ".join(people)
        return Inference(
            "person",
            f"Columns {shown} identify people.",
            f"字段 {'、'.join(people)} 可识别个人。",
            people,
        )
    codes = tuple(c.name for c in columns if c.type == "uscc")
    if codes:
        return Inference(
            "organization",
            f"Column {', '.join(codes)} holds unified social credit codes.",
            f"字段 {'、'.join(codes)} 为统一社会信用代码。",
            codes,
        )
    located = tuple(c.name for c in columns if c.type in LOCATION_TYPES)
    named = tuple(c.name for c in columns if names_place(c.name, c.label))
    if located and named:
        evidence = (*named, *located)
        return Inference(
            "place",
            f"Nothing identifies a person; column {', '.join(named)} names a place or facility "
            f"and {', '.join(located)} locates it.",
            f"没有可识别个人的字段；字段 {'、'.join(named)} 为地点或设施名称，"
            f"{'、'.join(located)} 为其位置。",
            evidence,
        )
    return Inference(
        None,
        "The columns do not tell what a row describes.",
        "无法从字段判断每行描述的对象。",
    )


def pi_class(
    table: RuleTable, type_code: str | None, contains: Iterable[str], describes: str | None
) -> str:
    """A column's personal-information class in a table whose rows describe ``describes``."""
    found = list(contains)
    if describes == "place":
        if type_code in LOCATION_TYPES:
            return "none"
        found = [t for t in found if t not in LOCATION_TYPES]
    return table.pi_class(type_code, found)


def quasi_type(type_code: str | None, describes: str | None, personal: bool) -> bool:
    """Whether a location type still singles a person out: not in a place table, unless a
    reviewer made the column personal."""
    return not (describes == "place" and type_code in LOCATION_TYPES and not personal)


def overruled(claimed: str | None, columns: Sequence[Column]) -> Inference | None:
    """The inference that overrules a claimed ``place`` when the columns identify people: the
    addresses in such a table are where those people are, whatever the table is said to be
    about. None when the claim stands (any other subject only keeps or adds protection)."""
    if claimed != "place":
        return None
    found = infer(columns)
    return found if found.describes == "person" else None

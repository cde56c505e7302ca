"""Search by English names and keywords, and the node-editable synonym list 同义词 applied to
queries (packaged list, replaced by ``<data dir>/synonyms.yaml``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import SYSTEM, create_org
from yaosu.catalog import search
from yaosu.catalog.service import resource_service
from yaosu.config import get_settings
from yaosu.demo.catalog import ENGLISH, RESOURCES


def names(session: Any, q: str) -> list[str]:
    return [r.name for r in resource_service.search(session, SYSTEM, q, {}, 50, 0).items]


@pytest.fixture
def node_synonyms() -> Iterator[Path]:
    path = Path(get_settings().data_dir) / search.SYNONYMS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    assert not path.exists()
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@pytest.fixture
def city(session: Any) -> dict[str, Any]:
    mzj, jtj = create_org(session, "民政局"), create_org(session, "交通运输局")
    made = {
        "homes": create_resource(
            session,
            mzj,
            publish=True,
            name="养老机构名录",
            classification_code="20102001",
            name_en="Elderly care institutions",
            keywords=["养老", "elderly care", "nursing homes"],
            summary="全市养老机构的名称、地址和床位数。",
        ),
        "stops": create_resource(
            session,
            jtj,
            publish=True,
            name="公共交通站点信息",
            classification_code="20301002",
            name_en="Public transport stops",
            keywords=["出行", "transit"],
            summary="站点名称和线路。",
        ),
        "people": create_resource(session, mzj, publish=True),  # 常住人口基本信息
    }
    session.flush()
    return made


def test_english_names_and_keywords_are_searched(session: Any, city: dict[str, Any]) -> None:
    assert names(session, "elderly") == ["养老机构名录"]
    assert names(session, "Nursing Homes") == ["养老机构名录"]  # keyword, any case
    assert names(session, "TRANSIT") == ["公共交通站点信息"]
    assert names(session, "public transport") == ["公共交通站点信息"]
    assert names(session, "transport elderly") == []  # every word must match


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("老人", "养老机构名录"),  # 老人 → 养老
        ("老年人", "养老机构名录"),
        ("公交", "公共交通站点信息"),  # 公交 → 公共交通
        ("公交站点", "公共交通站点信息"),
        ("bus", "公共交通站点信息"),  # English key → Chinese words
        ("户口", "常住人口基本信息"),  # 户口 → 户籍 (keyword)
    ],
)
def test_packaged_synonyms_widen_queries(
    session: Any, city: dict[str, Any], query: str, found: str
) -> None:
    assert found in names(session, query)
    # Without the synonym list, the query as typed does not find it.
    assert all(search.terms(v) for v in search.expand(query))
    assert len(search.expand(query, {})) == 1


def test_synonyms_do_not_widen_to_unrelated_entries(session: Any, city: dict[str, Any]) -> None:
    assert names(session, "老人") == ["养老机构名录"]
    assert names(session, "公交 老人") == []  # each part must still match the same entry
    assert names(session, "busy") == []  # latin keys match whole words only


def test_node_file_replaces_the_packaged_list(
    session: Any, city: dict[str, Any], node_synonyms: Path
) -> None:
    assert names(session, "长者") == []
    node_synonyms.write_text("长者: [养老]\nSeniors: 养老\n", encoding="utf-8")
    assert names(session, "长者") == ["养老机构名录"]
    assert names(session, "seniors") == ["养老机构名录"]  # keys are case-insensitive
    assert names(session, "老人") == []  # the packaged entry is replaced, not merged
    # Edited again: picked up without a restart.
    node_synonyms.write_text("老人: [养老]\n", encoding="utf-8")
    assert names(session, "长者") == []
    assert names(session, "老人") == ["养老机构名录"]


@pytest.mark.parametrize(
    "text",
    [
        "- 老人\n- 养老\n",  # a list, not a mapping
        "老人: [养老\n",  # broken YAML
        "老人: {a: 1}\n",  # words that are not words
        "\xff\xfe",  # not UTF-8 when written as bytes below
    ],
)
def test_a_broken_node_file_falls_back_to_the_packaged_list(
    session: Any, city: dict[str, Any], node_synonyms: Path, text: str
) -> None:
    if text == "\xff\xfe":
        node_synonyms.write_bytes(b"\xff\xfe\x00")
    else:
        node_synonyms.write_text(text, encoding="utf-8")
    assert names(session, "老人") == ["养老机构名录"]  # never a 500, never everything


def test_expansion_is_bounded_and_safe() -> None:
    table = {f"词{i}": [f"义{i}a", f"义{i}b", "-"] for i in range(10)}
    variants = search.expand("".join(table), table)
    assert len(variants) == search.MAX_ALTERNATIVES and variants[0] == "".join(table)
    # Replacement text is literal (no regex group references).
    assert search.expand("bus", {"bus": [r"\1\g<0>"]}) == ["bus", r"\1\g<0>"]
    assert search.parse_synonyms("老人: 老人\n") == {}  # a word is not its own synonym
    assert search.parse_synonyms("") == {}
    with pytest.raises(ValueError):
        search.parse_synonyms("[1, 2]")


def test_demo_city_resources_have_english_names_and_keywords() -> None:
    codes = {r.code for r in RESOURCES}
    assert codes == set(ENGLISH)
    assert all(name and words for name, words in ENGLISH.values())

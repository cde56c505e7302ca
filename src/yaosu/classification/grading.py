"""The grading rule table 分级规则表: parsed and checked from YAML, then evaluated without I/O.

The table maps each detected type to a personal-information class and lists ordered rules; the
first rule whose conditions all hold proposes the dataset's grade (GB/T 43697-2024). A node can
replace any top-level section with its own file (``YAOSU_GRADING_RULES`` or
``<data dir>/grading.yaml``); a broken table is refused with the place of the problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from yaosu.classification.rules import GRADES, PI_CLASSES
from yaosu.kit.canonical import digest
from yaosu.kit.errors import Invalid

CONDITIONS = ("catalog", "any_type", "pi_class", "min_rows", "domains")
PI_RANK = {"sensitive": 2, "general": 1, "none": 0}


@dataclass(frozen=True)
class Rule:
    id: str
    grade: str
    when: Mapping[str, Any]
    any_type: frozenset[str]
    reason_en: str
    reason_zh: str


@dataclass(frozen=True)
class RuleTable:
    name: str
    types: Mapping[str, Mapping[str, str]]
    groups: Mapping[str, frozenset[str]]  # expanded to plain type codes
    rules: tuple[Rule, ...]
    digest: str
    source: str

    def pi_class(self, type_code: str | None, contains: Iterable[str] = ()) -> str:
        """The personal-information class of a field of this type (free text: of its contents)."""
        if type_code is None:
            return "none"
        found = [self.types[type_code]["pi_class"]]
        if type_code == "free_text":
            found += [self.types[t]["pi_class"] for t in contains if t in self.types]
        return max(found, key=PI_RANK.__getitem__)


@dataclass(frozen=True)
class DatasetFacts:
    """What the rules look at: the fields' effective types and classes, scale, domain, catalog."""

    types: frozenset[str]
    pi_classes: frozenset[str]
    rows: int
    domains: frozenset[str]
    catalog: frozenset[str] = frozenset()  # kinds of matched catalog entries: important, core


@dataclass(frozen=True)
class Proposal:
    grade: str
    rule_id: str
    reason_en: str
    reason_zh: str
    matched: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "rule_id": self.rule_id,
            "reason": self.reason_en,
            "reason_zh": self.reason_zh,
            "matched": list(self.matched),
        }


def _bad(source: str, where: str, problem: str, problem_zh: str) -> Invalid:
    return Invalid(
        f"Grading rule table {source}: {where}: {problem}",
        f"分级规则表 {source}：{where}：{problem_zh}",
        code="invalid_rule_table",
        source=source,
        where=where,
    )


def _expand_groups(raw: Any, known: set[str], source: str) -> dict[str, frozenset[str]]:
    if not isinstance(raw, dict):
        raise _bad(source, "groups", "must be a mapping of name to list", "应为名称到列表的映射")
    done: dict[str, frozenset[str]] = {}

    def expand(name: str, path: tuple[str, ...]) -> frozenset[str]:
        if name in path:
            cycle = " → ".join((*path, name))
            raise _bad(source, f"groups.{name}", f"cycle {cycle}", f"分组循环引用 {cycle}")
        if name in done:
            return done[name]
        if name not in raw:
            raise _bad(
                source, f"groups.{path[-1]}", f"unknown group {name!r}", f"未知分组 {name!r}"
            )
        members = raw[name]
        if not isinstance(members, list):
            raise _bad(source, f"groups.{name}", "must be a list", "应为列表")
        out: set[str] = set()
        for m in members:
            if isinstance(m, str) and m.startswith("group:"):
                out |= expand(m[6:], (*path, name))
            elif m in known:
                out.add(m)
            else:
                raise _bad(source, f"groups.{name}", f"unknown type {m!r}", f"未知类型 {m!r}")
        done[name] = frozenset(out)
        return done[name]

    for name in raw:
        expand(str(name), ())
    return done


def _type_list(
    value: Any, known: set[str], groups: Mapping[str, frozenset[str]], source: str, where: str
) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise _bad(source, where, "must be a non-empty list", "应为非空列表")
    out: set[str] = set()
    for item in value:
        if isinstance(item, str) and item.startswith("group:"):
            if item[6:] not in groups:
                raise _bad(source, where, f"unknown group {item[6:]!r}", f"未知分组 {item[6:]!r}")
            out |= groups[item[6:]]
        elif item in known:
            out.add(item)
        else:
            raise _bad(source, where, f"unknown type {item!r}", f"未知类型 {item!r}")
    return frozenset(out)


def parse(data: Any, known_types: Iterable[str], source: str = "<table>") -> RuleTable:
    """Check a rule table (already parsed from YAML) and compile it."""
    known = set(known_types)
    if not isinstance(data, dict):
        raise _bad(source, "top level", "must be a mapping", "顶层应为映射")
    types = data.get("types")
    if not isinstance(types, dict):
        raise _bad(source, "types", "missing or not a mapping", "缺失或不是映射")
    checked: dict[str, dict[str, str]] = {}
    for code, spec in types.items():
        where = f"types.{code}"
        if code not in known:
            raise _bad(source, where, f"unknown type {code!r}", f"未知类型 {code!r}")
        if not isinstance(spec, dict) or spec.get("pi_class") not in PI_CLASSES:
            raise _bad(
                source,
                where,
                f"pi_class must be one of {', '.join(PI_CLASSES)}",
                f"pi_class 应为 {'、'.join(PI_CLASSES)} 之一",
            )
        checked[code] = {"pi_class": spec["pi_class"], "basis": str(spec.get("basis", ""))}
    missing = sorted(known - set(checked))
    if missing:
        raise _bad(
            source,
            "types",
            f"no class for {', '.join(missing)}",
            f"缺少以下类型的类别：{'、'.join(missing)}",
        )
    groups = _expand_groups(data.get("groups", {}), known, source)
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise _bad(source, "rules", "missing or empty", "缺失或为空")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, r in enumerate(raw_rules):
        where = f"rules[{i}]"
        if not isinstance(r, dict) or not isinstance(r.get("id"), str):
            raise _bad(source, where, "needs an id", "缺少 id")
        where = f"rules[{i}] ({r['id']})"
        if r["id"] in seen:
            raise _bad(source, where, "duplicate id", "id 重复")
        seen.add(r["id"])
        if r.get("grade") not in GRADES:
            raise _bad(
                source,
                where,
                f"grade must be one of {', '.join(GRADES)}",
                f"grade 应为 {'、'.join(GRADES)} 之一",
            )
        when = r.get("when") or {}
        if not isinstance(when, dict):
            raise _bad(source, where, "when must be a mapping", "when 应为映射")
        unknown = sorted(set(when) - set(CONDITIONS))
        if unknown:
            raise _bad(
                source,
                where,
                f"unknown condition {', '.join(unknown)}",
                f"未知条件 {'、'.join(unknown)}",
            )
        _check_condition_values(when, source, where)
        any_type = (
            _type_list(when["any_type"], known, groups, source, f"{where}.any_type")
            if "any_type" in when
            else frozenset()
        )
        reason = r.get("reason") or {}
        rules.append(
            Rule(
                id=r["id"],
                grade=r["grade"],
                when=dict(when),
                any_type=any_type,
                reason_en=str(reason.get("en", r["id"])),
                reason_zh=str(reason.get("zh", reason.get("en", r["id"]))),
            )
        )
    if rules[-1].when:
        raise _bad(
            source,
            "rules",
            "the last rule must have no conditions (the default grade)",
            "最后一条规则应无条件（默认级别）",
        )
    body = {"types": checked, "groups": {k: sorted(v) for k, v in groups.items()}}
    body["rules"] = [
        {"id": r.id, "grade": r.grade, "when": r.when, "reason": [r.reason_en, r.reason_zh]}
        for r in rules
    ]
    return RuleTable(
        name=str(data.get("name", source)),
        types=checked,
        groups=groups,
        rules=tuple(rules),
        digest=digest(body),
        source=source,
    )


def _check_condition_values(when: Mapping[str, Any], source: str, where: str) -> None:
    if "catalog" in when and when["catalog"] not in ("important", "core"):
        raise _bad(
            source, where, "catalog must be important or core", "catalog 应为 important 或 core"
        )
    if "pi_class" in when and when["pi_class"] not in PI_CLASSES:
        raise _bad(source, where, "unknown pi_class", "未知的个人信息类别")
    if "min_rows" in when and (
        not isinstance(when["min_rows"], int) or isinstance(when["min_rows"], bool)
    ):
        raise _bad(source, where, "min_rows must be an integer", "min_rows 应为整数")
    if "domains" in when and (
        not isinstance(when["domains"], list)
        or not all(isinstance(d, str) for d in when["domains"])
    ):
        raise _bad(source, where, "domains must be a list of names", "domains 应为名称列表")


def matches(rule: Rule, facts: DatasetFacts) -> bool:
    w = rule.when
    if "catalog" in w and w["catalog"] not in facts.catalog:
        return False
    if rule.any_type and not rule.any_type & facts.types:
        return False
    if "pi_class" in w:
        need = PI_RANK[w["pi_class"]]
        if not any(PI_RANK[c] >= need for c in facts.pi_classes):
            return False
    if "min_rows" in w and facts.rows < w["min_rows"]:
        return False
    return not ("domains" in w and not set(w["domains"]) & facts.domains)


def propose(table: RuleTable, facts: DatasetFacts) -> Proposal:
    """The first matching rule decides; the others that also match are listed for the reviewer."""
    hits = [r for r in table.rules if matches(r, facts)]
    first = hits[0]  # the last rule is unconditional, so there is always one
    return Proposal(
        grade=first.grade,
        rule_id=first.id,
        reason_en=first.reason_en,
        reason_zh=first.reason_zh,
        matched=tuple(r.id for r in hits),
    )


def load_text(text: str, known_types: Iterable[str], source: str) -> RuleTable:
    return parse(_yaml(text, source), known_types, source)


def _yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _bad(source, "YAML", str(exc).replace("\n", " "), "YAML 语法错误") from exc


def default_text() -> str:
    return resources.files("yaosu.classification").joinpath("grading.yaml").read_text("utf-8")


def load(known_types: Iterable[str], override: Path | None = None) -> RuleTable:
    """The shipped table, with the node's file (if any) replacing whole top-level sections."""
    data = _yaml(default_text(), "grading.yaml")
    source = "grading.yaml"
    if override is not None:
        try:
            text = override.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _bad(str(override), "file", f"cannot be read: {exc}", "无法读取") from exc
        node = _yaml(text, str(override))
        if not isinstance(node, dict):
            raise _bad(str(override), "top level", "must be a mapping", "顶层应为映射")
        data.update(node)
        source = str(override)
    return parse(data, known_types, source)


def facts_for(
    table: RuleTable,
    fields: Sequence[tuple[str | None, Sequence[str], str | None]],
    rows: int,
    domains: Iterable[str],
    catalog: Iterable[str] = (),
) -> DatasetFacts:
    """Facts from fields given as (type, contains, pi_class override or None)."""
    types: set[str] = set()
    classes: set[str] = set()
    for type_code, contains, pi_override in fields:
        if type_code:
            types.add(type_code)
            if type_code == "free_text":
                types |= {t for t in contains if t in table.types}
        classes.add(pi_override or table.pi_class(type_code, contains))
    return DatasetFacts(
        types=frozenset(types),
        pi_classes=frozenset(classes),
        rows=rows,
        domains=frozenset(d for d in domains if d),
        catalog=frozenset(catalog),
    )

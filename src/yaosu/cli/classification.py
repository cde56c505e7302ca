"""`yaosu resource classification|review|export` and `yaosu important-data …`: classification,
grading review and de-identified export from the node's shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from yaosu.catalog.rules import DESCRIBES
from yaosu.catalog.service import dataset_service, resource_service
from yaosu.classification import rules, schemas
from yaosu.classification.service import (
    classification_service,
    important_data_service,
    masking_service,
)
from yaosu.cli.catalog import resource_app
from yaosu.cli.common import command_unit, console, id_column, list_table
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Invalid, NotFound
from yaosu.kit.wording import fill

# As the API endpoints declare them (classification/endpoints.py); the services check the rest.
EDIT = ("data_officer", "cdo", "platform_admin")
GRADE = ("data_officer", "cdo", "reviewer", "platform_admin")
AUTHORITY = ("reviewer", "platform_admin")

DESCRIBES_SOURCES = {"declared": "目录声明", "inferred": "按字段推断", "reviewed": "人工更正"}

ENTRY_STATES = {"active": "有效", "retired": "已废止"}  # as the workspace names them

important_app = typer.Typer(
    help="The important-data catalog 重要数据目录 (data authority).", no_args_is_help=True
)


def _version_id(session: Any, subject: Subject, resource: str, number: int | None) -> str:
    res = resource_service.get(session, subject, resource)
    versions = dataset_service.versions(session, subject, res.id)
    for v in versions:
        if (number is None and v.id == res.current_version_id) or v.number == number:
            return v.id
    raise NotFound(
        f"Resource {resource} has no version {number or '(current)'}.",
        f"数据资源 {resource} 没有版本 {number or '（当前）'}。",
        code="version_not_found",
    )


def _show(vc: Any) -> None:
    zh, en = rules.GRADES[vc.grade]
    pzh, _ = rules.GRADES[vc.proposed_grade]
    console.print(
        f"grade {vc.grade} {zh} ({en}) — {rules.REVIEW_STATES[vc.status]}; "
        f"proposed {vc.proposed_grade} {pzh}: {vc.proposal.get('reason_zh', '')}"
    )
    said = DESCRIBES.get(vc.describes or "", "未知")
    console.print(
        f"rows describe 描述对象: {vc.describes or '—'} {said} "
        f"({DESCRIBES_SOURCES.get(vc.describes_source or '', '—')})",
        soft_wrap=True,
    )
    table = Table(title=fill("{n} {n|row|rows}", n=f"{vc.rows:,}"))
    for col in ("column", "type", "class", "confidence", "valid", "status"):
        table.add_column(col, overflow="fold")
    for f in vc.fields:
        kind = f.type or "—"
        if f.contains:
            kind += f" ({', '.join(f.contains)})"
        table.add_row(
            f.column,
            kind,
            rules.PI_CLASSES[f.pi_class][0],
            f"{f.confidence:.3f}",
            f"{f.valid:,}/{f.non_null:,}",
            rules.REVIEW_STATES[f.status],
        )
    console.print(table)
    for f in vc.fields:  # the why, below the table so the table fits a terminal
        console.print(f"  {f.column}: {f.review_reason or f.reason_zh}", soft_wrap=True)


@resource_app.command("classification")
def resource_classification(
    resource: str = typer.Argument(..., help="Resource id or code."),
    version: int | None = typer.Option(None, help="Version number (default: current)."),
    rerun: bool = typer.Option(False, help="Classify the version again first."),
) -> None:
    """Show each field's detected type and class and the dataset's grade 分类分级."""
    with command_unit(write=rerun, roles=EDIT if rerun else None) as (session, subject):
        vid = _version_id(session, subject, resource, version)
        vc = (
            classification_service.classify(session, subject, vid)
            if rerun
            else classification_service.get(session, subject, vid)
        )
        _show(vc)


@resource_app.command("review")
def resource_review(
    resource: str = typer.Argument(..., help="Resource id or code."),
    column: str | None = typer.Option(None, help="Review this field (else the grade)."),
    type: str | None = typer.Option(None, "--type", help="Correct the field's type ('none')."),
    pi_class: str | None = typer.Option(None, help="sensitive, general or none."),
    grade: str | None = typer.Option(None, help="core, important, general_4 … general_1."),
    describes: str | None = typer.Option(
        None,
        help="Correct what a row describes 描述对象: person, organization, place, event, other.",
    ),
    reason: str | None = typer.Option(None, help="Required for any correction."),
    version: int | None = typer.Option(None, help="Version number (default: current)."),
) -> None:
    """Accept or correct a field's classification, what the rows describe, or the grade."""
    with command_unit(roles=EDIT if column else GRADE) as (session, subject):
        vid = _version_id(session, subject, resource, version)
        if describes:
            vc = classification_service.review_describes(
                session, subject, vid, schemas.DescribesReview(describes=describes, reason=reason)
            )
        elif column:
            vc = classification_service.review_field(
                session,
                subject,
                vid,
                schemas.FieldReview(column=column, type=type, pi_class=pi_class, reason=reason),
            )
        else:
            current = classification_service.get(session, subject, vid)
            vc = classification_service.review_grade(
                session,
                subject,
                vid,
                schemas.GradeReview(grade=grade or current.proposed_grade, reason=reason),
            )
        _show(vc)


@resource_app.command("export")
def resource_export(
    resource: str = typer.Argument(..., help="Resource id or code."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file."),
    policy: str = typer.Option(
        "default",
        help="Saved policy name or id, a JSON file of rules, or 'default' (from classification).",
    ),
    format: str | None = typer.Option(None, help="csv, json or parquet (default: from --out)."),
    version: int | None = typer.Option(None, help="Version number (default: current)."),
) -> None:
    """Export a de-identified 脱敏 copy of a version under a masking policy."""
    fmt = format or out.suffix.lstrip(".").lower() or "csv"
    if fmt not in ("csv", "json", "parquet"):
        raise typer.BadParameter("format must be csv, json or parquet", param_hint="--format")
    inline = None
    name: str | None = policy
    if policy.endswith(".json"):
        try:
            inline = json.loads(Path(policy).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(f"cannot read {policy}: {exc}", param_hint="--policy") from exc
        inline = inline.get("rules", inline) if isinstance(inline, dict) else inline
        if not isinstance(inline, dict):
            raise typer.BadParameter("the JSON must be an object of rules", param_hint="--policy")
        name = None
    if out.exists():
        raise typer.BadParameter(f"{out} exists; choose another file", param_hint="--out")
    with command_unit() as (session, subject):
        vid = _version_id(session, subject, resource, version)
        result = masking_service.export(
            session, subject, vid, name, inline, fmt, dest=out.resolve()
        )
    rows = fill("{n} {n|row|rows}", n=f"{result.rows:,}")
    console.print(f"wrote {out}: {rows}, sha256 {result.sha256}")


@important_app.command("list")
def important_list(
    all: bool = typer.Option(False, "--all", help="Include retired entries."),
) -> None:
    """List the important-data catalog."""
    with command_unit(write=False) as (session, subject):
        rows, total = important_data_service.listing(
            session, subject, None if all else "active", 500, 0
        )
        table = list_table(
            fill("important-data catalog: {n} {n|entry|entries}", n=total),
            id_column("id"),
            "sector",
            "name",
            "kind",
            "matches",
            "status",
        )
        for e in rows:
            matches = ", ".join([*e.code_prefixes, *e.resource_codes, *e.keywords])
            table.add_row(
                e.id, e.sector, e.name, e.kind, matches, ENTRY_STATES.get(e.status, e.status)
            )
    console.print(table)


@important_app.command("add")
def important_add(
    sector: str = typer.Option(..., help="Sector 行业领域, e.g. 政务."),
    name: str = typer.Option(..., help="Entry name."),
    kind: str = typer.Option("important", help="important or core."),
    code_prefix: list[str] = typer.Option([], help="Classification code prefix (repeat)."),
    resource_code: list[str] = typer.Option([], help="Resource code (repeat)."),
    keyword: list[str] = typer.Option([], help="Keyword matched in names (repeat)."),
    region: str | None = typer.Option(None, help="Region code."),
    basis: str | None = typer.Option(None, help="Legal basis."),
) -> None:
    """Add an entry to the important-data catalog."""
    if kind not in ("important", "core"):
        raise typer.BadParameter("kind must be important or core", param_hint="--kind")
    with command_unit(roles=AUTHORITY) as (session, subject):
        try:
            data = schemas.ImportantEntryCreate(
                sector=sector,
                name=name,
                kind=kind,
                code_prefixes=code_prefix,
                resource_codes=resource_code,
                keywords=keyword,
                region_code=region,
                basis=basis,
            )
        except ValueError as exc:
            raise Invalid(str(exc), str(exc), code="invalid_entry") from exc
        entry = important_data_service.create(session, subject, data)
        console.print(f"added {entry.id}")

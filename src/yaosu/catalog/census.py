"""Census 普查 and resource ledger 资源台账 (CAT-3): counts, CSV/Excel export, acceptance check."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.orm import Session

from yaosu.catalog import repository as repo
from yaosu.catalog import rules, schemas
from yaosu.identity.subject import Subject
from yaosu.kit import spreadsheet
from yaosu.kit.timeutil import iso

LEDGER_COLUMNS = [
    ("code", "资源代码"),
    ("name", "资源名称"),
    ("provider", "提供单位"),
    ("classification_code", "分类代码"),
    ("base_library", "基础库"),
    ("share_attribute", "共享属性"),
    ("open_attribute", "开放属性"),
    ("update_cycle", "更新周期"),
    ("format", "资源格式"),
    ("source_system", "来源系统"),
    ("authoritative", "一数一源"),
    ("status", "状态"),
    ("registration_code", "登记编码"),
    ("ingested", "已汇聚"),
    ("published_at", "发布时间"),
]


def counts(session: Session, subject: Subject, org_id: str | None) -> dict[str, Any]:
    return repo.census_counts(session, subject, org_id)


def systems(session: Session, subject: Subject) -> list[str]:
    """The information systems the subject's readable resources come from: what the project
    acceptance check can be asked about."""
    return repo.source_systems(session, subject)


def ledger_rows(session: Session, subject: Subject, org_id: str | None) -> list[list[str]]:
    resources = repo.ledger_rows(session, subject, org_id)
    ingested = repo.has_versions(session, [r.id for r in resources])
    rows = []
    for r in resources:
        rows.append(
            [
                r.code,
                r.name,
                r.provider.name,
                r.classification_code,
                rules.BASE_LIBRARIES.get(r.base_library or "", ""),
                rules.SHARE_ATTRIBUTES.get(r.share_attribute or "", ""),
                rules.OPEN_ATTRIBUTES.get(r.open_attribute or "", ""),
                rules.UPDATE_CYCLES.get(r.update_cycle or "", ""),
                rules.FORMATS.get(r.format or "", ""),
                r.source_system or "",
                "是" if r.authoritative else "否",
                rules.STATES.get(r.status, r.status),
                r.registration_code or "",
                "是" if r.id in ingested else "否",
                iso(r.published_at) if r.published_at else "",
            ]
        )
    return rows


def export(
    session: Session, subject: Subject, org_id: str | None, fmt: str
) -> tuple[bytes, str, str]:
    header = [zh for _, zh in LEDGER_COLUMNS]
    rows = ledger_rows(session, subject, org_id)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        # For Excel and WPS: a cell they would read as a formula gets a ' in front
        # (kit.spreadsheet; names and other text come from users).
        writer.writerow([spreadsheet.neutralise_cell(v) for v in header])
        writer.writerows([spreadsheet.neutralise_cell(v) for v in row] for row in rows)
        # UTF-8 with BOM so that Excel opens Chinese text correctly.
        return buf.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8", "resource-ledger.csv"
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("资源台账")
    # Text is written as string cells, never as a formula (kit.spreadsheet.xlsx_row).
    ws.append(spreadsheet.xlsx_row(ws, list(header)))
    for row in rows:
        ws.append(spreadsheet.xlsx_row(ws, list(row)))
    out = io.BytesIO()
    wb.save(out)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return out.getvalue(), media, "resource-ledger.xlsx"


def acceptance(session: Session, subject: Subject, system: str) -> schemas.Acceptance:
    resources = repo.resources_of_system(session, subject, system)
    ingested = repo.has_versions(session, [r.id for r in resources])
    items = [
        schemas.AcceptanceItem(
            resource_id=r.id,
            code=r.code,
            name=r.name,
            catalogued=r.status == "published",
            ingested=r.id in ingested,
            registered=r.registration_code is not None,
        )
        for r in resources
    ]
    problems = []
    if not items:
        problems.append(
            f"No resource is catalogued for the system {system!r}. 该系统未编制资源目录。"
        )
    for i in items:
        missing = [
            w
            for w, ok in (
                ("not published 未发布", i.catalogued),
                ("no data ingested 未汇聚数据", i.ingested),
                ("not registered 未登记", i.registered),
            )
            if not ok
        ]
        if missing:
            problems.append(f"{i.code} {i.name}: {', '.join(missing)}")
    return schemas.Acceptance(
        system=system, resources=items, passed=not problems, problems=problems
    )

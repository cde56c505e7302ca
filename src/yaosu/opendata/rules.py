"""Pure open-data rules: what is listed, what is downloadable, how an application is routed.

A resource is **listed** on the portal when it is published and its open attribute is
无条件开放 or 有条件开放; 不予开放 never appears. It is **downloadable** without an account only
when it is 无条件开放, has data, and is not graded core or important data (those are never
opened as rows, whatever their attribute says). Conditional resources show their metadata and
are applied for. No I/O here.
"""

from __future__ import annotations

from typing import Any

from yaosu.kit.errors import Invalid
from yaosu.policy import model as policy_model
from yaosu.sharing.rules import Route

LISTED_OPEN = ("unconditional", "conditional")
CLOSED_GRADES = frozenset({"core", "important"})
FORMATS: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
# "CSV for Excel": the CSV with a UTF-8 byte-order mark, so Excel reads Chinese text correctly.
# A distribution of its own (own file, SHA-256 and ledger entry) beside the plain CSV, which
# stays BOM-free for programs; CKAN and DCAT list the three machine formats above.
EXCEL_CSV = "csv-excel"
# CSVs whose header row is the catalog's information-item labels 信息项名称 (中文表头: what a
# person opening the file expects) instead of the column names (what programs expect). Each is a
# distribution of its own beside its CSV: own file, SHA-256 and ledger entry, keyed by the
# labels too, so a relabelled catalog entry gets a new file rather than a stale one.
LABELLED: dict[str, str] = {"csv-labels": "csv", "csv-excel-labels": EXCEL_CSV}
HEADERS = ("names", "labels")
DOWNLOAD_FORMATS: dict[str, str] = {
    **FORMATS,
    EXCEL_CSV: "text/csv; charset=utf-8",
    "csv-labels": "text/csv; charset=utf-8",
    "csv-excel-labels": "text/csv; charset=utf-8",
}
UTF8_BOM = b"\xef\xbb\xbf"
# The CSVs for people to open in a spreadsheet (Excel, WPS): a header or text cell a spreadsheet
# would evaluate as a formula (=, +, -, @, tab, CR, full-width ＝＋－＠ …) gets a ' in front
# (kit.spreadsheet). The plain ``csv`` (and JSON, Parquet) carries the values as they are.
SPREADSHEET_FORMATS = frozenset({EXCEL_CSV, "csv-labels", "csv-excel-labels"})
# The version of that rule, part of these files' key: a file written under an older rule (or
# none) is never served again; the next download writes and records a new one.
CELL_RULE = "formula-quote-1"
# Who may apply for conditional open data (government units use government sharing instead).
APPLICANT_KINDS = frozenset({"enterprise", "institution", "individual", "operator"})
# Purposes an application may name: the policy vocabulary, commercial uses included.
PURPOSES: dict[str, str] = {code: zh for code, (zh, _) in policy_model.PURPOSES.items()}
REUSE_KINDS: dict[str, str] = {
    "app": "应用",
    "paper": "论文",
    "visualization": "可视化",
    "other": "其他",
}
# Units that hold public data answer public demands: government departments and public
# institutions, not enterprises or operators (which have no public data of their own).
ANSWERING_ORG_KINDS = frozenset({"government", "institution"})
DEMAND_STATES: dict[str, str] = {"open": "待答复", "answered": "已答复", "declined": "暂不开放"}
REUSE_STATES: dict[str, str] = {"pending": "待审核", "shown": "已展示", "rejected": "未通过"}


def is_listed(status: str, open_attribute: str | None) -> bool:
    return status == "published" and open_attribute in LISTED_OPEN


def is_downloadable(
    status: str, open_attribute: str | None, grade: str | None, has_data: bool
) -> bool:
    return (
        status == "published"
        and open_attribute == "unconditional"
        and grade not in CLOSED_GRADES
        and has_data
    )


def check_format(fmt: str) -> str:
    if fmt not in DOWNLOAD_FORMATS:
        raise Invalid(
            f"Unknown download format {fmt[:40]!r}; choose {', '.join(DOWNLOAD_FORMATS)}.",
            f"未知的下载格式 {fmt[:40]!r}，可选 {'、'.join(DOWNLOAD_FORMATS)}。",
            code="unknown_format",
            allowed=list(DOWNLOAD_FORMATS),
        )
    return fmt


def extension(fmt: str) -> str:
    """The file name ending of a download format (the Excel CSV is still a ``.csv``)."""
    base = LABELLED.get(fmt, fmt)
    ending = "excel.csv" if base == EXCEL_CSV else base
    return f"{ending[:-4]}.labels.csv".lstrip(".") if fmt in LABELLED else ending


def with_header(fmt: str, header: str | None) -> str:
    """The download format a ``?header=`` choice names: ``labels`` turns a CSV into its
    labelled twin (``csv`` → ``csv-labels``); ``names`` (the default) leaves it."""
    check_format(fmt)
    if header in (None, "", "names"):
        return fmt
    if header != "labels":
        raise Invalid(
            f"Unknown header {header[:40]!r}; choose names or labels.",
            f"未知的表头 {header[:40]!r}，可选 names（字段名）或 labels（中文名称）。",
            code="unknown_header",
            allowed=list(HEADERS),
        )
    if fmt in LABELLED:
        return fmt
    twin = next((k for k, v in LABELLED.items() if v == fmt), None)
    if twin is None:
        raise Invalid(
            f"Only CSV downloads carry a header row of labels, not {fmt}.",
            f"只有 CSV 下载可使用中文表头，{fmt} 不支持。",
            code="header_not_supported",
            allowed=list(LABELLED.values()),
        )
    return twin


def header_labels(columns: list[str], fields: list[dict[str, Any]]) -> dict[str, str]:
    """The header of a labelled CSV: each column's information-item label 信息项名称 from the
    catalog, its name where it has none; a label two columns share is told apart by the name
    (``地址（dz）``)."""
    labels = {str(f.get("name")): str(f.get("label_zh") or "").strip() for f in fields}
    chosen = {c: labels.get(c) or c for c in columns}
    counts: dict[str, int] = {}
    for label in chosen.values():
        counts[label] = counts.get(label, 0) + 1
    return {
        c: (f"{label}（{c}）" if counts[label] > 1 and label != c else label)
        for c, label in chosen.items()
    }


def datastore_resource_id(dataset_id: str, fmt: str = "csv") -> str:
    """The CKAN resource id of a dataset's open file in ``fmt`` (``<dataset id>-<format>``):
    what ``/api/3/action/datastore_search`` and ``resource_show`` take as ``resource_id``."""
    return f"{dataset_id}-{fmt}"


def route_application(
    *, open_attribute: str | None, grade: str | None, applicant_kind: str, research: bool
) -> Route:
    """不予开放 and core/important data are refused; unconditional data needs no application;
    the research route is for institutions (universities, institutes); the rest is reviewed by
    the provider and then the data authority, never approved automatically."""
    if open_attribute == "none" or open_attribute is None:
        return Route(
            "refuse",
            "not_open",
            "The resource is not open (不予开放).",
            "该资源不予开放。",
        )
    if grade in CLOSED_GRADES:
        return Route(
            "refuse",
            f"{grade}_data",
            f"The resource is graded {grade} data; it is not opened as rows.",
            "该资源为核心或重要数据，不以原始数据形式开放。",
        )
    if open_attribute == "unconditional":
        return Route(
            "refuse",
            "open_without_application",
            "The resource is open without conditions: download it or use the open API.",
            "该资源为无条件开放，可直接下载或调用开放接口，无需申请。",
        )
    if research and applicant_kind != "institution":
        return Route(
            "refuse",
            "research_route_institutions_only",
            "The research route is for universities and research institutions.",
            "科研通道仅面向高校和科研机构。",
        )
    return Route("review")


def check_application(purpose: str, research: bool, research_plan: str | None) -> None:
    if purpose not in PURPOSES:
        raise Invalid(
            f"Unknown purpose {purpose!r}; use one of {', '.join(PURPOSES)}.",
            f"未知用途 {purpose!r}，可选：{'、'.join(PURPOSES.values())}。",
            code="unknown_purpose",
            allowed=list(PURPOSES),
        )
    if research and purpose != "scientific_research":
        raise Invalid(
            "The research route is for the purpose scientific_research.",
            "科研通道的用途须为「科学研究」。",
            code="research_purpose_required",
        )
    if research and len((research_plan or "").strip()) < 20:
        raise Invalid(
            "The research route needs a research plan (at least 20 characters).",
            "科研通道须提交研究方案（不少于 20 字）。",
            code="research_plan_required",
        )


def clean_text(value: Any, limit: int) -> str:
    """User text as stored: stripped and cut to ``limit`` characters (templates escape it)."""
    return str(value or "").strip()[:limit]

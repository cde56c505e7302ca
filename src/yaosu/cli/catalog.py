"""`yaosu resource …` and `yaosu census …`: the catalog from the node's shell."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from yaosu.catalog import census, rules
from yaosu.catalog.service import dataset_service, resource_service
from yaosu.catalog.tasks import accept_version, reject_version, rollback, run_in_session
from yaosu.cli.common import command_unit, console, err_console, list_table, name_column
from yaosu.kit.timeutil import local_text, zone_label
from yaosu.kit.wording import fill

resource_app = typer.Typer(help="Data resources 数据资源.", no_args_is_help=True)
census_app = typer.Typer(help="Census 普查 and resource ledger 资源台账.", no_args_is_help=True)


@resource_app.command("list")
def resource_list(
    q: str | None = typer.Option(None, help="Search words, Chinese or English."),
    limit: int = typer.Option(20, min=1, max=200),
    offset: int = typer.Option(0, min=0),
) -> None:
    """Search the catalog."""
    with command_unit(write=False) as (session, subject):
        res = resource_service.search(session, subject, q, {}, limit, offset)
        table = list_table(
            f"resources {offset + 1}-{offset + len(res.items)} of {res.total}",
            {"header": "code", "no_wrap": True, "min_width": 15},
            name_column("name"),
            "status",
            "share",
            "open",
            "registration",
        )
        for r in res.items:
            table.add_row(
                r.code,
                r.name,
                rules.STATES[r.status],
                rules.SHARE_ATTRIBUTES.get(r.share_attribute or "", ""),
                rules.OPEN_ATTRIBUTES.get(r.open_attribute or "", ""),
                r.registration_code or "",
            )
    console.print(table)


@resource_app.command("ingest")
def resource_ingest(
    resource: str = typer.Argument(..., help="Resource id or code (e.g. 10101001/000001)."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    format: str | None = typer.Option(None, help="csv, tsv, xlsx, json, ndjson or parquet."),
    encoding: str | None = typer.Option(
        None,
        help="Override detection: utf-8, gbk, gb18030, big5, shift_jis, utf-16 (a file refused "
        "as mojibake is read with the encoding given).",
    ),
    sheet: str | None = typer.Option(None, help="Excel sheet (default: the first)."),
) -> None:
    """Ingest FILE as a new immutable version of RESOURCE, with a progress bar."""
    size = file.stat().st_size
    with command_unit() as (session, subject):
        res = resource_service.get(session, subject, resource)
        options = {
            k: v for k, v in (("format", format), ("encoding", encoding), ("sheet", sheet)) if v
        }
        job = dataset_service.create_job(
            session,
            subject,
            res.id,
            "upload",
            {"path": str(file.resolve()), "filename": file.name, "keep": True, **options},
        )
        columns = [
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]:,} rows"),
            TimeRemainingColumn(),
        ]
        with Progress(*columns, console=err_console) as bar:
            task = bar.add_task(f"ingesting {file.name}", total=size, rows=0)

            def progress(rows: int, nbytes: int) -> None:
                bar.update(task, completed=min(nbytes, size), rows=rows)

            job = run_in_session(session, job.id, progress)
            bar.update(task, completed=size)
        if job.status != "succeeded":
            err = job.error or {}
            err_console.print(
                f"[red]error[/red] ({err.get('code')}): {err.get('message')}\n"
                f"  {err.get('message_zh')}"
            )
        else:
            version = dataset_service.version(session, subject, job.version_id or "")
            console.print(
                fill("version {v}: {n} {n|row|rows}, ", v=version.number, n=f"{version.rows:,}")
                + f"sha256 {version.sha256}"
            )
            for c in version.columns:
                note = f"  ({c['reason']})" if c.get("reason") else ""
                console.print(f"  {c['name']}: {c['type']}{note}")
            if version.state == "staged":
                why = ", ".join(r.get("code", "") for r in version.review_reasons or [])
                console.print(
                    f"staged for review 待审核 ({why}); the current version is still served"
                )
            elif version.decision == "automatic":
                console.print("accepted automatically 已自动接受: it is now current")
    if job.status != "succeeded":
        raise typer.Exit(1)


STATE_WORDS = {
    "staged": "staged 待审核",
    "accepted": "accepted 已接受",
    "rejected": "rejected 已驳回",
}


@resource_app.command("versions")
def resource_versions(
    resource: str = typer.Argument(..., help="Resource id or code."),
) -> None:
    """List RESOURCE's dataset versions with their state; the current one is marked *."""
    with command_unit(write=False) as (session, subject):
        res = resource_service.get(session, subject, resource)
        versions = dataset_service.versions(session, subject, res.id)
        table = Table(title=f"versions of {res.code}")
        created = f"created ({zone_label()})"  # the node's local time
        for col in ("", "number", "id", "state", "decision", "rows", created, "why / reason"):
            table.add_column(col)
        for v in versions:
            why = "; ".join(r.get("code", "") for r in v.review_reasons or [])
            table.add_row(
                "*" if v.id == res.current_version_id else "",
                str(v.number),
                v.id,
                STATE_WORDS.get(v.state, v.state),
                v.decision or "",
                f"{v.rows:,}",
                local_text(v.created_at, offset=False),
                why or (v.decision_reason or ""),
            )
    console.print(table)


@resource_app.command("accept-version")
def resource_accept_version(
    version: str = typer.Argument(..., help="The staged version's id (see `resource versions`)."),
    reason: str | None = typer.Option(None, help="A note for the ledger (optional)."),
) -> None:
    """Accept a staged version (reviewers): it becomes current and is served."""
    with command_unit(write=True) as (session, subject):
        accepted = accept_version(session, subject, version, reason)
        console.print(f"version {accepted.number} ({accepted.id}) accepted; it is now current")


@resource_app.command("reject-version")
def resource_reject_version(
    version: str = typer.Argument(..., help="The staged version's id."),
    reason: str = typer.Option("", help="Why (required; goes into the ledger)."),
) -> None:
    """Reject a staged version with a reason (reviewers): it is never served."""
    with command_unit(write=True) as (session, subject):
        rejected = reject_version(session, subject, version, reason)
        console.print(f"version {rejected.number} ({rejected.id}) rejected")


@resource_app.command("rollback")
def resource_rollback(
    resource: str = typer.Argument(..., help="Resource id or code."),
    version: str = typer.Argument(..., help="The version to serve again: its number or id."),
    reason: str = typer.Option("", help="Why (required; goes into the ledger)."),
) -> None:
    """Point RESOURCE back to an earlier accepted version (reviewers, or the provider's chief
    data officer); grants, open data and the portal then serve it."""
    with command_unit(write=True) as (session, subject):
        res = resource_service.get(session, subject, resource)
        target = version
        if version.isdigit():
            numbered = {
                str(v.number): v.id for v in dataset_service.versions(session, subject, res.id)
            }
            target = numbered.get(version, version)
        back = rollback(session, subject, res.id, target, reason)
        console.print(f"{res.code} now serves version {back.number} ({back.id})")


@census_app.command("export")
def census_export(
    out: Path = typer.Option(Path("resource-ledger.xlsx"), help="Output file (.csv or .xlsx)."),
    org: str | None = typer.Option(None, help="One unit's ledger (organization id)."),
) -> None:
    """Export the resource ledger 资源台账."""
    fmt = "csv" if out.suffix.lower() == ".csv" else "xlsx"
    with command_unit(write=False) as (session, subject):
        body, _, _ = census.export(session, subject, org, fmt)
    out.write_bytes(body)
    console.print(f"wrote {out} ({len(body):,} bytes)")

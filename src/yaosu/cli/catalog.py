"""`yaosu resource …` and `yaosu census …`: the catalog from the node's shell."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from yaosu.catalog import census, rules
from yaosu.catalog.service import dataset_service, resource_service
from yaosu.catalog.tasks import run_in_session
from yaosu.cli.common import command_unit, console, err_console

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
        table = Table(title=f"resources {offset + 1}-{offset + len(res.items)} of {res.total}")
        for col in ("code", "name", "status", "share", "open", "registration"):
            table.add_column(col)
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
    encoding: str | None = typer.Option(None, help="Override detection: utf-8, gbk, gb18030."),
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
                f"version {version.number}: {version.rows:,} rows, sha256 {version.sha256}"
            )
            for c in version.columns:
                note = f"  ({c['reason']})" if c.get("reason") else ""
                console.print(f"  {c['name']}: {c['type']}{note}")
    if job.status != "succeeded":
        raise typer.Exit(1)


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

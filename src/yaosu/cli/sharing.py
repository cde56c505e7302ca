"""`yaosu share …` and `yaosu grant …`: share requests, their review, and grants from the
node's shell. Decisions and grant changes act as a named user (``yaosu --as USERNAME``), checked
by the sharing service as for an API call; the lists read as that user, or as the node."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from yaosu.cli.common import (
    command_unit,
    console,
    id_column,
    list_table,
    name_column,
    org_names,
    resource_names,
)
from yaosu.kit.timeutil import local_date_text
from yaosu.sharing import rules, schemas
from yaosu.sharing.service import grant_service, overdue, request_service

share_app = typer.Typer(help="Share requests 共享申请.", no_args_is_help=True)
grant_app = typer.Typer(help="Grants 授权 and their usage.", no_args_is_help=True)


@share_app.command("list")
def share_list(
    status: str | None = typer.Option(None, help=f"One of {', '.join(rules.REQUEST_STATES)}."),
    limit: int = typer.Option(50, min=1, max=500),
    offset: int = typer.Option(0, min=0),
) -> None:
    """List share requests, overdue ones flagged."""
    with command_unit(write=False) as (session, subject):
        rows, total = request_service.list(
            session, subject, role=None, status=status, limit=limit, offset=offset
        )
        resources = resource_names(session, subject, [r.resource_id for r in rows])
        orgs = org_names(session, subject, [r.consumer_id for r in rows])
        table = list_table(
            f"share requests {offset + 1}-{offset + len(rows)} of {total}",
            id_column("id"),
            name_column("resource"),
            name_column("consumer"),
            "status",
            "purpose",
        )
        for r in rows:
            table.add_row(
                r.id,
                resources.get(r.resource_id, r.resource_id),
                orgs.get(r.consumer_id, r.consumer_id),
                rules.REQUEST_STATES[r.status]
                + (" (自动)" if r.auto_approved else "")
                + (" 逾期" if overdue(r) else ""),
                rules.PURPOSES.get(r.purpose, r.purpose),
            )
    console.print(table)


@share_app.command("decide")
def share_decide(
    request_id: str = typer.Argument(...),
    approve: bool = typer.Option(..., "--approve/--reject"),
    reason: str | None = typer.Option(None, help="Required to reject."),
    narrowing: str | None = typer.Option(
        None, help='JSON, e.g. \'{"fields": ["xm"], "rows_per_day": 1000}\''
    ),
) -> None:
    """Decide the request at its current stage (provider, then data authority)."""
    try:
        narrow = schemas.Narrowing(**json.loads(narrowing)) if narrowing else None
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--narrowing") from exc
    with command_unit() as (session, subject):
        req = request_service.decide(
            session,
            subject,
            request_id,
            schemas.Decision(approve=approve, reason=reason, narrowing=narrow),
        )
        console.print(f"{req.id}: {rules.REQUEST_STATES[req.status]}  grant {req.grant_id or '—'}")


@grant_app.command("list")
def grant_list(
    status: str | None = typer.Option(None, help="active, suspended or revoked."),
    limit: int = typer.Option(50, min=1, max=500),
) -> None:
    """List grants."""
    with command_unit(write=False) as (session, subject):
        rows, total = grant_service.list(
            session, subject, role=None, status=status, limit=limit, offset=0
        )
        resources = resource_names(session, subject, [g.resource_id for g in rows])
        orgs = org_names(session, subject, [g.consumer_id for g in rows])
        table = list_table(
            f"grants: {total}",
            id_column("id"),
            name_column("resource"),
            name_column("consumer"),
            "status",
            "until",
        )
        for g in rows:
            table.add_row(
                g.id,
                resources.get(g.resource_id, g.resource_id),
                orgs.get(g.consumer_id, g.consumer_id),
                rules.GRANT_STATES[g.status],
                local_date_text(g.not_after),  # the last day, in the node's zone
            )
    console.print(table)


def _change(grant_id: str, target: str, reason: str) -> None:
    with command_unit() as (session, subject):
        g = grant_service.change(session, subject, grant_id, target, reason)
        console.print(f"{g.id}: {rules.GRANT_STATES[g.status]}")


@grant_app.command("suspend")
def grant_suspend(grant_id: str, reason: str = typer.Option(...)) -> None:
    """Suspend a grant (the next call is refused)."""
    _change(grant_id, "suspended", reason)


@grant_app.command("resume")
def grant_resume(grant_id: str, reason: str = typer.Option(...)) -> None:
    """Resume a suspended grant."""
    _change(grant_id, "active", reason)


@grant_app.command("revoke")
def grant_revoke(grant_id: str, reason: str = typer.Option(...)) -> None:
    """Revoke a grant for good."""
    _change(grant_id, "revoked", reason)


@grant_app.command("usage")
def grant_usage(grant_id: str, days: int = typer.Option(30, min=1, max=366)) -> None:
    """Calls, rows, bytes and refusals per day."""
    with command_unit(write=False) as (session, subject):
        usage = grant_service.usage(session, subject, grant_id, days)
    table = Table(title=f"usage of {grant_id}")
    for col in ("day", "calls", "rows", "bytes", "refusals"):
        table.add_column(col)
    for d in usage.days:
        refusals = ", ".join(f"{k}: {v}" for k, v in sorted(d.refusals.items()))
        table.add_row(d.day, f"{d.calls:,}", f"{d.rows:,}", f"{d.bytes:,}", refusals)
    console.print(table)

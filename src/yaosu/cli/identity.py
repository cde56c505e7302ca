"""`yaosu org|user|token …`: identity administration from the node's shell, as a named user
(``yaosu --as USERNAME``) with the roles the matching API endpoints require; while the node has
no active platform admin, the node itself may create organizations and users (setting up)."""

from __future__ import annotations

import typer

from yaosu.cli.common import command_unit, console, id_column, list_table, one_line
from yaosu.identity import rules, schemas
from yaosu.identity.service import org_service, token_service, user_service
from yaosu.kit.timeutil import local_date_text, local_text

# As the API endpoints declare them (identity/endpoints.py).
ADMINS = ("platform_admin",)
REVIEWERS = ("platform_admin", "reviewer")
USER_ADMINS = ("platform_admin", "cdo")

org_app = typer.Typer(help="Organizations 机构.", no_args_is_help=True)
user_app = typer.Typer(help="Users 用户.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens 令牌.", no_args_is_help=True)


@org_app.command("list")
def org_list(
    kind: str | None = typer.Option(None, help=f"One of: {', '.join(rules.ORG_KINDS)}."),
    limit: int = typer.Option(50, min=1, max=200),
    offset: int = typer.Option(0, min=0),
) -> None:
    """List organizations."""
    with command_unit(write=False) as (session, subject):
        items, total = org_service.list(session, subject, kind=kind, limit=limit, offset=offset)
        table = list_table(
            f"organizations {offset + 1}-{offset + len(items)} of {total}",
            id_column("id"),
            "name",
            "kind",
            "level",
            "status",
        )
        for o in items:
            table.add_row(o.id, o.name, o.kind, o.gov_level or "", _status_name(o.status))
    console.print(table)


@org_app.command("create")
def org_create(
    name: str = typer.Argument(..., help="Name, e.g. 示范市公安局."),
    kind: str = typer.Option(..., help=f"One of: {', '.join(rules.ORG_KINDS)}."),
    gov_level: str | None = typer.Option(
        None, help=f"Government units: {', '.join(rules.GOV_LEVELS)}."
    ),
    parent: str | None = typer.Option(None, help="Parent organization id."),
    uscc: str | None = typer.Option(None, help="Unified social credit code 统一社会信用代码."),
    name_en: str | None = typer.Option(None, help="English name."),
    service_type: list[str] = typer.Option([], help="Service providers: repeat for each type."),
) -> None:
    """Register an organization (with its DID and key pair)."""
    with command_unit(roles=ADMINS, bootstrap=True) as (session, subject):
        org = org_service.create(
            session,
            subject,
            schemas.OrgCreate(
                name=name,
                name_en=name_en,
                kind=kind,
                gov_level=gov_level,
                parent_id=parent,
                uscc=uscc,
                service_types=service_type,
            ),
        )
        one_line(f"created {org.id}  {org.did}")


def _status_name(status: str) -> str:
    return rules.ORG_STATUS_NAMES.get(status, (status, status))[0]


def _status(org_id: str, target: str, reason: str) -> None:
    with command_unit(roles=REVIEWERS) as (session, subject):
        org = org_service.change_status(session, subject, org_id, target, reason)
        console.print(f"{org.name}: {_status_name(org.status)}")


@org_app.command("suspend")
def org_suspend(
    org_id: str, reason: str = typer.Option(..., help="Why (recorded in the ledger).")
) -> None:
    """Suspend an organization: its users can do nothing until resumed."""
    _status(org_id, "suspended", reason)


@org_app.command("resume")
def org_resume(
    org_id: str, reason: str = typer.Option(..., help="Why (recorded in the ledger).")
) -> None:
    """Resume a suspended organization."""
    _status(org_id, "active", reason)


@user_app.command("create")
def user_create(
    username: str,
    org: str = typer.Option(..., help="Organization id."),
    role: list[str] = typer.Option(["member"], help=f"Repeat per role: {', '.join(rules.ROLES)}."),
    display_name: str | None = typer.Option(None),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a user."""
    with command_unit(roles=USER_ADMINS, bootstrap=True) as (session, subject):
        user = user_service.create(
            session,
            subject,
            schemas.UserCreate(
                username=username,
                display_name=display_name or username,
                password=password,
                org_id=org,
                roles=role,
            ),
        )
        console.print(f"created user {user.id} ({user.username})")


@user_app.command("list")
def user_list(
    org: str | None = typer.Option(None, help="Organization id."),
    limit: int = typer.Option(50, min=1, max=200),
    offset: int = typer.Option(0, min=0),
) -> None:
    """List users."""
    with command_unit(write=False) as (session, subject):
        items, total = user_service.list(session, subject, org_id=org, limit=limit, offset=offset)
        table = list_table(
            f"users {offset + 1}-{offset + len(items)} of {total}",
            id_column("id"),
            "username",
            "roles",
            "organization",
            "active",
        )
        for u in items:
            table.add_row(
                u.id,
                u.username,
                "、".join(rules.ROLES.get(r, r) for r in u.role_names),  # names, as in the UI
                u.org.name,
                "yes" if u.is_active else "no",
            )
    console.print(table)


@user_app.command("deactivate")
def user_deactivate(user_id: str) -> None:
    """Disable a user and revoke their tokens."""
    with command_unit(roles=USER_ADMINS) as (session, subject):
        user = user_service.deactivate(session, subject, user_id)
        console.print(f"{user.username} disabled")


@token_app.command("create")
def token_create(
    user: str = typer.Option(..., help="Username that will own the token."),
    name: str = typer.Option(..., help="What the token is for."),
    scope: list[str] = typer.Option(..., help=f"Repeat per scope: {', '.join(rules.SCOPES)}."),
    days: int = typer.Option(90, min=1, max=730, help="Days until it expires."),
) -> None:
    """Create an API token for a user; the secret is printed once."""
    with command_unit() as (session, subject):
        token, secret = token_service.create_for(
            session,
            subject,
            user,
            schemas.TokenCreate(name=name, scopes=scope, expires_in_days=days),
        )
        expires = local_text(token.expires_at)
        console.print(f"token {token.id} expires {expires}; secret (shown once):")
        print(secret)


@token_app.command("list")
def token_list(
    limit: int = typer.Option(50, min=1, max=200), offset: int = typer.Option(0, min=0)
) -> None:
    """List API tokens (never their secrets)."""
    with command_unit(write=False) as (session, subject):
        items, total = token_service.list(session, subject, limit, offset)
        table = list_table(
            f"tokens {offset + 1}-{offset + len(items)} of {total}",
            id_column("id"),
            "name",
            "user",
            "scopes",
            "expires",
            "revoked",
        )
        for t in items:
            table.add_row(
                t.id,
                t.name,
                t.user.username,
                " ".join(t.scopes),
                local_date_text(t.expires_at),
                local_date_text(t.revoked_at, empty=""),
            )
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke a token with immediate effect."""
    with command_unit() as (session, subject):
        token_service.revoke(session, subject, token_id)
        console.print(f"revoked {token_id}")

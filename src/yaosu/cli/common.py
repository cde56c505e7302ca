"""What every command shares: one unit of work, who it acts as, error printing.

A command that changes state acts as a named user (``yaosu --as USERNAME …`` or
``YAOSU_CLI_USER``), built and checked like an API caller; a read-only command may run without
one and then reads as the node itself, but such a unit is watched and refused if it tries to
write. The few node-operator commands (migrate, demo, ledger signing) use ``node_unit`` and are
listed in docs/identity.md.

Heavy modules (SQLAlchemy, the services, the config) are imported inside the functions so that
``yaosu --help`` and the command tree stay cheap to start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from yaosu.identity.subject import Subject
    from yaosu.kit.errors import YaosuError

console = Console()
err_console = Console(stderr=True)

# The user named by ``--as`` for this invocation (set by the root callback).
acting: ContextVar[str | None] = ContextVar("yaosu_cli_user", default=None)

# Statements that change the database; a WITH … is looked into for one.
_WRITE = re.compile(
    r"^\s*(insert|update|delete|merge|replace|upsert|create|drop|alter|truncate|grant|revoke|"
    r"copy|vacuum|reindex|comment|lock)\b",
    re.IGNORECASE,
)
_CTE_WRITE = re.compile(r"^\s*with\b.*\b(insert|update|delete|merge)\b", re.IGNORECASE | re.DOTALL)


def acting_username() -> str | None:
    """The user this command acts as: ``--as`` on the root command, else YAOSU_CLI_USER."""
    named = acting.get()
    if not named:
        from yaosu.config import get_settings

        named = get_settings().cli_user
    named = (named or "").strip()
    return named or None


def user_required() -> YaosuError:
    from yaosu.kit.errors import Unauthenticated

    return Unauthenticated(
        "This command changes state, so it must act as a named user: put --as USERNAME before "
        "the command (yaosu --as officer.gaj resource ingest …) or set YAOSU_CLI_USER=USERNAME.",
        "此命令会变更数据，必须以具名用户身份执行：在命令前加 --as 用户名"
        "（如 yaosu --as officer.gaj resource ingest …），或设置环境变量 YAOSU_CLI_USER=用户名。",
        code="cli_user_required",
    )


class _WriteWatch:
    """Notices any statement of this session's transaction that would change the database."""

    def __init__(self, session: Session) -> None:
        from sqlalchemy import event

        self.wrote = False
        self._event = event
        if session.in_transaction():
            self._watch(session.connection())
        event.listen(session, "after_begin", self._begun)

    def _begun(self, _session: Any, _transaction: Any, connection: Any) -> None:
        self._watch(connection)

    def _watch(self, connection: Any) -> None:
        if not self._event.contains(connection, "before_cursor_execute", self._statement):
            self._event.listen(connection, "before_cursor_execute", self._statement)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if _WRITE.match(statement) or _CTE_WRITE.match(statement):
            self.wrote = True


def _subject(
    session: Session, write: bool, roles: Iterable[str] | None, bootstrap: bool
) -> Subject:
    from yaosu.identity import rules
    from yaosu.identity.service import auth_service
    from yaosu.identity.subject import Subject

    username = acting_username()
    if username is not None:
        subject = auth_service.acting_user(session, username, via="cli")
        if roles is not None:
            rules.require_roles(subject.roles, roles)
        return subject
    if write and not (bootstrap and not auth_service.admin_exists(session)):
        raise user_required()
    return Subject.system(via="cli")


def acting_subject(session: Session, roles: Iterable[str] | None = None) -> Subject:
    """The named user, checked (for a node-operator command that needs one in some cases)."""
    return _subject(session, True, roles, False)


def print_error(exc: YaosuError) -> None:
    err_console.print(
        f"[red]error[/red] {exc.status} ({escape(exc.code)}): {escape(exc.message)}\n"
        f"  {escape(exc.message_zh)}"
    )


@contextmanager
def command_unit(
    write: bool = True, *, roles: Iterable[str] | None = None, bootstrap: bool = False
) -> Iterator[tuple[Session, Subject]]:
    """One transaction for the command, acting as the named user (checked like an API caller,
    with ``roles`` as the matching endpoint declares them). Without a user a write is refused
    (``cli_user_required``) and a read runs as the node, refused too if it writes anything.
    ``bootstrap``: the node itself may run it while no active platform admin exists (setting
    up). A domain error is printed in both languages, exit 1."""
    from pydantic import ValidationError

    from yaosu.db import unit_of_work
    from yaosu.kit.errors import YaosuError

    try:
        with unit_of_work(write=write) as session:
            subject = _subject(session, write, roles, bootstrap)
            watch = _WriteWatch(session) if subject.is_system and not write else None
            yield session, subject
            if watch is not None:
                session.flush()  # what the commit would write, the watch sees now
                if watch.wrote:
                    raise user_required()  # rolls the unit back
    except YaosuError as exc:
        print_error(exc)
        raise typer.Exit(1) from exc
    except ValidationError as exc:  # a command's input, checked by the service's schema
        print_error(invalid_input(exc))
        raise typer.Exit(1) from exc


def invalid_input(exc: Any) -> YaosuError:
    from yaosu.kit.errors import Invalid
    from yaosu.kit.validation import explain

    message, message_zh, _ = explain(exc.errors())
    return Invalid(message, message_zh, code="invalid_input")


@contextmanager
def node_unit(write: bool = True) -> Iterator[Session]:
    """One transaction for a node-operator command that acts as the node itself, with no user
    (migrations, the demo city, the ledger's own key and checkpoints): see docs/identity.md for
    the list and why each is one. It gives no subject, so no domain service is called through
    it."""
    from yaosu.db import unit_of_work
    from yaosu.kit.errors import YaosuError

    try:
        with unit_of_work(write=write) as session:
            yield session
    except YaosuError as exc:
        print_error(exc)
        raise typer.Exit(1) from exc


def one_line(text: str) -> None:
    """Print a command or path the reader copies: on one line, never wrapped by rich."""
    console.print(text, soft_wrap=True, highlight=False, markup=False)


# --- lists that fit an 80-column terminal --------------------------------------------------------
ID_WIDTH = 26  # kit.ids.new_id(): an id is copied whole into the next command, never folded


def id_column(header: str) -> dict[str, Any]:
    """A column of ids: never wrapped or cut, so it can be copied."""
    return {"header": header, "no_wrap": True, "min_width": ID_WIDTH, "overflow": "ignore"}


def name_column(header: str) -> dict[str, Any]:
    """A column of names: twice the share of the other columns, folded onto more lines."""
    return {"header": header, "weight": 2}


def list_table(title: str, *columns: str | dict[str, Any]) -> Any:
    """A rich table for a list that fits the terminal (80 columns included): ids kept whole,
    the other columns given their share of the width and folded onto more lines. The shares are
    set here as each column's maximum rather than left to rich, whose own shrinking of columns
    drops a double-width (Chinese) character at a fold."""
    from rich import box
    from rich.table import Table

    specs: list[dict[str, Any]] = [
        {"header": c} if isinstance(c, str) else dict(c) for c in columns
    ]
    fixed = sum(spec.get("min_width", 0) for spec in specs if spec.get("no_wrap"))
    flexible = [spec for spec in specs if not spec.get("no_wrap")]
    free = console.width - 2 - 3 * (len(specs) - 1) - fixed  # edges, then gaps between columns
    weights = sum(spec.get("weight", 1) for spec in flexible) or 1
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    for spec in specs:
        weight = spec.pop("weight", 1)
        if not spec.get("no_wrap"):
            spec.setdefault("overflow", "fold")
            share = free * weight // weights
            spec.setdefault("max_width", max(4, len(spec["header"]), share))
        table.add_column(**spec)
    return table


def resource_names(session: Session, subject: Subject, ids: Iterable[str]) -> dict[str, str]:
    """Resource id → name, for the resources of ``ids`` the subject may see."""
    from yaosu.catalog.service import resource_service
    from yaosu.kit.errors import Forbidden, NotFound

    names: dict[str, str] = {}
    for rid in dict.fromkeys(ids):
        try:
            names[rid] = resource_service.get(session, subject, rid).name
        except (NotFound, Forbidden):
            continue
    return names


def org_names(session: Session, subject: Subject, ids: Iterable[str]) -> dict[str, str]:
    """Organization id → name, for the units of ``ids`` the subject may see."""
    from yaosu.identity.service import org_service

    return org_service.names(session, subject, sorted(set(ids)))

"""What every command shares: one unit of work, the system subject, error printing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from yaosu.db import unit_of_work
from yaosu.identity.subject import Subject
from yaosu.kit.errors import YaosuError

console = Console()
err_console = Console(stderr=True)


@contextmanager
def command_unit(write: bool = True) -> Iterator[tuple[Session, Subject]]:
    """One transaction for the command; a domain error is printed in both languages, exit 1."""
    try:
        with unit_of_work(write=write) as session:
            yield session, Subject.system(via="cli")
    except YaosuError as exc:
        err_console.print(f"[red]error[/red] ({exc.code}): {exc.message}\n  {exc.message_zh}")
        raise typer.Exit(1) from exc

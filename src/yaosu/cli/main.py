"""`yaosu`: run the node, migrate, and manage organizations, users, tokens and the ledger."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from yaosu.cli import catalog as catalog_cli
from yaosu.cli import classification as classification_cli
from yaosu.cli import identity as identity_cli
from yaosu.cli import ledger as ledger_cli
from yaosu.cli import sharing as sharing_cli
from yaosu.cli.common import command_unit, console
from yaosu.config import get_settings

app = typer.Typer(
    name="yaosu",
    help="Yaosu 要素 — a city's public-data platform. "
    "Run `yaosu up` to start a node with a demo city.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
demo_app = typer.Typer(help="The demo city 示范市.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(identity_cli.org_app, name="org")
app.add_typer(identity_cli.user_app, name="user")
app.add_typer(identity_cli.token_app, name="token")
app.add_typer(ledger_cli.app, name="ledger")
app.add_typer(catalog_cli.resource_app, name="resource")
app.add_typer(catalog_cli.census_app, name="census")
app.add_typer(classification_cli.important_app, name="important-data")
app.add_typer(sharing_cli.share_app, name="share")
app.add_typer(sharing_cli.grant_app, name="grant")


def prepare_data_dir() -> None:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if "://" not in settings.storage_root:
        Path(settings.storage_root).mkdir(parents=True, exist_ok=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from yaosu.db import get_engine
    from yaosu.db.migrate import current_revision, upgrade

    prepare_data_dir()
    engine = get_engine()
    upgrade(engine, revision)
    console.print(f"database at revision [bold]{current_revision(engine)}[/bold]")


@db_app.command("current")
def db_current() -> None:
    """Print the database's current and the code's head revision."""
    from yaosu.db import get_engine
    from yaosu.db.migrate import current_revision, head_revision

    console.print(f"current: {current_revision(get_engine())}  head: {head_revision()}")


@demo_app.command("load")
def demo_load(force: bool = typer.Option(False, help="Load even if organizations exist.")) -> None:
    """Load the demo city into the database."""
    from yaosu.identity.repository import count_orgs

    with command_unit() as (session, _):
        if count_orgs(session) and not force:
            console.print(
                "the database already has organizations; use --force to add the demo anyway"
            )
            raise typer.Exit(1)
        grants = _load_demo(session)
    _exercise_demo(grants)
    print_demo_accounts()


def _exercise_demo(grants: dict[str, str]) -> None:
    """Once the demo is committed: a few real, metered data-service calls."""
    from yaosu.db import get_engine
    from yaosu.db.uow import session_factory
    from yaosu.demo import sharing

    factories = {w: session_factory(get_engine(), write=w) for w in (True, False)}
    sharing.exercise(lambda write: factories[write](), grants)


def _load_demo(session: object) -> dict[str, str]:
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from yaosu.demo import catalog, city, sharing

    columns = (SpinnerColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=True) as p:
        task = p.add_task("loading the demo city 示范市: organizations and accounts …")
        orgs = city.load(session)  # type: ignore[arg-type]
        p.update(task, description="loading the demo catalog: resources and their data …")
        catalog.load(session, orgs, get_settings().data_dir / "demo-data")  # type: ignore[arg-type]
        p.update(task, description="filing the demo share requests and grants …")
        return sharing.load(session, orgs)  # type: ignore[arg-type]


def print_demo_accounts() -> None:
    from yaosu.demo.city import ACCOUNTS

    table = Table(title=f"Demo accounts (password: {get_settings().demo_password})")
    table.add_column("username")
    table.add_column("role")
    table.add_column("organization")
    for a in ACCOUNTS:
        table.add_row(a.username, a.description, a.org)
    console.print(table)


@app.command()
def up(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    demo: bool = typer.Option(True, help="Load the demo city if the database is empty."),
) -> None:
    """Create the data directory, migrate, load the demo city if empty, and serve."""
    import uvicorn

    from yaosu.app import create_app
    from yaosu.db import get_engine
    from yaosu.db.migrate import upgrade
    from yaosu.identity.repository import count_orgs
    from yaosu.ledger.service import ledger_service

    prepare_data_dir()
    settings = get_settings()
    upgrade(get_engine())
    loaded = False
    with command_unit() as (session, _):
        grants = _load_demo(session) if demo and count_orgs(session) == 0 else None
        loaded = grants is not None
    if grants is not None:
        _exercise_demo(grants)
    with command_unit() as (session, _):
        ledger_service.checkpoint(session)
    url = f"http://{host}:{port}"
    console.print(
        f"[bold green]Yaosu 要素[/bold green] serving at {url}  (API docs {url}/api/docs)"
    )
    console.print(
        f"data: {settings.data_dir.resolve()}  "
        f"database: {settings.resolved_database_url.split('@')[-1]}"
    )
    if demo:
        if loaded:
            console.print("demo city 示范市 loaded")
        print_demo_accounts()
    uvicorn.run(create_app(background=True), host=host, port=port, log_level="info")

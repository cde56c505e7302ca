"""`yaosu`: run the node, migrate, and manage organizations, users, tokens and the ledger.

The command groups are imported only when one of them runs (``LAZY_GROUPS``), and every heavy
module inside the command bodies, so that ``yaosu --help`` starts in well under a second.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from yaosu.cli.common import acting, acting_subject, console, node_unit

# name → (help shown by `yaosu --help`, "module:attribute" of its Typer, modules that add
# commands to it). The help must equal the group's own (a test checks).
LAZY_GROUPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "org": ("Organizations 机构.", "yaosu.cli.identity:org_app", ()),
    "user": ("Users 用户.", "yaosu.cli.identity:user_app", ()),
    "token": ("API tokens 令牌.", "yaosu.cli.identity:token_app", ()),
    "ledger": (
        "The transparency ledger 账本 (RFC 9162 Merkle log).",
        "yaosu.cli.ledger:app",
        (),
    ),
    "resource": (
        "Data resources 数据资源.",
        "yaosu.cli.catalog:resource_app",
        ("yaosu.cli.classification",),
    ),
    "census": (
        "Census 普查 and resource ledger 资源台账.",
        "yaosu.cli.catalog:census_app",
        (),
    ),
    "important-data": (
        "The important-data catalog 重要数据目录 (data authority).",
        "yaosu.cli.classification:important_app",
        (),
    ),
    "share": ("Share requests 共享申请.", "yaosu.cli.sharing:share_app", ()),
    "grant": ("Grants 授权 and their usage.", "yaosu.cli.sharing:grant_app", ()),
}


def load_group(name: str) -> Any:
    """The click group of a lazy command group, importing its modules."""
    from typer.main import get_group

    _, target, extra = LAZY_GROUPS[name]
    module, attr = target.split(":")
    sub = getattr(importlib.import_module(module), attr)
    for other in extra:
        importlib.import_module(other)
    group = get_group(sub)  # a group even with one command, as add_typer makes it
    group.name = name
    return group


class LazyRoot(TyperGroup):
    """The root group: lists the lazy groups by their help text alone and imports a group only
    when a command of it is run (or its own help is asked for)."""

    def list_commands(self, ctx: Any) -> list[str]:
        eager = super().list_commands(ctx)
        return [*eager, *(n for n in LAZY_GROUPS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in LAZY_GROUPS:
            # A stand-in for listings (`yaosu --help`); resolve_command loads the real one.
            return TyperGroup(name=cmd_name, help=LAZY_GROUPS[cmd_name][0])
        return found

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in LAZY_GROUPS and args[0] not in self.commands:
            self.add_command(load_group(args[0]), args[0])
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="yaosu",
    cls=LazyRoot,
    help="Yaosu 要素 — a city's public-data platform. "
    "Run `yaosu up` to start a node with a demo city.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
demo_app = typer.Typer(help="The demo city 示范市.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")


@app.callback()
def root(
    as_user: str | None = typer.Option(
        None,
        "--as",
        metavar="USERNAME",
        help="Act as this user: commands that change state need one, checked against the "
        "user's roles like an API call and recorded in the ledger (via cli). "
        "Default: YAOSU_CLI_USER.",
    ),
) -> None:
    acting.set(as_user)


def prepare_data_dir() -> None:
    from yaosu.config import get_settings

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
    """Load the demo city into an empty database (a node-operator command: no user needed).
    Adding it to a node that has organizations (--force) needs a platform admin (--as)."""
    from yaosu.db import get_engine
    from yaosu.db.migrate import upgrade
    from yaosu.identity.repository import count_orgs

    prepare_data_dir()
    upgrade(get_engine())  # a new data directory works at once, as with `yaosu up`
    with node_unit() as session:
        if count_orgs(session):
            if not force:
                console.print(
                    "the database already has organizations; use --force to add the demo anyway"
                )
                raise typer.Exit(1)
            acting_subject(session, roles=("platform_admin",))
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

    from yaosu.config import get_settings
    from yaosu.demo import catalog, city, sharing, work

    columns = (SpinnerColumn(), TextColumn("{task.description}"))
    data_dir = get_settings().data_dir / "demo-data"
    with Progress(*columns, console=console, transient=True) as p:
        task = p.add_task("loading the demo city 示范市: organizations and accounts …")
        orgs = city.load(session)  # type: ignore[arg-type]
        p.update(task, description="loading the demo catalog: resources and their data …")
        catalog.load(session, orgs, data_dir)  # type: ignore[arg-type]
        p.update(task, description="filing the demo share requests and grants …")
        grants = sharing.load(session, orgs)  # type: ignore[arg-type]
        p.update(task, description="leaving work in every workspace queue …")
        work.load(session, orgs, data_dir)  # type: ignore[arg-type]
        return grants


def print_demo_accounts() -> None:
    from rich.table import Table

    from yaosu.config import get_settings
    from yaosu.demo.city import ACCOUNTS

    table = Table(title=f"Demo accounts (password: {get_settings().demo_password})")
    table.add_column("username")
    table.add_column("role")
    table.add_column("organization")
    for a in ACCOUNTS:
        table.add_row(a.username, a.description, a.org)
    console.print(table)


def demo_wanted(flag: bool | None, embedded: bool) -> bool:
    """Whether `yaosu up` loads the demo city into an empty database: as asked, else only on
    the embedded SQLite default."""
    return embedded if flag is None else flag


@app.command()
def up(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    demo: bool | None = typer.Option(
        None,
        "--demo/--no-demo",
        help="Load the demo city if the database is empty. Default: only on the embedded SQLite "
        "database; a PostgreSQL (production) node needs --demo, so it never starts with the "
        "demo accounts and their known password by accident.",
    ),
) -> None:
    """Create the data directory, migrate, load the demo city if empty, and serve."""
    import uvicorn

    from yaosu.app import create_app
    from yaosu.config import get_settings
    from yaosu.db import get_engine
    from yaosu.db.migrate import upgrade
    from yaosu.identity.repository import count_orgs
    from yaosu.ledger.service import ledger_service

    prepare_data_dir()
    settings = get_settings()
    demo = demo_wanted(demo, settings.is_sqlite)
    upgrade(get_engine())
    loaded = False
    with node_unit() as session:
        grants = _load_demo(session) if demo and count_orgs(session) == 0 else None
        loaded = grants is not None
    if grants is not None:
        _exercise_demo(grants)
    with node_unit() as session:
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

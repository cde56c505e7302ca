"""What a SQL pull may open: never the node's own database, data directory or storage, and only
database servers the address policy (``yaosu.kit.netguard``) allows.

The check decides on what the driver will really open, not on the URL's text:

- SQLite: the file name SQLAlchemy hands to ``sqlite3`` (``file:`` URIs with ``uri=true``,
  percent-encoding, relative names against the working directory; SQLite itself never expands
  ``~``) is resolved through symbolic links and compared by device and inode with the node's
  database files (and their ``-wal``, ``-shm``, ``-journal``), and with every file in the data
  directory outside storage (hard links); anything under the data directory or the storage root
  is refused. At run time the checked file is opened read-only by its resolved path, and the
  connection may only read: an authorizer refuses ``ATTACH``, ``VACUUM INTO`` (which writes a
  copy anywhere the node may write), ``PRAGMA`` and every write, and no database can be attached.
- PostgreSQL (psycopg): the connection parameters psycopg would use (URL, ``?host=``,
  ``hostaddr=``, host and port lists, ``dbname=``) are resolved host by host; each address must
  pass the address policy (Unix sockets never do); ``service``/``servicefile``/``passfile`` (they
  read this node's files) and ``sslkeylogfile`` (it writes one) are refused and the node's
  password file is never offered. The connection goes to the checked addresses (``hostaddr``
  pinned). The node's own ``PGPASSWORD`` is never offered either (a pull without a password
  offers a throw-away one). Before the pull's query runs, the server is asked who it is
  (``pg_control_system()``'s system identifier when the role may read it, and its start time and
  port, which every role may read) and which database it serves; the node's own database on its
  own cluster is refused, whatever the URL said, when any of these marks matches (a pull signing
  in as a role that may not read the system identifier still shows the start time). Another
  database on the same cluster stays allowed (another system's store, guarded by its own
  credentials).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sqlite3
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session

from yaosu.config import get_settings
from yaosu.kit import netguard
from yaosu.kit.errors import Forbidden, Invalid, YaosuError

# Connection options that make libpq read (service files, password files) or write
# (``sslkeylogfile``, libpq 18) a file of this node.
REFUSED_OPTIONS = ("service", "servicefile", "passfile", "sslkeylogfile")
SCAN_LIMIT = 10_000  # data-directory files compared by inode (storage is refused by path)


def own_database() -> Forbidden:
    return Forbidden(
        "A pull cannot read this node's own database or data directory.",
        "不能从本节点自身的数据库或数据目录拉取数据。",
        code="pull_forbidden",
        reason="own_database",
    )


def _invalid(detail: str, zh: str | None = None) -> Invalid:
    return Invalid(
        f"Not a database URL: {detail}.", f"数据库地址无效：{zh or detail}。", code="invalid_url"
    )


@dataclass(frozen=True)
class OwnStores:
    """Where this node keeps its own data: database URLs (settings and the live session's),
    the data directory and the storage root."""

    urls: tuple[URL, ...]
    data_dir: Path
    storage_root: Path | None

    @classmethod
    def of(cls, session: Session | None = None) -> OwnStores:
        settings = get_settings()
        urls = [make_url(settings.resolved_database_url)]
        if session is not None:
            bind = session.get_bind()
            urls.append(bind.engine.url if hasattr(bind, "engine") else bind.url)  # type: ignore[union-attr]
        root = settings.storage_root
        return cls(
            tuple(urls),
            settings.data_dir.resolve(),
            None if "://" in root else Path(root).resolve(),
        )


@dataclass(frozen=True)
class CheckedDatabase:
    """A SQL source that passed the check, with what the run-time connection needs."""

    backend: str
    url: URL
    path: Path | None = None  # SQLite: the resolved file
    params: dict[str, Any] = field(default_factory=dict)  # PostgreSQL: psycopg parameters
    dbname: str = ""


# --- SQLite -------------------------------------------------------------------------------------
def _sqlite_candidates(url: URL) -> list[str | None]:
    """The file names SQLite may open for ``url`` (None: an in-memory or temporary database).
    A ``file:`` name is taken both as a URI and as a plain name, whichever SQLite does."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    args, _ = engine.dialect.create_connect_args(engine.url)
    engine.dispose()
    name = str(args[0]) if args else ""
    names: list[str | None] = []
    if name.startswith("file:"):
        names.append(_uri_path(name))
        names.append(os.path.abspath(name))
    elif name in ("", ":memory:"):
        names.append(None)
    else:
        names.append(os.path.abspath(name))
    return names


def _uri_path(uri: str) -> str | None:
    rest, _, query = uri[len("file:") :].partition("?")
    rest = rest.partition("#")[0]
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        if authority not in ("", "localhost"):
            raise _invalid(f"SQLite cannot open the remote file authority {authority!r}")
        rest = slash + path
    params = urllib.parse.parse_qs(query)
    if params.get("mode", [""])[-1] == "memory":
        return None
    path = urllib.parse.unquote(rest)
    if path in ("", ":memory:"):
        return None
    return os.path.abspath(path)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _own_files(own: OwnStores) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    for url in own.urls:
        if url.get_backend_name() != "sqlite" or not url.database:
            continue
        for name in _sqlite_candidates(url):
            if name is None:
                continue
            for suffix in ("", "-wal", "-shm", "-journal"):
                ident = _identity(Path(name + suffix))
                if ident:
                    found.add(ident)
    seen = 0
    for folder, dirs, files in os.walk(own.data_dir):
        if own.storage_root is not None and Path(folder).resolve() == own.storage_root:
            dirs[:] = []
            continue
        for name in files:
            ident = _identity(Path(folder) / name)
            if ident:
                found.add(ident)
            seen += 1
        if seen > SCAN_LIMIT:
            break
    return found


def _check_sqlite(url: URL, own: OwnStores) -> CheckedDatabase:
    names = _sqlite_candidates(url)
    if names[0] is None:
        # An in-memory database holds nothing to pull; refused as before.
        raise own_database()
    own_inodes = _own_files(own)
    roots = [own.data_dir] + ([own.storage_root] if own.storage_root else [])
    for name in names:
        if name is None:
            continue
        resolved = Path(name).resolve()
        if any(resolved.is_relative_to(root) for root in roots):
            raise own_database()
        ident = _identity(resolved)
        if ident is not None and ident in own_inodes:
            raise own_database()
    first = names[0]
    return CheckedDatabase("sqlite", url, path=Path(first).resolve())


def _connect_sqlite(checked: CheckedDatabase, own: OwnStores) -> Any:
    assert checked.path is not None
    # Check again now (the file may have changed since the pull was asked for), then open the
    # checked file itself, read-only: the URL is not interpreted a second time.
    again = _check_sqlite(checked.url, own)
    if again.path != checked.path:
        raise own_database()
    before = _identity(checked.path)
    if before is None:
        raise _invalid(f"the SQLite file {checked.path} does not exist")
    target = "file:" + urllib.parse.quote(str(checked.path)) + "?mode=ro"
    connection = sqlite3.connect(target, uri=True, check_same_thread=False)
    if _identity(checked.path) != before:
        connection.close()
        raise own_database()
    # The query only reads: no ATTACH (another file, the node's own included), no VACUUM INTO
    # (a copy written anywhere), no PRAGMA, no write, no extension.
    connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    connection.set_authorizer(_read_only)
    return connection


_READ_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
_REFUSED_FUNCTIONS = frozenset(
    {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}
)


def _read_only(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    """sqlite3 authorizer of a pull's connection: reads and plain functions only."""
    if action in _READ_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() not in _REFUSED_FUNCTIONS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


# --- PostgreSQL ---------------------------------------------------------------------------------
def _split(value: Any) -> list[str]:
    return [part.strip() for part in str(value).split(",")] if value not in (None, "") else []


def _pg_params(url: URL) -> dict[str, Any]:
    """The connection parameters psycopg would be given for ``url`` (as a flat dict)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    from sqlalchemy import create_engine

    try:
        engine = create_engine(url)
    except (NoSuchModuleError, ImportError) as exc:
        raise _invalid(str(exc)) from exc
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    engine.dispose()
    kwargs.pop("context", None)
    try:
        return dict(conninfo_to_dict(make_conninfo(*args, **kwargs)))
    except Exception as exc:  # psycopg.ProgrammingError: an unknown or malformed option
        raise _invalid(str(exc).strip() or type(exc).__name__) from exc


@dataclass(frozen=True)
class Endpoint:
    host: str  # as written ("" for the default socket)
    address: str  # the checked IP, or "local" for this machine (a socket or loopback)
    port: str
    ip: str = ""  # the checked IP the connection is pinned to ("" for a socket)


def _endpoints(
    params: dict[str, Any], policy: netguard.NetPolicy | None, unresolved_ok: bool
) -> list[Endpoint]:
    """Every server ``params`` may connect to. With a policy, each address is checked."""
    hosts = _split(params.get("host") or os.environ.get("PGHOST", ""))
    addrs = _split(params.get("hostaddr") or os.environ.get("PGHOSTADDR", ""))
    # An empty entry of a port list is the default port, as libpq reads it.
    ports = [p or "5432" for p in _split(params.get("port") or os.environ.get("PGPORT", ""))]
    ports = ports or ["5432"]
    count = max(len(hosts), len(addrs), 1)
    if (hosts and len(hosts) != count) or (addrs and len(addrs) != count):
        raise _invalid("host and hostaddr list different numbers of servers")
    if len(ports) not in (1, count):
        raise _invalid("port lists a different number of servers than host")
    out: list[Endpoint] = []
    for i in range(count):
        host = hosts[i] if hosts else ""
        addr = addrs[i] if addrs else ""
        port = ports[i] if len(ports) > 1 else ports[0]
        if not port.isdigit():
            raise _invalid(f"the port {port!r} is not a number")
        if addr:
            ip = netguard.parse_literal(addr)
            if ip is None:
                raise _invalid(f"hostaddr {addr!r} is not an IP address")
            if policy is not None:
                reason = policy.verdict(ip)
                if reason:
                    raise netguard.AddressRefused(addr, str(ip), reason, code="pull_forbidden")
            out.append(Endpoint(host, _normal(ip), port, _pin(ip)))
        elif not host or host.startswith(("/", "@")):
            if policy is not None:
                raise netguard.AddressRefused(
                    host or "(default socket)",
                    host or "local",
                    "local_socket",
                    code="pull_forbidden",
                )
            out.append(Endpoint(host, "local", port))
        elif policy is None:
            try:
                found = netguard.resolve(host, int(port))
            except netguard.HostUnresolved:
                found = []
            out.extend(Endpoint(host, _normal(ip), port, _pin(ip)) for ip in found)
        else:
            found = netguard.check_host(
                host, int(port), policy, code="pull_forbidden", unresolved_ok=unresolved_ok
            )
            if found:
                out.append(Endpoint(host, _normal(found[0]), port, _pin(found[0])))
            else:
                out.append(Endpoint(host, "", port))
    return out


def _pin(ip: netguard.IPAddress) -> str:
    """The address libpq connects to (``hostaddr``): an IPv4-mapped address as IPv4, no zone."""
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ip.ipv4_mapped or ipaddress.IPv6Address(int(ip)))
    return str(ip)


def _normal(ip: netguard.IPAddress) -> str:
    """Addresses of this machine compare as one: loopback in any form is ``local``."""
    plain = netguard.effective(ip)
    if plain.is_loopback or plain.is_unspecified or str(plain) in _local_addresses():
        return "local"
    return str(plain)


def _local_addresses() -> set[str]:
    import socket

    found = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(str(netguard.effective(ipaddress.ip_address(str(info[4][0])))))
    except OSError:
        pass
    return found


def _dbname(params: dict[str, Any]) -> str:
    name = str(
        params.get("dbname")
        or os.environ.get("PGDATABASE")
        or params.get("user")
        or os.environ.get("PGUSER")
        or ""
    )
    if "=" in name or "://" in name:
        raise _invalid("dbname must name a database, not hold a connection string")
    return name


def _check_postgres(url: URL, own: OwnStores, unresolved_ok: bool) -> CheckedDatabase:
    if url.get_driver_name() != "psycopg":
        raise Invalid(
            f"PostgreSQL pulls use the psycopg driver, not {url.get_driver_name()!r}.",
            f"PostgreSQL 拉取须使用 psycopg 驱动，而非 {url.get_driver_name()!r}。",
            code="unsupported_database",
        )
    params = _pg_params(url)
    for option in REFUSED_OPTIONS:
        if params.get(option):
            raise Forbidden(
                f"A pull may not use the connection option {option!r} (it reads or writes "
                "this node's files).",
                f"拉取不能使用连接参数 {option!r}（它会读写本节点的文件）。",
                code="pull_forbidden",
                reason="connection_option",
                option=option,
            )
    dbname = _dbname(params)
    targets = _endpoints(params, netguard.node_policy(), unresolved_ok)
    for own_url in own.urls:
        if own_url.get_backend_name() != "postgresql":
            continue
        try:
            own_params = _pg_params(own_url)
        except Invalid:
            continue
        if _dbname(own_params) != dbname:
            continue
        mine = {(e.address, e.port) for e in _endpoints(own_params, None, True)}
        if any((t.address, t.port) in mine for t in targets if t.address):
            raise own_database()
    pinned = dict(params)
    if all(t.ip for t in targets):  # every server by its checked address: no second lookup
        pinned["host"] = ",".join(t.host or t.ip for t in targets)
        pinned["hostaddr"] = ",".join(t.ip for t in targets)
        pinned["port"] = ",".join(t.port for t in targets)
    return CheckedDatabase("postgresql", url, params=pinned, dbname=dbname)


IDENTITY_QUERIES = (
    "SELECT current_database(), (SELECT system_identifier::text FROM pg_control_system())",
    "SELECT current_database(), pg_postmaster_start_time()::text || ':' || current_setting('port')",
)


Identity = tuple[str, frozenset[str]]


def server_identity(execute: Callable[[str], Any], rollback: Callable[[], None]) -> Identity:
    """(database, cluster marks) of a PostgreSQL connection: the system identifier when the
    role may read it, and the postmaster's start time and port (any role may read those). Two
    connections reach one cluster when they share a mark, whichever roles they sign in as."""
    database, marks = "", set()
    for query in IDENTITY_QUERIES:
        try:
            row = execute(query)
        except Exception:
            rollback()
            continue
        if row and row[1]:
            database = str(row[0])
            marks.add(str(row[1]))
    return database, frozenset(marks)


def same_database(a: Identity | None, b: Identity | None) -> bool:
    return a is not None and b is not None and a[0] == b[0] and bool(a[1] & b[1])


def own_identity(session: Session) -> Identity | None:
    """The node's own database and cluster marks (None on SQLite)."""
    from sqlalchemy import text

    if session.get_bind().dialect.name != "postgresql":
        return None
    database, marks = "", set()
    for query in IDENTITY_QUERIES:
        nested = session.begin_nested()
        try:
            row = session.execute(text(query)).one()
            nested.commit()
        except Exception:
            nested.rollback()
            continue
        if row[1]:
            database = str(row[0])
            marks.add(str(row[1]))
    return (database, frozenset(marks)) if marks else None


def _connect_postgres(checked: CheckedDatabase, own: OwnStores, own_id: Identity | None) -> Any:
    import psycopg

    again = _check_postgres(checked.url, own, unresolved_ok=False)
    params = {**again.params, "passfile": os.devnull}
    if not params.get("password"):
        # libpq would otherwise answer a password request with the node's own PGPASSWORD (its
        # database password, in clear text if the server asks so): a pull's credentials are
        # the ones in its URL, and without one a throw-away password is offered.
        params["password"] = secrets.token_urlsafe(24)
    params.setdefault("connect_timeout", "10")
    connection = psycopg.connect(**params)
    try:

        def execute(query: str) -> Any:
            with connection.cursor() as cursor:
                cursor.execute(query)
                return cursor.fetchone()

        ident = server_identity(execute, connection.rollback)
        connection.rollback()
        if same_database(ident, own_id):
            raise own_database()
    except BaseException:
        connection.close()
        raise
    return connection


# --- entry points -------------------------------------------------------------------------------
def check(url: str, own: OwnStores, *, unresolved_ok: bool = True) -> CheckedDatabase:
    """Check a SQL pull's URL now (the request or schedule): raises ``invalid_url``,
    ``unsupported_database`` or ``pull_forbidden`` (HostUnresolved at run time). Whatever else
    the URL makes SQLAlchemy, the driver or the file system raise (a NUL byte, a missing driver,
    a malformed query option) is ``invalid_url`` too, never a server error."""
    try:
        return _check(url, own, unresolved_ok)
    except (YaosuError, netguard.HostUnresolved):
        raise
    except (ArgumentError, ValueError, TypeError, ImportError, OSError) as exc:
        raise _invalid(str(exc).strip() or type(exc).__name__) from exc


def _check(url: str, own: OwnStores, unresolved_ok: bool) -> CheckedDatabase:
    try:
        target = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise _invalid(str(exc)) from exc
    backend = target.get_backend_name()
    if backend == "sqlite":
        return _check_sqlite(target, own)
    if backend == "postgresql":
        return _check_postgres(target, own, unresolved_ok)
    raise Invalid(
        f"SQL pulls read SQLite or PostgreSQL, not {backend!r}.",
        f"数据库拉取仅支持 SQLite 或 PostgreSQL，不支持 {backend!r}。",
        code="unsupported_database",
    )


def connector(url: str, own: OwnStores, own_id: Identity | None) -> Callable[[], Any]:
    """A DB-API ``connect()`` for a pull's run: checks again (DNS and files may have changed),
    connects to the checked addresses or file, and refuses the node's own database."""
    checked = check(url, own, unresolved_ok=False)

    def connect() -> Any:
        if checked.backend == "sqlite":
            return _connect_sqlite(checked, own)
        return _connect_postgres(checked, own, own_id)

    return connect

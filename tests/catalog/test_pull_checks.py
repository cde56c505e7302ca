"""What the workspace's pulls page needs from the catalog services: a resource's schedules (for
the provider and the data authority only), the information systems the acceptance check can be
asked about, addresses refused when the pull is asked for, and failures recorded without the
source's password."""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import SYSTEM, create_org, create_user
from tests.fixtures.pulls import pull_allow  # noqa: F401 (the fixture)
from yaosu.catalog import census, schemas
from yaosu.catalog.service import dataset_service, public_params
from yaosu.catalog.tasks import run_in_session
from yaosu.config import get_settings
from yaosu.dataplane.readers import http_source
from yaosu.identity.service import auth_service, token_service
from yaosu.kit.errors import Forbidden, Invalid
from yaosu.kit.netguard import node_policy
from yaosu.ledger.service import ledger_service


def who(session: Any, username: str) -> Any:
    user = auth_service.authenticate(session, username, "correct horse battery")
    return token_service.subject_of(user, frozenset({"catalog:read", "catalog:write"}), None, "t")


def test_schedules_are_listed_for_the_provider_and_the_authority(session: Any) -> None:
    gaj = create_org(session, "公安局")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, create_org(session, "交通局"), "officer.t", "data_officer")
    create_user(session, create_org(session, "大数据局"), "reviewer", "reviewer")
    resource = create_resource(session, gaj, publish=True)
    for cron in ("0 3 * * *", "*/5 * * * *"):
        dataset_service.request_pull(
            session,
            who(session, "officer.g"),
            resource.id,
            schemas.PullCreate(kind="http", url="http://data.example/x.csv", cron=cron),
        )
    mine = dataset_service.schedules(session, who(session, "officer.g"), resource.id)
    assert [s.cron for s in mine] == ["*/5 * * * *", "0 3 * * *"]
    assert len(dataset_service.schedules(session, who(session, "reviewer"), resource.id)) == 2
    with pytest.raises(Forbidden):
        dataset_service.schedules(session, who(session, "officer.t"), resource.id)


def test_the_systems_the_acceptance_check_knows(session: Any) -> None:
    gaj = create_org(session, "公安局")
    create_user(session, create_org(session, "交通局"), "officer.t", "data_officer")
    create_resource(session, gaj, publish=True)  # 人口综合库
    create_resource(session, gaj, name="草稿", source_system="交管业务系统")
    create_resource(session, gaj, name="无来源", source_system=None)
    assert census.systems(session, SYSTEM) == ["交管业务系统", "人口综合库"]
    # Another unit reads only the published catalog.
    assert census.systems(session, who(session, "officer.t")) == ["人口综合库"]


@pytest.mark.parametrize(
    "url",
    ["not a url", "ftp://example.cn/x.csv", "http:///x.csv", "file:///etc/passwd", "http://[::1"],
)
def test_an_http_pull_needs_an_http_address(session: Any, url: str) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    with pytest.raises(Invalid) as exc:
        dataset_service.request_pull(
            session, SYSTEM, resource.id, schemas.PullCreate(kind="http", url=url)
        )
    assert exc.value.code == "invalid_url" and "HTTP" in exc.value.message_zh


def test_a_database_address_with_a_bad_port_is_invalid(session: Any) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    with pytest.raises(Invalid) as exc:
        dataset_service.request_pull(
            session,
            SYSTEM,
            resource.id,
            schemas.PullCreate(kind="sql", url="postgresql+psycopg://u:pw@h:xx/db", table="t"),
        )
    assert exc.value.code == "invalid_url"


def test_a_failure_quoting_the_address_keeps_no_password(session: Any) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    # A name under .example never resolves: the pull is accepted now and fails when it runs.
    url = "http://etl:s3cret-pw@stops.example:9/stops.csv"
    job = dataset_service.request_pull(
        session, SYSTEM, resource.id, schemas.PullCreate(kind="http", url=url)
    )
    failed = run_in_session(session, job.id)
    assert failed.status == "failed" and failed.error["code"] == "pull_failed"
    assert "s3cret-pw" not in str(failed.error)
    assert "etl:***@stops.example:9" in failed.error["message"]
    assert public_params(failed.params)["url"] == "http://etl:***@stops.example:9/stops.csv"
    entries, _ = ledger_service.trail(session, job.id, 10, 0)
    assert all(b"s3cret-pw" not in e.entry for e in entries)


# --- nothing reaches the node's own stores or its loopback services (issue 21) ---------------
def pull(session: Any, resource: Any, **kw: Any) -> Any:
    return dataset_service.request_pull(session, SYSTEM, resource.id, schemas.PullCreate(**kw))


def refused(session: Any, resource: Any, **kw: Any) -> Forbidden:
    with pytest.raises(Forbidden) as exc:
        pull(session, resource, **kw)
    assert exc.value.code == "pull_forbidden"
    return exc.value


def _sqlite_spellings(path: Path, links: Path) -> list[str]:
    double = "".join(f"%25{b:02X}" for b in str(path).encode())
    (links / "link.db").symlink_to(path)
    spellings = [
        f"sqlite:///{path}",
        f"sqlite:///file:{path}?uri=true",
        f"sqlite:///file:{path}?mode=ro&uri=true",
        f"sqlite:///file://localhost{path}?uri=true&cache=private",
        f"sqlite:///file:{double}?uri=true",
        f"sqlite:///{path.parent}/../{path.parent.name}/./{path.name}",
        f"sqlite:///{os.path.relpath(path)}",
        f"sqlite:///{links / 'link.db'}",
        f"sqlite:///file:{links / 'link.db'}?uri=true",
    ]
    try:
        os.link(path, links / "hard.db")
        spellings.append(f"sqlite:///{links / 'hard.db'}")
    except OSError:  # another file system: no hard link possible here
        pass
    return spellings


def test_no_spelling_of_the_nodes_sqlite_files_is_pulled(session: Any, tmp_path: Path) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    own_url = session.get_bind().engine.url
    targets = []
    if own_url.get_backend_name() == "sqlite":
        targets.append(Path(own_url.database))  # the database this test runs on
    inside = get_settings().data_dir / "pull-target.db"  # any file of the data directory
    inside.parent.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(inside).close()
    try:
        targets.append(inside)
        for n, target in enumerate(targets):
            links = tmp_path / f"links{n}"
            links.mkdir()
            for url in _sqlite_spellings(target, links):
                error = refused(session, resource, kind="sql", url=url, table="users")
                assert error.details["reason"] == "own_database", url
                assert "本节点" in error.message_zh
                refused(session, resource, kind="sql", url=url, table="users", cron="0 3 * * *")
    finally:
        inside.unlink()
    assert dataset_service.schedules(session, SYSTEM, resource.id) == []


def test_a_file_swapped_after_the_request_is_refused_when_the_pull_runs(
    session: Any, tmp_path: Path
) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    source = tmp_path / "source.db"
    con = sqlite3.connect(source)
    con.execute("CREATE TABLE t (a TEXT)")
    con.commit()
    con.close()
    link = tmp_path / "today.db"
    link.symlink_to(source)
    job = pull(session, resource, kind="sql", url=f"sqlite:///{link}", table="t")
    link.unlink()
    inside = get_settings().data_dir / "swapped.db"
    sqlite3.connect(inside).close()
    link.symlink_to(inside)
    try:
        failed = run_in_session(session, job.id)
    finally:
        inside.unlink()
    assert failed.status == "failed" and failed.error["code"] == "pull_forbidden"


def test_a_sqlite_pull_opens_the_checked_file_read_only(session: Any, tmp_path: Path) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    source = tmp_path / "source.db"
    con = sqlite3.connect(source)
    con.execute("CREATE TABLE t (a TEXT)")
    con.execute("INSERT INTO t VALUES ('x')")
    con.commit()
    con.close()
    ok = run_in_session(
        session, pull(session, resource, kind="sql", url=f"sqlite:///{source}", table="t").id
    )
    assert ok.status == "succeeded", ok.error
    write = pull(session, resource, kind="sql", url=f"sqlite:///{source}", query="DELETE FROM t")
    assert run_in_session(session, write.id).status == "failed"
    con = sqlite3.connect(source)
    assert con.execute("SELECT count(*) FROM t").fetchone() == (1,)
    con.close()


def _own_pg(session: Any) -> Any:
    url = session.get_bind().engine.url
    if url.get_backend_name() != "postgresql":
        pytest.skip("the node's own database is SQLite in this half")
    return url


def test_no_spelling_of_the_nodes_postgresql_database_is_pulled(session: Any, allow: Any) -> None:
    own = _own_pg(session)
    resource = create_resource(session, create_org(session, "交通局"))
    cred = f"{own.username}" + (f":{own.password}" if own.password else "")
    db, port = own.database, own.port or 5432
    spellings = [
        f"postgresql+psycopg://{cred}@127.0.0.1:{port}/{db}",
        f"postgresql+psycopg://{cred}@localhost:{port}/{db}",
        f"postgresql+psycopg://{cred}@127.0.0.7:{port}/{db}",
        f"postgresql+psycopg://{cred}@[::1]:{port}/{db}",
        f"postgresql+psycopg://{cred}@[::ffff:127.0.0.1]:{port}/{db}",
        f"postgresql+psycopg://{cred}@2130706433:{port}/{db}",
        f"postgresql+psycopg://{cred}@db.alias.example:{port}/{db}?hostaddr=127.0.0.1",
        f"postgresql+psycopg://{cred}@elsewhere.example:{port}/other?dbname={db}&host=127.0.0.1",
        f"postgresql+psycopg://{cred}@/{db}?host=nowhere.example:5999&host=127.0.0.1:{port}",
        f"postgresql://{cred}@127.0.0.1/{db}",
    ]
    # By default loopback is refused outright, whichever database is named.
    for url in spellings:
        error = refused(session, resource, kind="sql", url=url, table="users")
        assert error.details["reason"] in ("loopback", "unspecified"), url
    # Even when loopback is opened explicitly (as tests do), the node's own database is not.
    allow("127.0.0.0/8, ::1/128")
    for url in spellings:
        error = refused(session, resource, kind="sql", url=url, table="users")
        assert error.details["reason"] == "own_database", url
    # Another database on the same cluster is another system's store: allowed.
    other = f"postgresql+psycopg://{cred}@127.0.0.1:{port}/postgres"
    job = pull(session, resource, kind="sql", url=other, query="SELECT 1 AS one")
    assert run_in_session(session, job.id).status == "succeeded"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql+psycopg://u@/db?host=/var/run/postgresql", "local_socket"),
        ("postgresql+psycopg://u@/db", "local_socket"),
        ("postgresql+psycopg://u@h.example/db?service=yaosu", "connection_option"),
        ("postgresql+psycopg://u@h.example/db?passfile=/root/.pgpass", "connection_option"),
        ("postgresql+psycopg://u@169.254.169.254/db", "metadata"),
        ("postgresql+psycopg://u@10.1.2.3/db", "private"),
    ],
)
def test_database_pulls_never_use_local_sockets_or_node_files(
    session: Any, allow: Any, url: str, reason: str
) -> None:
    allow("127.0.0.1/32")
    resource = create_resource(session, create_org(session, "交通局"))
    assert refused(session, resource, kind="sql", url=url, table="t").details["reason"] == reason


def test_the_run_time_check_asks_the_server_who_it_is(session: Any, allow: Any) -> None:
    """Whatever the URL said (a name that resolved elsewhere when checked), the pull's
    connection is refused once the server answers as the node's own database."""
    from yaosu.catalog import pullguard

    own = _own_pg(session)
    allow("127.0.0.1/32")
    nothing = pullguard.OwnStores((), get_settings().data_dir.resolve(), None)
    url = own.set(host="127.0.0.1").render_as_string(hide_password=False)
    connect = pullguard.connector(url, nothing, pullguard.own_identity(session))
    with pytest.raises(Forbidden) as exc:
        connect()
    assert exc.value.details["reason"] == "own_database"


def test_other_databases_and_unsupported_drivers(session: Any) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    for url in ("mysql+pymysql://u@db.example/x", "postgresql+pg8000://u@db.example/x"):
        with pytest.raises(Invalid) as exc:
            pull(session, resource, kind="sql", url=url, table="t")
        assert exc.value.code in ("unsupported_database", "invalid_url")


HTTP_REFUSED = [
    ("http://127.0.0.1/x.csv", "loopback"),
    ("http://localhost:8000/x.csv", "loopback"),
    ("http://LOCALHOST./x.csv", "loopback"),
    ("http://data.localhost/x.csv", "loopback"),
    ("http://2130706433/x.csv", "loopback"),
    ("http://0x7f.1/x.csv", "loopback"),
    ("http://0x7f000001/x.csv", "loopback"),
    ("http://017700000001/x.csv", "loopback"),
    ("http://127.1/x.csv", "loopback"),
    ("http://127.0.0.1./x.csv", "loopback"),
    ("http://[::1]/x.csv", "loopback"),
    ("http://[::ffff:127.0.0.1]/x.csv", "loopback"),
    ("http://[::127.0.0.1]/x.csv", "loopback"),
    ("http://[2002:7f00:1::]/x.csv", "loopback"),
    ("http://evil.example\\@127.0.0.1/x.csv", "loopback"),
    ("http://u:p@127.0.0.1:5432/x.csv", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://0xa9fea9fe/", "metadata"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
    ("http://100.100.100.200/latest/meta-data/", "metadata"),
    ("http://169.254.1.1/", "link_local"),
    ("http://[fe80::1%25eth0]/", "link_local"),
    ("http://0.0.0.0:8000/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://239.1.1.1/", "multicast"),
    ("http://255.255.255.255/", "reserved"),
    ("http://10.0.0.1/x.csv", "private"),
    ("http://172.16.5.4/x.csv", "private"),
    ("https://192.168.1.1/x.csv", "private"),
    ("http://[fd12:3456::1]/x.csv", "private"),
]


@pytest.mark.parametrize(("url", "reason"), HTTP_REFUSED)
def test_http_pulls_never_reach_internal_addresses(session: Any, url: str, reason: str) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    for cron in (None, "0 3 * * *"):
        error = refused(session, resource, kind="http", url=url, cron=cron)
        assert error.details["reason"] == reason and "被拒绝" in error.message_zh
    assert dataset_service.schedules(session, SYSTEM, resource.id) == []


def test_the_allow_list_opens_private_ranges_only(session: Any, allow: Any) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    # Scheduled only (nothing connects during the test): private ranges open when listed...
    allow("10.0.0.0/8, 0.0.0.0/0, ::/0")
    pull(session, resource, kind="http", url="http://10.1.2.3/x.csv", cron="0 3 * * *")
    # ...but broad entries never open loopback, link-local or metadata.
    for url, reason in (
        ("http://127.0.0.1/x.csv", "loopback"),
        ("http://[::1]/x.csv", "loopback"),
        ("http://169.254.169.254/", "metadata"),
        ("http://[fe80::1]/", "link_local"),
    ):
        assert refused(session, resource, kind="http", url=url).details["reason"] == reason
    # A CIDR inside loopback opens exactly that.
    allow("127.0.0.1/32")
    pull(session, resource, kind="http", url="http://127.0.0.1:9/x.csv", cron="0 3 * * *")
    assert (
        refused(session, resource, kind="http", url="http://127.0.0.2/x").details["reason"]
        == "loopback"
    )


class _Redirect(BaseHTTPRequestHandler):
    target = ""
    hits: list[str] = []

    def do_GET(self) -> None:
        _Redirect.hits.append(f"{self.path} {self.headers.get('Host')}")
        if self.path == "/data.csv":
            body = b"a,b\n1,2\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(302)
        self.send_header("Location", _Redirect.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def redirector() -> Iterator[str]:
    _Redirect.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.2:{port}/data.csv",
        "http://[::1]:{port}/data.csv",
        "http://localhost:{port}/data.csv",
        "http://10.0.0.1/data.csv",
    ],
)
def test_a_redirect_to_an_internal_address_fails_the_pull(
    session: Any, allow: Any, redirector: str, target: str
) -> None:
    allow("127.0.0.1/32")
    _Redirect.target = target.format(port=redirector.rsplit(":", 1)[1])
    resource = create_resource(session, create_org(session, "交通局"))
    job = pull(session, resource, kind="http", url=f"{redirector}/go")
    failed = run_in_session(session, job.id)
    assert failed.status == "failed" and failed.error["code"] == "pull_forbidden"
    assert len(_Redirect.hits) == 1  # the refused hop was never requested


def test_redirects_within_the_policy_are_followed_and_capped(
    session: Any, allow: Any, redirector: str
) -> None:
    allow("127.0.0.1/32")
    resource = create_resource(session, create_org(session, "交通局"))
    _Redirect.target = "/data.csv"
    ok = run_in_session(session, pull(session, resource, kind="http", url=f"{redirector}/go").id)
    assert ok.status == "succeeded", ok.error
    _Redirect.target = "/loop"
    loop = run_in_session(session, pull(session, resource, kind="http", url=f"{redirector}/go").id)
    assert loop.status == "failed" and loop.error["code"] == "pull_failed"
    assert "redirect" in loop.error["message"]


def test_a_name_is_resolved_once_and_the_checked_address_is_used(
    session: Any, allow: Any, redirector: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name answers an allowed address when checked, then the metadata
    address; the connection still goes to the checked one, with the name as Host."""
    allow("127.0.0.1/32")
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host: Any, *args: Any, **kw: Any) -> Any:
        if host == "rebind.example":
            asked.append(host)
            ip = "127.0.0.1" if len(asked) == 1 else "169.254.169.254"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, args[0] if args else 80))]
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = redirector.rsplit(":", 1)[1]
    with http_source(f"http://rebind.example:{port}/data.csv", policy=node_policy()) as source:
        assert source.columns == ["a", "b"]
    assert asked == ["rebind.example"]
    assert _Redirect.hits == [f"/data.csv rebind.example:{port}"]


# --- red-team round (issue 21): what still got through ------------------------------------------
BROKEN_DATABASE_URLS = [
    "sqlite:////tmp/yaosu.db%00.csv",  # a NUL byte in the file name
    "sqlite:///file:/tmp/x.db%00?uri=true",
    "sqlite+aiosqlite:////tmp/x.db",  # a driver this node does not have
    "sqlite:///file:/tmp/x.db?uri=true#/elsewhere.db",  # a fragment glued to an option
    "sqlite:///file:/tmp/x.db?uri=maybe",
]


@pytest.mark.parametrize("url", BROKEN_DATABASE_URLS)
def test_a_malformed_database_url_is_invalid_never_a_server_error(
    session: Any, client: Any, url: str
) -> None:
    from tests.fixtures.identity import bearer, login

    org = create_org(session, "交通局")
    resource = create_resource(session, org)
    create_user(session, org, "officer", "data_officer")
    with pytest.raises(Invalid) as exc:
        pull(session, resource, kind="sql", url=url, table="t")
    assert exc.value.code == "invalid_url" and "数据库地址无效" in exc.value.message_zh
    session.flush()
    headers = bearer(login(session, "officer"))
    for body in (
        {"kind": "sql", "url": url, "table": "t"},
        {"kind": "sql", "url": url, "table": "t", "cron": "0 3 * * *"},
    ):
        r = client.post(f"/api/v1/resources/{resource.id}/pulls", json=body, headers=headers)
        assert r.status_code in (400, 422), r.text
        assert r.json()["error"]["code"] == "invalid_url", r.text
    assert dataset_service.schedules(session, SYSTEM, resource.id) == []


@pytest.mark.parametrize(
    "option", ["sslkeylogfile=/tmp/keys.log", "sslkeylogfile=%2Fvar%2Flib%2Fyaosu%2Fyaosu.db"]
)
def test_a_database_pull_may_not_make_libpq_write_a_file(
    session: Any, allow: Any, option: str
) -> None:
    allow("10.0.0.0/8")
    resource = create_resource(session, create_org(session, "交通局"))
    url = f"postgresql+psycopg://u:p@10.1.2.3/other?{option}"
    error = refused(session, resource, kind="sql", url=url, table="t")
    assert error.details == {"reason": "connection_option", "option": "sslkeylogfile"}


def _source_db(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a TEXT)")
    con.execute("INSERT INTO t VALUES ('x')")
    con.commit()
    con.close()
    return path


@pytest.mark.parametrize(
    "query",
    [
        "VACUUM INTO '{target}'",
        "ATTACH DATABASE '{target}' AS copy",
        "ATTACH DATABASE 'file:{target}?mode=rwc' AS copy",
        "ATTACH DATABASE '{own}' AS own",
        "PRAGMA writable_schema = ON",
        "SELECT load_extension('/tmp/evil.so')",
    ],
)
def test_a_sqlite_pull_query_writes_no_file_and_attaches_nothing(
    session: Any, tmp_path: Path, query: str
) -> None:
    """The pull's query runs on a read-only connection, but SQLite would still write a copy of
    the source anywhere (``VACUUM INTO``) or create and attach files (``ATTACH``, the node's own
    database included): the connection's authorizer refuses everything but reading."""
    resource = create_resource(session, create_org(session, "交通局"))
    source = _source_db(tmp_path / "source.db")
    target = get_settings().data_dir / "written-by-a-pull.db"
    own = get_settings().data_dir / "yaosu.db"
    sql = query.format(target=target, own=own)
    job = pull(session, resource, kind="sql", url=f"sqlite:///{source}", query=sql)
    failed = run_in_session(session, job.id)
    assert failed.status == "failed"
    assert not target.exists()
    # Reading still works, functions included.
    ok = pull(
        session,
        resource,
        kind="sql",
        url=f"sqlite:///{source}",
        query="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) "
        "SELECT upper(a) AS a, (SELECT count(*) FROM n) AS n FROM t",
    )
    done = run_in_session(session, ok.id)
    assert done.status == "succeeded", done.error


def test_the_own_cluster_is_known_whichever_role_signs_in(session: Any) -> None:
    """The run-time check compares every mark of the server: a pull signing in as a role that
    may not read the system identifier still shows the start time and port of the node's own
    cluster (before, the marks differed in kind and the node's database passed)."""
    from yaosu.catalog import pullguard

    _own_pg(session)
    own_id = pullguard.own_identity(session)
    assert own_id is not None and own_id[1]

    def as_low_role(query: str) -> Any:
        if "pg_control_system" in query:
            raise PermissionError("permission denied for function pg_control_system")
        from sqlalchemy import text

        return session.execute(text(query)).one()

    nested = session.begin_nested()
    ident = pullguard.server_identity(as_low_role, lambda: None)
    nested.rollback()
    assert pullguard.same_database(ident, own_id)
    assert not pullguard.same_database((ident[0] + "_other", ident[1]), own_id)
    assert not pullguard.same_database(("x", frozenset({"elsewhere"})), own_id)
    assert not pullguard.same_database(ident, None)


def test_the_own_cluster_is_refused_for_a_low_role_at_run_time(session: Any, allow: Any) -> None:
    """End to end on PostgreSQL: a role without access to pg_control_system() connects to the
    node's own database by an address the static check does not know; the connection is refused
    once the server answers."""
    import uuid

    from sqlalchemy import text

    from yaosu.catalog import pullguard

    own = _own_pg(session)
    role = "pull_low_" + uuid.uuid4().hex[:8]
    engine = session.get_bind().engine
    with engine.connect() as admin:
        admin.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'"))
        admin.execute(text(f'GRANT CONNECT ON DATABASE "{own.database}" TO {role}'))
        admin.commit()
    try:
        allow("127.0.0.1/32")
        nothing = pullguard.OwnStores((), get_settings().data_dir.resolve(), None)
        url = own.set(host="127.0.0.1", username=role, password="pw").render_as_string(
            hide_password=False
        )
        connect = pullguard.connector(url, nothing, pullguard.own_identity(session))
        try:
            with pytest.raises(Forbidden) as exc:
                connect()
        except Exception as e:  # the server refuses the role (pg_hba): nothing to prove here
            if "authentication" in str(e) or "pg_hba" in str(e):
                pytest.skip(f"the test server does not let a new role sign in: {e}")
            raise
        assert exc.value.details["reason"] == "own_database"
    finally:
        with engine.connect() as admin:
            admin.execute(text(f'REVOKE CONNECT ON DATABASE "{own.database}" FROM {role}'))
            admin.execute(text(f"DROP ROLE {role}"))
            admin.commit()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.000.000.001/x.csv", "loopback"),
        ("http://0177.0.0.1/x.csv", "loopback"),
        ("http://0177.00.00.01:8000/x.csv", "loopback"),
        ("http://１２７.０.０.１/x.csv", "loopback"),  # full-width digits
        ("http://ｌｏｃａｌｈｏｓｔ/x.csv", "loopback"),  # full-width letters
        ("http://０/x.csv", "unspecified"),
        ("http://169.254.169.２５４/", "metadata"),
        ("http://0251.0376.0251.0376/latest/meta-data/", "metadata"),
        # Percent-escapes in the host: browsers decode them, DNS never holds them.
        ("http://loc%61lhost/x.csv", "loopback"),
        ("http://127%2e0%2e0%2e1/x.csv", "loopback"),
        ("http://LOCALHOST%2E/x.csv", "loopback"),
        ("http://127.0.0.1%00.evil.example/x.csv", "loopback"),  # inet_aton stops at NUL
        ("http://169.254.169.254%20.evil.example/", "metadata"),
    ],
)
def test_spellings_the_http_client_cannot_parse_are_refused_as_addresses(
    session: Any, url: str, reason: str
) -> None:
    """Spellings that other readers (inet_aton, browsers, proxies) take for a loopback or
    metadata address are refused as that address (403 ``pull_forbidden``), not merely as an
    unparsable URL."""
    resource = create_resource(session, create_org(session, "交通局"))
    for cron in (None, "0 3 * * *"):
        assert refused(session, resource, kind="http", url=url, cron=cron).details["reason"] == (
            reason
        )


def test_every_database_server_is_pinned_to_its_checked_address(
    session: Any, allow: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With loopback opened for one server of a host list, the other servers are still reached
    by the addresses checked (``hostaddr``), so a name cannot answer differently to libpq."""
    from yaosu.catalog import pullguard

    allow("127.0.0.1/32, 10.0.0.0/8")
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kw: Any) -> Any:
        if host == "db.intranet.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 5432))]
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    nothing = pullguard.OwnStores((), get_settings().data_dir.resolve(), None)
    for url, hostaddr in (
        (
            "postgresql+psycopg://u:p@/x?host=127.0.0.1:5999&host=db.intranet.example:5432",
            "127.0.0.1,10.1.2.3",
        ),
        ("postgresql+psycopg://u:p@[::ffff:127.0.0.1]:5999/x", "127.0.0.1"),
        (
            "postgresql+psycopg://u:p@/x?host=db.intranet.example&host=127.0.0.1",
            "10.1.2.3,127.0.0.1",
        ),
    ):
        checked = pullguard.check(url, nothing)
        assert checked.params["hostaddr"] == hostaddr, url


class _PasswordCatcher:
    """A fake PostgreSQL server: refuses SSL/GSS, asks for a clear-text password, keeps it."""

    def __init__(self) -> None:
        self.passwords: list[bytes] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _read(self, conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def _serve(self) -> None:
        import struct

        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                while True:  # SSLRequest / GSSENCRequest, then the startup message
                    size = struct.unpack("!I", self._read(conn, 4))[0]
                    body = self._read(conn, size - 4)
                    if struct.unpack("!I", body[:4])[0] in (80877103, 80877104):
                        conn.sendall(b"N")
                        continue
                    break
                conn.sendall(b"R" + struct.pack("!II", 8, 3))  # clear-text password, please
                assert self._read(conn, 1) == b"p"
                size = struct.unpack("!I", self._read(conn, 4))[0]
                self.passwords.append(self._read(conn, size - 4).rstrip(b"\0"))
                msg = b"SFATAL\0C28P01\0Mno\0\0"
                conn.sendall(b"E" + struct.pack("!I", len(msg) + 4) + msg)
            except (ConnectionError, OSError, AssertionError):
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.sock.close()


def test_a_pull_never_offers_the_nodes_own_database_password(
    session: Any, allow: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server a pull names that asks for a clear-text password gets the URL's password, or a
    throw-away one: never the node's PGPASSWORD (libpq's fallback), nor its password file."""
    from yaosu.catalog import pullguard

    allow("127.0.0.1/32")
    monkeypatch.setenv("PGPASSWORD", "the-nodes-own-db-secret")
    catcher = _PasswordCatcher()
    nothing = pullguard.OwnStores((), get_settings().data_dir.resolve(), None)
    try:
        for url in (
            f"postgresql+psycopg://etl@127.0.0.1:{catcher.port}/other",
            f"postgresql+psycopg://etl:given-pw@127.0.0.1:{catcher.port}/other",
        ):
            connect = pullguard.connector(url, nothing, None)
            with pytest.raises(Exception):  # noqa: B017 (the fake server refuses every sign-in)
                connect()
    finally:
        catcher.close()
    assert len(catcher.passwords) == 2
    assert b"the-nodes-own-db-secret" not in catcher.passwords
    assert catcher.passwords[1] == b"given-pw"


def test_a_host_with_percent_escapes_is_never_looked_up(session: Any) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    for url in ("http://ex%61mple.com/x.csv", "https://data%2egov.example/x.csv"):
        with pytest.raises(Invalid) as exc:
            pull(session, resource, kind="http", url=url)
        assert exc.value.code == "invalid_url"

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
from yaosu.catalog import census, schemas
from yaosu.catalog.service import dataset_service, public_params
from yaosu.catalog.tasks import run_in_session
from yaosu.config import get_settings, reset_settings
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
@pytest.fixture
def allow(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set YAOSU_PULL_ALLOW for one test (None: unset, the default)."""

    def set_allow(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("YAOSU_PULL_ALLOW", raising=False)
        else:
            monkeypatch.setenv("YAOSU_PULL_ALLOW", value)
        reset_settings()

    yield set_allow
    monkeypatch.delenv("YAOSU_PULL_ALLOW", raising=False)
    reset_settings()


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

"""Webhooks never reach the node itself: a subscription URL on loopback, link-local, metadata or
an unlisted private address is refused when subscribed (nothing stored), and every delivery
checks the address again, connects to the checked address and follows no redirect."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fixtures.pulls import pull_allow  # noqa: F401 (the fixture)
from tests.sharing.test_service import ask, city, ingest  # noqa: F401 (the fixture)
from yaosu.kit.errors import Forbidden
from yaosu.ledger.service import ledger_service
from yaosu.models import Subscription, WebhookDelivery
from yaosu.sharing import webhook
from yaosu.sharing.service import request_service, subscription_service
from yaosu.sharing.tasks import http_post

REFUSED = [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://localhost/hook", "loopback"),
    ("http://api.localhost/hook", "loopback"),
    ("http://2130706433/hook", "loopback"),
    ("http://0x7f.1/hook", "loopback"),
    ("http://017700000001/hook", "loopback"),
    ("http://127.1/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://[::ffff:7f00:1]/hook", "loopback"),
    ("http://[64:ff9b::7f00:1]/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://100.100.100.200/", "metadata"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[::]/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://[fe80::1]/hook", "link_local"),
    ("http://10.0.0.8/hook", "private"),
    ("http://192.168.1.1/hook", "private"),
    # Spellings the HTTP client cannot parse but other readers take for the address.
    ("http://127.000.000.001/hook", "loopback"),
    ("http://0177.0.0.1/hook", "loopback"),
    ("http://１２７.０.０.１/hook", "loopback"),
    ("http://ｌｏｃａｌｈｏｓｔ:8000/hook", "loopback"),
    ("http://0251.0376.0251.0376/latest/meta-data/", "metadata"),
    ("http://loc%61lhost/hook", "loopback"),
    ("http://127.0.0.1%00.evil.example/hook", "loopback"),
]


@pytest.fixture
def grant(session: Session, city: Any) -> str:  # noqa: F811
    req = request_service.submit(
        session, city["consumer"], ask(city["open"], delivery_mode="subscription")
    )
    return req.grant_id or ""


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_a_webhook_on_an_internal_address_is_refused_and_nothing_is_stored(
    session: Session,
    city: Any,  # noqa: F811
    grant: str,
    url: str,
    reason: str,
) -> None:
    before = session.scalar(select(func.count()).select_from(Subscription))
    with pytest.raises(Forbidden) as refused:
        subscription_service.subscribe(session, city["consumer"], grant, url)
    assert refused.value.code == "webhook_forbidden"
    assert refused.value.details["reason"] == reason
    assert "被拒绝" in refused.value.message_zh
    assert session.scalar(select(func.count()).select_from(Subscription)) == before
    entries, _ = ledger_service.trail(session, grant, 100, 0)
    assert "sharing.subscribed" not in [e.type for e in entries]


def test_the_allow_list_opens_private_ranges_but_never_metadata(
    session: Session,
    city: Any,  # noqa: F811
    grant: str,
    allow: Any,
) -> None:
    allow("10.0.0.0/8, 0.0.0.0/0")
    sub, _ = subscription_service.subscribe(session, city["consumer"], grant, "http://10.0.0.8/h")
    assert sub.url == "http://10.0.0.8/h"
    for url in ("http://127.0.0.1/h", "http://169.254.169.254/", "http://100.100.100.200/"):
        with pytest.raises(Forbidden) as refused:
            subscription_service.subscribe(session, city["consumer"], grant, url)
        assert refused.value.code == "webhook_forbidden"


class _Hook(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes]] = []
    redirect_to: str | None = None

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Hook.seen.append((self.path, self.headers.get("Host", ""), body))
        if _Hook.redirect_to:
            self.send_response(307)
            self.send_header("Location", _Hook.redirect_to)
        else:
            self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook_server() -> Iterator[str]:
    _Hook.seen, _Hook.redirect_to = [], None
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_every_delivery_checks_the_address_again(
    session: Session,
    city: Any,  # noqa: F811
    grant: str,
    allow: Any,
    hook_server: str,
) -> None:
    # Listed explicitly (a CIDR inside loopback), the local receiver gets signed deliveries.
    allow("127.0.0.1/32")
    sub, secret = subscription_service.subscribe(
        session, city["consumer"], grant, f"{hook_server}/hook"
    )
    ingest(session, city["open"].id, rows=5, seed=3)
    assert subscription_service.deliver_pending(session, http_post) == 1
    path, host, body = _Hook.seen[0]
    assert path == "/hook" and host == hook_server.removeprefix("http://")
    # Each delivery signs afresh; the signature covers the body the receiver got.
    assert webhook.sign(secret.encode(), body, at=0).startswith("t=0,v1=")

    # The setting is withdrawn: the next delivery is refused before any connection.
    allow(None)
    ingest(session, city["open"].id, rows=6, seed=4)
    assert subscription_service.deliver_pending(session, http_post) == 0
    assert len(_Hook.seen) == 1
    pending = session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == "pending"
        )
    ).one()
    assert pending.last_error and "AddressRefused" in pending.last_error
    assert "loopback" in pending.last_error


def test_a_delivery_follows_no_redirect(hook_server: str, allow: Any) -> None:
    allow("127.0.0.1/32")
    _Hook.redirect_to = "http://169.254.169.254/latest/meta-data/"
    status = http_post(f"{hook_server}/hook", b"{}", {"Content-Type": "application/json"})
    assert status == 307 and len(_Hook.seen) == 1


INSIDE_NAMES = {
    "localtest.me": "127.0.0.1",
    "hook.nip.example": "::1",
    "meta.rebind.example": "169.254.169.254",
    "v6meta.example": "fd00:ec2::254",
    "mapped.example": "::ffff:127.0.0.1",
    "intranet.example": "10.9.8.7",
}


@pytest.fixture
def inside_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolver under test control: these names answer internal addresses (offline)."""
    import socket

    real = socket.getaddrinfo

    def fake(host: Any, port: Any = None, *args: Any, **kw: Any) -> Any:
        if host in INSIDE_NAMES:
            ip = INSIDE_NAMES[host]
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            address = (ip, port or 80, 0, 0) if ":" in ip else (ip, port or 80)
            return [(family, socket.SOCK_STREAM, 6, "", address)]
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize("name", sorted(INSIDE_NAMES))
def test_a_name_that_resolves_inside_is_refused_when_subscribed_and_delivered(
    session: Session,
    city: Any,  # noqa: F811
    grant: str,
    inside_dns: None,
    name: str,
) -> None:
    before = session.scalar(select(func.count()).select_from(Subscription))
    with pytest.raises(Forbidden) as refused:
        subscription_service.subscribe(session, city["consumer"], grant, f"https://{name}/hook")
    assert refused.value.code == "webhook_forbidden"
    assert refused.value.details["address"] == str(ipaddress.ip_address(INSIDE_NAMES[name]))
    assert session.scalar(select(func.count()).select_from(Subscription)) == before
    # A delivery to such a name (the name changed after it was subscribed) is refused too,
    # before any connection is made.
    with pytest.raises(Forbidden) as at_delivery:
        http_post(f"http://{name}:9/hook", b"{}", {"Content-Type": "application/json"})
    assert at_delivery.value.code == "webhook_forbidden"

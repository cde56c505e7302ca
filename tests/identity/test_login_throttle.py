"""The limit on sign-in attempts against password guessing, over HTTP on both databases: per
account and per address, a 429 ``login_throttled`` with Retry-After in both languages, the same
for accounts that do not exist, cleared by a successful sign-in, over when its window ends, kept
in the database (so every server process sees it), and never the open-data rate limit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tests.fixtures.identity import PASSWORD, create_org, create_user
from yaosu.config import get_settings
from yaosu.identity import rules
from yaosu.kit.timeutil import utcnow
from yaosu.models.identity import LoginAttempt

TOKEN = "/api/v1/auth/token"
SESSION = "/api/v1/auth/session"


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Any:
    settings = get_settings()
    monkeypatch.setattr(settings, "login_max_failures", 3)
    monkeypatch.setattr(settings, "login_max_failures_address", 100)
    monkeypatch.setattr(settings, "login_window", 600)
    return settings


@pytest.fixture
def staff(session: Any) -> None:
    org = create_org(session, "大数据局")
    create_user(session, org, "admin", "platform_admin")
    create_user(session, org, "clerk", "member")
    session.commit()


def attempt(client: TestClient, username: str, password: str, path: str = TOKEN) -> Any:
    return client.post(path, data={"username": username, "password": password})


def assert_throttled(r: Any, window: int) -> int:
    assert r.status_code == 429, r.text
    err = r.json()["error"]
    assert err["code"] == "login_throttled"
    wait = int(r.headers["retry-after"])
    assert 0 < wait <= window
    assert err["message"] == f"Too many failed sign-in attempts; try again in {wait} s."
    assert err["message_zh"] == f"登录失败次数过多，请 {wait} 秒后再试。"
    assert err["details"]["retry_after"] == wait
    return wait


def test_an_account_waits_after_its_failures_even_with_the_right_password(
    client: TestClient, staff: None, limits: Any
) -> None:
    for _ in range(3):
        assert attempt(client, "admin", "guess-guess").status_code == 401
    assert_throttled(attempt(client, "admin", PASSWORD), 600)  # the right one waits too
    assert_throttled(attempt(client, "admin", PASSWORD, SESSION), 600)  # every sign-in path
    # Another account from the same address is not held back by it.
    assert attempt(client, "clerk", PASSWORD).status_code == 200


def test_unknown_accounts_are_throttled_the_same_way(
    client: TestClient, staff: None, limits: Any
) -> None:
    def answers(username: str) -> list[tuple[int, str]]:
        out = []
        for password in ("guess-1", "guess-2", "guess-3", "guess-4", PASSWORD):
            r = attempt(client, username, password)
            out.append((r.status_code, r.json()["error"]["code"]))
        return out

    known, unknown = answers("admin"), answers("nobody.here")
    assert known == unknown == [(401, "invalid_credentials")] * 3 + [(429, "login_throttled")] * 2


def test_a_successful_sign_in_clears_the_account_count(
    client: TestClient, staff: None, limits: Any
) -> None:
    for _ in range(2):
        assert attempt(client, "admin", "guess-guess").status_code == 401
    assert attempt(client, "admin", PASSWORD).status_code == 200
    for _ in range(3):  # three more failures are allowed again
        assert attempt(client, "admin", "guess-guess").status_code == 401
    assert_throttled(attempt(client, "admin", "guess-guess"), 600)


def test_the_lock_ends_with_its_window(
    client: TestClient, session: Any, staff: None, limits: Any
) -> None:
    for _ in range(3):
        attempt(client, "admin", "guess-guess")
    assert_throttled(attempt(client, "admin", PASSWORD), 600)
    # The window began eleven minutes ago: the real user is not locked out for good.
    session.execute(update(LoginAttempt).values(window_start=utcnow() - timedelta(minutes=11)))
    session.commit()
    assert attempt(client, "admin", PASSWORD).status_code == 200


def test_an_address_waits_after_failures_on_many_accounts(
    app: Any, staff: None, limits: Any
) -> None:
    limits.login_max_failures_address = 4
    guesser = TestClient(app, client=("203.0.113.7", 40000))
    for n in range(4):  # a different account each time: no account reaches its limit
        assert attempt(guesser, f"user{n}", "guess-guess").status_code == 401
    assert_throttled(attempt(guesser, "admin", PASSWORD), 600)
    # The same /32 on another port is the same address; another address is not held back.
    assert_throttled(
        attempt(TestClient(app, client=("203.0.113.7", 40001)), "admin", PASSWORD), 600
    )
    assert (
        attempt(TestClient(app, client=("198.51.100.2", 1)), "admin", PASSWORD).status_code == 200
    )


def test_ipv6_clients_count_by_their_64(app: Any, staff: None, limits: Any) -> None:
    limits.login_max_failures_address = 2
    for n, host in enumerate(("2001:db8:1:2::1", "2001:db8:1:2:ffff::9")):
        r = attempt(TestClient(app, client=(host, 1)), f"user{n}", "guess-guess")
        assert r.status_code == 401
    same_64 = TestClient(app, client=("2001:db8:1:2:abcd::1", 1))
    assert_throttled(attempt(same_64, "admin", PASSWORD), 600)
    other_64 = TestClient(app, client=("2001:db8:1:3::1", 1))
    assert attempt(other_64, "admin", PASSWORD).status_code == 200


def test_counts_live_in_the_database_not_in_one_process(
    connection: Any, session: Any, staff: None, limits: Any
) -> None:
    from tests.conftest import session_on
    from yaosu.app import create_app

    # Two application instances stand for two server processes sharing one database.
    first = TestClient(create_app(sessions=lambda write: session_on(connection)))
    second = TestClient(create_app(sessions=lambda write: session_on(connection)))
    for _ in range(3):
        assert attempt(first, "admin", "guess-guess").status_code == 401
    assert_throttled(attempt(second, "admin", PASSWORD), 600)
    # Only digests are kept: no username or address in the table.
    keys = session.execute(select(LoginAttempt.key)).scalars().all()
    assert keys and all(len(k) == 64 and "admin" not in k for k in keys)
    account = dict(rules.login_attempt_keys("admin", "testclient"))["account"]
    held = session.execute(
        select(LoginAttempt.attempts).where(LoginAttempt.key == account)
    ).scalar_one()
    assert held == 3


def test_expired_counters_are_pruned(
    client: TestClient, session: Any, staff: None, limits: Any
) -> None:
    for n in range(5):
        attempt(client, f"ghost{n}", "guess-guess")
    session.execute(update(LoginAttempt).values(window_start=utcnow() - timedelta(hours=1)))
    session.commit()
    assert attempt(client, "admin", PASSWORD).status_code == 200
    left = session.execute(select(func.count()).select_from(LoginAttempt)).scalar_one()
    assert left == 2  # admin's account and the client's address, from this attempt only


def test_the_open_data_limit_never_blocks_staff_sign_in(
    client: TestClient, staff: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from yaosu.opendata import ratelimit

    settings = get_settings()
    monkeypatch.setattr(settings, "open_rate_anonymous", 1)
    monkeypatch.setattr(settings, "open_rate_key", 1)
    ratelimit.limiter.reset()
    try:
        assert client.get("/api/v1/open/datasets").status_code == 200
        assert client.get("/api/v1/open/datasets").status_code == 429  # the open limit is on
        for _ in range(3):
            assert attempt(client, "admin", PASSWORD).status_code == 200
            assert attempt(client, "admin", PASSWORD, SESSION).status_code == 204
    finally:
        ratelimit.limiter.reset()


def test_client_network_rules() -> None:
    assert rules.client_network("192.0.2.1") == "192.0.2.1"
    assert rules.client_network("::ffff:192.0.2.1") == "192.0.2.1"
    assert rules.client_network("2001:db8::1") == "2001:db8::/64"
    assert rules.client_network("2001:db8::1") == rules.client_network("2001:db8::ffff:1")
    assert rules.client_network(None) == rules.client_network("testclient") == "unknown"
    start = utcnow()
    assert rules.login_wait(start, 2, 3, 60, start) == 0
    assert rules.login_wait(start, 3, 3, 60, start + timedelta(seconds=59.5)) == 1
    assert rules.login_wait(start, 3, 3, 60, start + timedelta(seconds=10)) == 50
    assert rules.login_wait(start, 9, 3, 60, start + timedelta(seconds=60)) == 0


@pytest.mark.parametrize("path", [TOKEN, SESSION])
def test_a_username_no_account_can_have_is_a_401_and_counts(
    client: TestClient, staff: None, limits: Any, path: str
) -> None:
    """A NUL byte in the username (PostgreSQL refuses NUL in text, so the lookup was a 500) is
    simply a wrong username: 401, counted like any guess, then throttled."""
    for name in ("\x00", "admin\x00\x00"):
        r = attempt(client, name, "guess-guess", path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    for _ in range(3):  # the limit is three per account in these tests
        r = attempt(client, "adm\x00in", "guess-guess", path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    assert_throttled(attempt(client, "adm\x00in", PASSWORD, path), 600)
    assert attempt(client, "admin", PASSWORD, path).status_code in (200, 204)

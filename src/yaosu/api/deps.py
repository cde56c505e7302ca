"""The per-request unit of work: one transaction, committed once when the endpoint succeeds."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from yaosu.db.uow import transaction

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    # app.state.sessions(write) returns a new Session; tests swap in one bound to a rollback txn.
    with transaction(request.app.state.sessions(request.method not in SAFE_METHODS)) as session:
        yield session


# The request's session, committed when the endpoint returns and BEFORE the response is sent
# (FastAPI's default for yield dependencies is after it): a client that sees a 2xx must find
# the change in its next request. Streamed bodies never use this session (they meter and log
# in their own transactions), so closing it before streaming is safe.
SESSION = Depends(get_session, scope="function")

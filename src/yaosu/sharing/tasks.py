"""Background work of the sharing domain: delivering signed webhooks and expiring requests left
unreviewed long past their deadline. Each tick runs in its own short transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session

from yaosu.db.uow import transaction
from yaosu.kit import netguard
from yaosu.kit.timeutil import utcnow
from yaosu.sharing.service import request_service, subscription_service

log = logging.getLogger("yaosu.sharing")


def http_post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    """POST a webhook to the checked address of ``url`` (the address policy is applied again
    at every delivery, since DNS answers change); redirects are not followed (a subscriber's
    URL is what was approved). A refused address raises ``webhook_forbidden``."""
    with netguard.open_http(
        "POST",
        url,
        netguard.node_policy(),
        code="webhook_forbidden",
        headers=headers,
        content=body,
        timeout=10,
        max_redirects=0,
    ) as response:
        return response.status_code


def tick(sessions: Callable[[bool], Session], post: Callable[..., int] = http_post) -> int:
    """Deliver pending webhooks and expire lapsed requests; returns deliveries made."""
    with transaction(sessions(True)) as s:
        request_service.expire_lapsed(s, utcnow())
    with transaction(sessions(True)) as s:
        sent = subscription_service.deliver_pending(s, post)
    if sent:
        log.info("delivered %d webhook(s)", sent)
    return sent

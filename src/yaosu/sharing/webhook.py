"""Signed webhooks: ``X-Yaosu-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
"<t>.<body>")>``. Consumers check it with ``verify``; a stale or forged signature is refused."""

from __future__ import annotations

import hashlib
import hmac
import time

from yaosu.kit.errors import Unauthenticated

HEADER = "X-Yaosu-Signature"
TOLERANCE = 300  # seconds a signature stays acceptable (replay window)


def sign(secret: bytes, body: bytes, at: int | None = None) -> str:
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: bytes, body: bytes, header: str, now: int | None = None) -> None:
    """Raise unless ``header`` is a fresh signature of ``body`` under ``secret``."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError) as exc:
        raise Unauthenticated(
            "Malformed webhook signature.", "Webhook 签名格式错误。", code="bad_signature"
        ) from exc
    expected = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise Unauthenticated(
            "The webhook signature does not match the body.",
            "Webhook 签名与内容不符。",
            code="bad_signature",
        )
    current = int(time.time()) if now is None else now
    if abs(current - t) > TOLERANCE:
        raise Unauthenticated(
            "The webhook signature is too old (possible replay).",
            "Webhook 签名已过期（可能是重放）。",
            code="stale_signature",
        )

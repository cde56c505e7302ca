"""Rate limits of the open portal and open APIs: a sliding one-minute window per caller, kept
in the serving process (like the data service's per-minute rate). Anonymous callers are keyed
by address; callers with an API key (any bearer token or session) by user, with a higher limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from yaosu.config import get_settings
from yaosu.kit.errors import TooManyRequests

WINDOW_S = 60.0


class RateLimiter:
    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, now: float | None = None) -> None:
        """Count one call of ``key``; over ``limit`` per minute raise 429 with Retry-After."""
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._hits.setdefault(key, deque())
            while q and q[0] <= now - WINDOW_S:
                q.popleft()
            if len(q) >= limit:
                retry = max(1, math.ceil(q[0] + WINDOW_S - now))
                raise TooManyRequests(
                    f"Rate limit of {limit} calls per minute reached; retry in {retry} s, "
                    "or register for an API key for a higher limit.",
                    f"已达到每分钟 {limit} 次的访问上限，请 {retry} 秒后重试，"
                    "或注册开发者账号获取更高额度的 API 密钥。",
                    code="rate_limited",
                    retry_after=retry,
                    limit=limit,
                )
            q.append(now)
            if len(self._hits) > 100_000:  # forget idle callers
                for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - WINDOW_S]:
                    del self._hits[k]

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


limiter = RateLimiter()


def check(user_id: str | None, address: str | None) -> None:
    """One open-data call by a signed-in user (API key) or an anonymous address."""
    s = get_settings()
    if user_id:
        limiter.hit(f"user:{user_id}", s.open_rate_key)
    else:
        limiter.hit(f"addr:{address or 'unknown'}", s.open_rate_anonymous)

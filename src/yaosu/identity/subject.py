"""The authenticated caller as every service sees it."""

from __future__ import annotations

from dataclasses import dataclass

from yaosu.identity.rules import ALL_SCOPES
from yaosu.ledger.events import Actor


@dataclass(frozen=True)
class Subject:
    user_id: str | None
    username: str
    org_id: str | None
    org_status: str
    roles: frozenset[str]
    scopes: frozenset[str]
    token_id: str | None = None
    via: str = "api"

    @property
    def is_system(self) -> bool:
        return self.user_id is None

    @property
    def actor(self) -> Actor:
        return Actor(user=self.user_id, org=self.org_id, via=self.via)

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @classmethod
    def system(cls, via: str = "cli") -> Subject:
        """The node itself, acting through the CLI or a job: a platform admin with every scope."""
        return cls(
            user_id=None,
            username="system",
            org_id=None,
            org_status="active",
            roles=frozenset({"platform_admin"}),
            scopes=ALL_SCOPES,
            via=via,
        )

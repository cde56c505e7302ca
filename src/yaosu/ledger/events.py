"""What a ledger entry is: an event as canonical JSON, carrying a digest of its payload only.

The payload itself stays in the domain tables, so personal data never enters the log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from yaosu.kit.canonical import canonical_json
from yaosu.kit.timeutil import iso

ENTRY_VERSION = 1


@dataclass(frozen=True)
class Actor:
    """Who caused an event: a user of an organization, or the node itself (CLI, jobs)."""

    user: str | None
    org: str | None
    via: str = "api"

    @classmethod
    def system(cls, via: str = "cli") -> Actor:
        return cls(user=None, org=None, via=via)


@dataclass(frozen=True)
class Event:
    type: str
    actor: Actor
    subjects: tuple[str, ...]
    payload: dict[str, Any] = field(default_factory=dict)

    def entry_bytes(self, time: datetime) -> bytes:
        return canonical_json(
            {
                "v": ENTRY_VERSION,
                "type": self.type,
                "actor": {"user": self.actor.user, "org": self.actor.org, "via": self.actor.via},
                "subjects": list(self.subjects),
                "time": iso(time),
                "payload_sha256": hashlib.sha256(canonical_json(self.payload)).hexdigest(),
            }
        )

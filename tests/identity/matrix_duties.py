"""Auth matrix cases for the workspace's responsibility lists and grant subscriptions pages."""

from __future__ import annotations

from tests.identity.matrix import Case

CASES: list[Case] = []

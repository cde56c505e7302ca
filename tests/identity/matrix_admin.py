"""Auth matrix cases for the workspace's organizations and users pages."""

from __future__ import annotations

from tests.identity.matrix import Case

CASES: list[Case] = []

"""Auth matrix cases for the workspace's open-data operations pages (public demands, reuses)."""

from __future__ import annotations

from tests.identity.matrix import Case

CASES: list[Case] = []

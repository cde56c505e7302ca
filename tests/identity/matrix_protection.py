"""Auth matrix cases for the workspace's important-data catalog, masking policies, masked
exports, k-anonymity pages."""

from __future__ import annotations

from tests.identity.matrix import Case

CASES: list[Case] = []

"""Auth matrix cases for the workspace's demand lists, census, acceptance, pulls and schedules,
jobs, retire pages."""

from __future__ import annotations

from tests.identity.matrix import Case

CASES: list[Case] = []

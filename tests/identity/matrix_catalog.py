"""Auth matrix cases for the workspace's demand lists, census, acceptance, pulls and schedules,
jobs, retire pages."""

from __future__ import annotations

from tests.identity.matrix import CAT_EDIT, CAT_READ, CAT_REVIEW, REASON, Case

CASES: list[Case] = [
    # demand lists: read by every unit; posted and closed with catalog:write (the service
    # decides who closes); answered by the providers' officers
    Case("GET", "/workspace/demands", CAT_READ),
    Case(
        "POST",
        "/workspace/demands",
        CAT_READ,
        form=lambda w: {"title": "需要人口数据", "description": "核对"},
    ),
    Case("GET", "/workspace/demands/{nothing}", CAT_READ),
    Case(
        "POST",
        "/workspace/demands/{nothing}/answers",
        CAT_EDIT,
        form=lambda w: {"decision": "decline", "reason": "无"},
    ),
    Case("POST", "/workspace/demands/{nothing}/close", CAT_READ),
    # the census (and its acceptance tab), as GET /census and /acceptance
    Case("GET", "/workspace/census", CAT_READ),
    Case("GET", "/workspace/census?tab=acceptance&system=人口综合库", CAT_READ),
    # pulls and schedules: seen by the provider unit and the data authority, made by editors
    Case("GET", "/workspace/resources/{res}/pulls", CAT_READ),
    Case(
        "POST",
        "/workspace/resources/{res}/pulls",
        CAT_EDIT,
        form=lambda w: {"kind": "http", "url": "http://data.example/x.csv", "cron": "0 3 * * *"},
    ),
    Case("POST", "/workspace/jobs/{nothing}/retry", CAT_EDIT),
    # retiring: the provider's officers and the data authority
    Case("POST", "/workspace/resources/{res}/retire", CAT_EDIT | CAT_REVIEW, form=REASON),
]

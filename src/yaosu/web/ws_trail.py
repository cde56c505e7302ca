"""The trail tab 账本留痕: the ledger entries naming one subject (a resource, share request, grant,
organization…), newest first, with a button that verifies them in the browser (``verify.js``:
WebCrypto Ed25519 and SHA-256 against a fresh signed checkpoint and RFC 9162 inclusion proofs).

Resource, request and grant pages embed it with
``<div hx-get="/workspace/trail/{{ id }}" hx-trigger="load"></div>``; the fragment carries its
own script tag and the node's verifier key, pinned at render time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.identity.access import require
from yaosu.identity.service import org_service
from yaosu.identity.subject import Subject
from yaosu.ledger.service import ledger_service
from yaosu.web import i18n
from yaosu.web.common import fragment, lang_of, render
from yaosu.web.workspace import page

router = APIRouter(prefix="/workspace", include_in_schema=False)

# Exactly who may search the trail through the API (GET /api/v1/ledger/trail/{id}): any active
# signed-in user whose credential carries ledger:read. Entries hold ids and a payload digest only.
TRAIL_READER = require(scope="ledger:read")
PER_PAGE = 20
MAX_PAGE = 10_000

# Words verify.js shows, handed to it in the fragment so the script needs no catalog of its own.
SCRIPT_WORDS = (
    "checking",
    "sig_ok",
    "sig_bad",
    "no_sig",
    "key_bad",
    "key_id",
    "tree_size",
    "leaf",
    "proof_len",
    "root_ok",
    "root_bad",
    "entry_ok",
    "entry_bad",
    "too_new",
    "fetch_failed",
    "all_ok",
    "some_bad",
    "no_crypto",
    "no_ed25519",
    "checkpoint",
    "origin",
    "root",
    "verify_again",
)


@dataclass(frozen=True)
class TrailRow:
    """One entry as the tab shows it; ``time`` and ``type`` are the entry's own values, which
    verify.js compares with the proven bytes."""

    index: int
    time: str
    type: str
    domain: str
    label_key: str | None
    domain_key: str | None
    org_id: str | None
    org_name: str | None
    user_id: str | None
    via: str
    via_key: str | None


def _word(key: str) -> str | None:
    return key if key in i18n.MESSAGES else None


def _rows(session: Session, subject: Subject, entries: list[Any]) -> list[TrailRow]:
    decoded = [(e.idx, json.loads(bytes(e.entry))) for e in entries]
    orgs = sorted({d["actor"]["org"] for _, d in decoded if d.get("actor", {}).get("org")})
    names = org_service.names(session, subject, orgs)
    rows = []
    for idx, data in decoded:
        actor = data.get("actor") or {}
        type_ = str(data.get("type", ""))
        domain = type_.split(".", 1)[0]
        org_id = actor.get("org")
        rows.append(
            TrailRow(
                index=int(idx),
                time=str(data.get("time", "")),
                type=type_,
                domain=domain,
                label_key=_word(f"trl.ev.{type_}"),
                domain_key=_word(f"trl.domain.{domain}"),
                org_id=org_id,
                org_name=names.get(org_id) if org_id else None,
                user_id=actor.get("user"),
                via=str(actor.get("via") or ""),
                via_key=_word(f"trl.via.{actor.get('via')}"),
            )
        )
    return rows


@router.get("/trail/{subject_id}", response_class=HTMLResponse)
def trail(
    request: Request,
    subject_id: str,
    page_no: int = Query(default=1, alias="page", ge=1, le=MAX_PAGE),
    subject: Subject = Depends(TRAIL_READER),
    session: Session = SESSION,
) -> HTMLResponse:
    """The trail of one subject: its ledger entries newest first, 20 a page, each verifiable in
    the browser. An htmx request gets the fragment; a direct visit gets it inside the frame."""
    entries, total = ledger_service.recent_trail(
        session, subject_id, PER_PAGE, (page_no - 1) * PER_PAGE
    )
    lang = lang_of(request)
    values: dict[str, Any] = {
        "subject_id": subject_id,
        "trail_url": f"/workspace/trail/{quote(subject_id, safe='')}",
        "rows": _rows(session, subject, entries),
        "total": total,
        "page_no": page_no,
        "pages": max(1, -(-total // PER_PAGE)),
        "ledger_key": ledger_service.verifier_key(session),
        "script_words": {w: i18n.t(f"trl.js.{w}", lang) for w in SCRIPT_WORDS},
    }
    values["key_name"], values["key_id"], _ = values["ledger_key"].split("+", 2)
    if fragment(request):
        return render(request, "ws/trail/_trail.html", subject, **values)
    return page(request, "ws/trail/page.html", subject, section="dashboard", **values)

"""Ledger API: public, read-only, cacheable views of the transparency log, plus the trail search."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.identity.access import PUBLIC, require
from yaosu.identity.subject import Subject
from yaosu.kit.pagination import MAX_LIMIT, Page
from yaosu.ledger.merkle import leaf_hash
from yaosu.ledger.service import ledger_service

router = APIRouter(prefix="/ledger", tags=["ledger"])

IMMUTABLE = "public, max-age=31536000, immutable"


class InclusionProof(BaseModel):
    index: int
    size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyProof(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: int = Field(alias="from")
    to: int
    proof: list[str]


class TrailEntry(BaseModel):
    index: int
    type: str
    time: str
    entry: dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(_: None = Depends(PUBLIC), session: Session = SESSION) -> Response:
    """The latest signed checkpoint (C2SP tlog-checkpoint signed note)."""
    cp = ledger_service.latest_checkpoint(session)
    return PlainTextResponse(cp.note, headers={"Cache-Control": "public, max-age=5"})


@router.post("/checkpoint", response_class=PlainTextResponse)
def issue_checkpoint(
    _: Subject = Depends(require("platform_admin", "auditor", scope="ledger:write")),
    session: Session = SESSION,
) -> Response:
    """Issue a checkpoint now (they are also issued on a schedule while the node serves)."""
    return PlainTextResponse(ledger_service.checkpoint(session).note)


@router.get("/key", response_class=PlainTextResponse)
def key(_: None = Depends(PUBLIC), session: Session = SESSION) -> Response:
    """The note verifier key: ``<name>+<hex key id>+<base64(0x01 ‖ Ed25519 public key)>``."""
    return PlainTextResponse(
        ledger_service.verifier_key(session) + "\n",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/entries/{index}")
def entry(index: int, _: None = Depends(PUBLIC), session: Session = SESSION) -> Response:
    """The exact entry bytes that were hashed into the leaf (canonical JSON)."""
    found = ledger_service.entry(session, index)
    return Response(
        bytes(found.entry), media_type="application/json", headers={"Cache-Control": IMMUTABLE}
    )


@router.get("/proof/inclusion", response_model=InclusionProof)
def inclusion(
    index: int = Query(ge=0),
    size: int = Query(ge=1),
    _: None = Depends(PUBLIC),
    session: Session = SESSION,
) -> Response:
    """Inclusion proof of entry ``index`` in the tree of ``size`` entries (RFC 9162 §2.1.3)."""
    proof = ledger_service.inclusion_proof(session, index, size)
    leaf = leaf_hash(bytes(ledger_service.entry(session, index).entry))
    body = InclusionProof(
        index=index, size=size, leaf_hash=_b64(leaf), proof=[_b64(p) for p in proof]
    )
    return Response(
        body.model_dump_json(), media_type="application/json", headers={"Cache-Control": IMMUTABLE}
    )


@router.get("/proof/consistency", responses={200: {"model": ConsistencyProof}})
def consistency(
    from_: int = Query(alias="from", ge=0),
    to: int = Query(ge=1),
    _: None = Depends(PUBLIC),
    session: Session = SESSION,
) -> Response:
    """Consistency proof between tree sizes ``from`` and ``to`` (RFC 9162 §2.1.4)."""
    proof = ledger_service.consistency_proof(session, from_, to)
    body = ConsistencyProof(from_=from_, to=to, proof=[_b64(p) for p in proof])
    return Response(
        body.model_dump_json(by_alias=True),
        media_type="application/json",
        headers={"Cache-Control": IMMUTABLE},
    )


@router.get("/trail/{subject_id}", response_model=Page[TrailEntry])
def trail(
    subject_id: str,
    limit: int = Query(default=50, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    _: Subject = Depends(require(scope="ledger:read")),
    session: Session = SESSION,
) -> Page[TrailEntry]:
    """Every ledger entry naming this subject (a resource, grant, request, user…), in order."""
    rows, total = ledger_service.trail(session, subject_id, limit, offset)
    items = []
    for r in rows:
        data = json.loads(r.entry)
        items.append(TrailEntry(index=r.idx, type=r.type, time=data["time"], entry=data))
    return Page(items=items, total=total, limit=limit, offset=offset)

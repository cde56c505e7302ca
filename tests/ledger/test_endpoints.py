"""An independent client fetches a checkpoint, an entry and its proof over HTTP and verifies them
with nothing but the verifier key (the stand-alone verifier, no database)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.fixtures.identity import bearer, create_org, create_user, login
from yaosu.ledger import merkle
from yaosu.ledger.verify import BundleError, verify_consistency_bundle, verify_inclusion_bundle


def test_fetch_and_verify_offline(client: Any, session: Any) -> None:
    org = create_org(session, "公安局")
    create_user(session, org, "officer.one", "data_officer")
    session.commit()
    key = client.get("/api/v1/ledger/key").text.strip()
    first = client.get("/api/v1/ledger/checkpoint")
    assert first.headers["content-type"].startswith("text/plain")
    size1 = int(first.text.split("\n")[1])
    create_org(session, "交通局")
    session.commit()
    second = client.get("/api/v1/ledger/checkpoint").text
    size2 = int(second.split("\n")[1])
    assert size2 > size1

    trail = client.get(
        f"/api/v1/ledger/trail/{org.id}", headers=bearer(login(session, "officer.one"))
    )
    session.commit()
    index = trail.json()["items"][0]["index"]
    assert trail.json()["items"][0]["type"] == "identity.org_created"
    entry = client.get(f"/api/v1/ledger/entries/{index}")
    assert "immutable" in entry.headers["cache-control"]
    proof = client.get(f"/api/v1/ledger/proof/inclusion?index={index}&size={size2}").json()
    assert proof["leaf_hash"] == base64.b64encode(merkle.leaf_hash(entry.content)).decode()
    checkpoint = verify_inclusion_bundle(key, second, entry.content, proof)
    assert checkpoint.size == size2

    consistency = client.get(f"/api/v1/ledger/proof/consistency?from={size1}&to={size2}").json()
    assert consistency["from"] == size1 and consistency["to"] == size2
    verify_consistency_bundle(key, first.text, second, consistency)

    with pytest.raises(ValueError):
        verify_inclusion_bundle(
            key, second, entry.content.replace(b"org_created", b"org_deleted"), proof
        )
    with pytest.raises(BundleError):
        verify_inclusion_bundle(key, first.text, entry.content, proof)  # proof is for another size


def test_bad_proof_requests_get_clear_errors(client: Any) -> None:
    size = int(client.get("/api/v1/ledger/checkpoint").text.split("\n")[1])
    r = client.get(f"/api/v1/ledger/proof/inclusion?index=0&size={size + 5}")
    assert r.status_code == 422 and r.json()["error"]["code"] == "ledger_bad_size"
    r = client.get("/api/v1/ledger/entries/999999")
    assert r.status_code == 404 and r.json()["error"]["message_zh"]
    r = client.get("/api/v1/ledger/proof/consistency?from=0&to=1")
    assert r.status_code == 422


def test_trail_needs_a_signed_in_user(client: Any) -> None:
    assert client.get("/api/v1/ledger/trail/anything").status_code == 401


def test_entry_json_is_the_hashed_bytes(client: Any, session: Any) -> None:
    create_org(session, "民政局")
    session.commit()
    raw = client.get("/api/v1/ledger/entries/0").content
    assert json.loads(raw)["type"] == "identity.org_created"

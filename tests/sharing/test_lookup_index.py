"""Keyed lookups through the key index stored beside the version (issue 15, item 9): every
lookup answers exactly what a scan of the version answers — the first row in file order with
the key that the row filter lets through, masked as the grant says — whether the index was
written with the version, built on first use, or found missing or damaged; and each call is
metered and ledgered as before."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy.orm import Session

from tests.fixtures.classification import name, resident_id
from tests.fixtures.committed import committed_client, committed_session  # noqa: F401
from tests.fixtures.identity import bearer, login
from tests.fixtures.sharing import grant_on, served_resource
from yaosu.catalog.service import dataset_service
from yaosu.dataplane import keyindex
from yaosu.models.catalog import DatasetVersion
from yaosu.policy.model import row

_rng = random.Random(15)
DISTRICTS = ["芝罘区", "莱山区"]
ROWS: list[dict[str, Any]] = [
    {
        "sfzh": resident_id(_rng),
        "xm": name(_rng),
        "bh": f"B{i % 40:03d}" if i % 9 else "",  # repeated keys, and empty (NULL) ones
        "nl": 18 + i % 50,
        "rq": f"2020-01-{1 + i % 28:02d}",
        "qx": DISTRICTS[(i // 3) % 2],
    }
    for i in range(120)
]
GRANTED = ["sfzh", "xm", "bh", "nl", "rq", "qx"]


@pytest.fixture
def world(client: Any, session: Session) -> dict[str, Any]:
    return make_world(session, ROWS)


def make_world(session: Session, rows: list[dict[str, Any]]) -> dict[str, Any]:
    served = served_resource(session, rows)
    grant = grant_on(
        session,
        served,
        GRANTED,
        masking={"xm": {"op": "mask", "format": "person_name"}},
        row_filter=[row("qx", "isAnyOf", ["芝罘区"])],
    )
    version = session.get(DatasetVersion, served.resource.current_version_id)
    assert version is not None
    path = str(dataset_service.storage().path(version.storage_key))
    session.commit()
    headers = bearer(login(session, served.username))
    session.commit()  # SQLite: release the write lock before the app writes
    return {"grant": grant.id, "headers": headers, "path": path}


def lookup(client: Any, w: dict[str, Any], by: str, key: str) -> Any:
    return client.get(
        f"/api/v1/services/{w['grant']}/lookup",
        params={"by": by, "key": key},
        headers=w["headers"],
    )


def scanned(client: Any, w: dict[str, Any], by: str, key: str) -> dict[str, Any] | None:
    """The scan's answer: the first row of ``/rows`` filtered on the key (file order)."""
    r = client.get(
        f"/api/v1/services/{w['grant']}/rows",
        params={by: f"eq.{key}", "limit": 1},
        headers=w["headers"],
    )
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["rows"]
    return rows[0] if rows else None


def answer(r: Any) -> dict[str, Any] | None:
    assert r.status_code in (200, 404), r.text
    if r.status_code == 404:
        assert r.json()["error"]["code"] == "no_such_entity"
        return None
    found: dict[str, Any] = r.json()["row"]
    return found


def usage_today(client: Any, w: dict[str, Any]) -> dict[str, Any]:
    r = client.get(f"/api/v1/grants/{w['grant']}/usage", headers=w["headers"])
    days: list[dict[str, Any]] = r.json()["days"]
    return days[-1]


PROBES = [
    ("sfzh", str(ROWS[0]["sfzh"])),  # unique, visible
    ("sfzh", str(ROWS[3]["sfzh"])),  # unique, hidden by the row filter
    ("sfzh", "110101190001010000"),  # absent
    ("bh", "B001"),  # repeated: the first visible one answers
    ("bh", "B004"),  # repeated, first occurrence hidden
    ("nl", "20"),  # integer key, repeated
    ("nl", "99"),  # integer key, absent
    ("rq", "2020-01-05"),  # date key
    ("qx", "莱山区"),  # only hidden rows hold it
]


def test_lookups_through_the_index_answer_as_the_scan(client: Any, world: Any) -> None:
    for by, key in PROBES:
        found = answer(lookup(client, world, by, key))
        assert found == scanned(client, world, by, key), (by, key)
        if found is not None:
            assert found["qx"] == "芝罘区" and found["xm"] not in {r["xm"] for r in ROWS}
    # Every column answered from its index file, written beside the version.
    for by in ("sfzh", "bh", "nl", "rq", "qx"):
        stored = keyindex.index_path(world["path"], by)
        assert stored is not None and os.path.exists(stored), by


def test_the_resident_id_index_is_written_with_the_version(client: Any, session: Session) -> None:
    # Rows of their own: versions are content-addressed, and the test storage is shared.
    world = make_world(session, [*ROWS, {**ROWS[0], "xm": f"测{random.random()}"}])
    stored = keyindex.index_path(world["path"], "sfzh")
    assert stored is not None and os.path.exists(stored)  # before any lookup
    assert keyindex.index_path(world["path"], "nl") is not None
    assert not os.path.exists(str(keyindex.index_path(world["path"], "nl")))


def _fresh_engine() -> None:
    """Forget what this process holds in memory, as a new server process would."""
    from yaosu.sharing.dataservice import engine

    engine().clear_cache()


@pytest.mark.parametrize("damage", ["missing", "truncated", "flipped", "foreign"])
def test_a_missing_or_damaged_index_is_rebuilt_never_used(
    client: Any, world: Any, damage: str
) -> None:
    probes = [("sfzh", str(ROWS[0]["sfzh"])), ("bh", "B001"), ("sfzh", str(ROWS[6]["sfzh"]))]
    expected = [answer(lookup(client, world, by, key)) for by, key in probes]
    for by in ("sfzh", "bh"):
        stored = Path(str(keyindex.index_path(world["path"], by)))
        data = stored.read_bytes()
        if damage == "missing":
            stored.unlink()
        elif damage == "truncated":
            stored.write_bytes(data[: len(data) // 2])
        elif damage == "flipped":
            stored.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
        else:  # the other column's index put in its place
            other = Path(str(keyindex.index_path(world["path"], "bh" if by == "sfzh" else "sfzh")))
            stored.write_bytes(other.read_bytes())
    _fresh_engine()
    assert [answer(lookup(client, world, by, key)) for by, key in probes] == expected
    for by in ("sfzh", "bh"):  # rebuilt, whole, in place
        assert keyindex.load(world["path"], by, len(ROWS), pa.string()) is not None


def test_lookups_are_metered_and_ledgered_exactly(client: Any, world: Any) -> None:
    hits = misses = 0
    for by, key in PROBES:
        if answer(lookup(client, world, by, key)) is None:
            misses += 1
        else:
            hits += 1
    today = usage_today(client, world)
    assert (today["calls"], today["rows"], today["refusals"]) == (len(PROBES), hits, {})
    assert misses and hits
    trail = client.get(
        f"/api/v1/ledger/trail/{world['grant']}?limit=100", headers=world["headers"]
    ).json()
    called = [e for e in trail["items"] if e["type"] == "sharing.service_called"]
    assert len(called) == len(PROBES)

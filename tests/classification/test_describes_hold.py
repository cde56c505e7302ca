"""A ``place`` row subject 描述对象 never outlives a column that identifies people, whichever
path made the column so: a data officer's type correction on the version, or that correction
carried over to the next version. The addresses of such a table are masked again (and the
overruling is in the ledger). Both databases."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.classification.test_describes import (
    HOME_FIELDS,
    address,
    classes,
    loaded,
    masked,
)
from tests.classification.test_describes import world as world  # the fixture
from tests.classification.test_publication_check import ingest, trail
from tests.fixtures.identity import SYSTEM
from yaosu.catalog import schemas as catalog_schemas
from yaosu.catalog.service import resource_service
from yaosu.classification import schemas
from yaosu.classification.service import classification_service, opening_service

FIELDS = [*HOME_FIELDS, {"name": "zbr", "label_zh": "值班人"}]


def homes_with_duty(n: int = 40, seed: int = 12) -> list[dict[str, Any]]:
    """Care homes with a duty column whose values no detector reads as a person's name."""
    rng = random.Random(seed)
    return [
        {
            "jgmc": f"示范市{i}号养老院",
            "dz": address(rng),
            "cws": rng.randrange(30, 400),
            "zbr": f"ZB{rng.randrange(100, 999)}",
        }
        for i in range(n)
    ]


def correct_to_person(session: Session, w: dict[str, Any], vc: Any) -> Any:
    return classification_service.review_field(
        session,
        w["officer"],
        vc.version_id,
        schemas.FieldReview(column="zbr", type="person_name", reason="值班人编号即护工本人"),
    )


@pytest.mark.parametrize("declared", [None, "place"])
def test_a_column_corrected_to_a_person_overrules_place(
    session: Session, world: dict[str, Any], declared: str | None
) -> None:
    r, vc = loaded(session, world, homes_with_duty(), FIELDS, describes=declared)
    assert vc.describes == "place" and classes(vc)["dz"] == "none"
    correct_to_person(session, world, vc)
    assert (vc.describes, vc.describes_source) == ("person", "inferred")
    assert "zbr" in (vc.describes_reason or "")
    assert classes(vc)["dz"] == "general"
    assert masked(session, vc)["rules"]["dz"]["op"] == "mask"
    assert {c.column: c.op for c in opening_service.check(session, r).columns}["dz"] == "mask"
    assert "classification.describes_applied" in trail(session, r.id)


@pytest.mark.parametrize("declared", [None, "place"])
def test_a_carried_correction_overrules_place_on_the_next_version(
    session: Session, world: dict[str, Any], declared: str | None
) -> None:
    r, vc = loaded(session, world, homes_with_duty(), FIELDS, describes=declared)
    correct_to_person(session, world, vc)
    resource_service.submit(session, SYSTEM, r.id)
    resource_service.publish(session, world["reviewer"], r.id)
    # The next version is staged beside the published one and carries its column reviews.
    version = ingest(session, world["officer"], r.id, homes_with_duty(seed=77))
    nxt = classification_service.get(session, SYSTEM, version.id)
    assert {f.column: f.type for f in nxt.fields}["zbr"] == "person_name"  # carried over
    assert nxt.describes == "person"
    assert classes(nxt)["dz"] == "general"
    assert masked(session, nxt)["rules"]["dz"]["op"] == "mask"


def test_a_place_stands_when_no_column_identifies_people(
    session: Session, world: dict[str, Any]
) -> None:
    _, vc = loaded(session, world, homes_with_duty(), FIELDS)
    classification_service.review_field(
        session,
        world["officer"],
        vc.version_id,
        schemas.FieldReview(column="cws", type="none", reason="床位数"),
    )
    assert vc.describes == "place" and classes(vc)["dz"] == "none"


def test_a_changed_declaration_reaches_a_staged_version(
    session: Session, world: dict[str, Any]
) -> None:
    """A staged version waiting for acceptance follows a changed declaration like the current
    one: accepting it later never serves it under the old ``place``."""
    r, vc = loaded(session, world, homes_with_duty(), FIELDS)
    resource_service.submit(session, SYSTEM, r.id)
    resource_service.publish(session, world["reviewer"], r.id)
    # A new column: the version waits for a reviewer beside the published one.
    rows = [{**h, "bz": "无"} for h in homes_with_duty(seed=78)]
    staged = ingest(session, world["officer"], r.id, rows)
    assert r.current_version_id != staged.id
    waiting = classification_service.get(session, SYSTEM, staged.id)
    assert waiting.describes == "place" and classes(waiting)["dz"] == "none"
    resource_service.update(
        session, world["officer"], r.id, catalog_schemas.ResourceUpdate(describes="person")
    )
    for one in (vc, waiting):
        assert (one.describes, one.describes_source) == ("person", "declared")
        assert classes(one)["dz"] == "general"
        assert masked(session, one)["rules"]["dz"]["op"] == "mask"

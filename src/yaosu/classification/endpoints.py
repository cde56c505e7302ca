"""Classification API: findings and grades of dataset versions and their review, the
vocabulary and rule table, the important-data catalog, masking policies, de-identified exports
and k-anonymity reports."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from yaosu.api.deps import SESSION
from yaosu.catalog.schemas import Reason
from yaosu.classification import schemas
from yaosu.classification.masking import KAnonymityReport
from yaosu.classification.service import (
    classification_service,
    important_data_service,
    masking_service,
    opening_service,
)
from yaosu.identity.access import require
from yaosu.identity.subject import Subject
from yaosu.kit.pagination import MAX_LIMIT, Page, page_of

router = APIRouter(tags=["classification"])

READ = require(scope="catalog:read")
EDIT = require("data_officer", "cdo", "platform_admin", scope="catalog:write")
AUTHORITY = require("reviewer", "platform_admin", scope="catalog:write")
# The provider's officers review grades; the data authority may too (catalog-listed data).
GRADE = require("data_officer", "cdo", "reviewer", "platform_admin", scope="catalog:write")
CATALOG_READ = require(
    "data_officer", "cdo", "reviewer", "platform_admin", "auditor", scope="catalog:read"
)


def _c(vc: Any) -> schemas.Classification:
    return schemas.Classification.model_validate(vc)


@router.get("/classification/vocabulary", response_model=schemas.Vocabulary)
def vocabulary(subject: Subject = Depends(READ)) -> schemas.Vocabulary:
    """Detected types with their personal-information class, the grades with what each lets
    sharing do, and the node's grading rule table (with its digest)."""
    return classification_service.vocabulary()


@router.get("/resources/{resource_id}/publication-check", response_model=schemas.PublicationCheck)
def publication_check(
    resource_id: str, subject: Subject = Depends(CATALOG_READ), session: Session = SESSION
) -> schemas.PublicationCheck:
    """The publication card 发布审查: each column of the current version with its detected
    and reviewed type and class and its rule in an open distribution, the k-anonymity of that
    distribution, whether it may be opened without conditions, and the findings digest to send
    back when publishing. For the data authority and the provider's officers."""
    check = opening_service.card(session, subject, resource_id)
    return schemas.PublicationCheck.model_validate(check.view())


@router.get("/dataset-versions/{version_id}/classification", response_model=schemas.Classification)
def get_classification(
    version_id: str, subject: Subject = Depends(READ), session: Session = SESSION
) -> schemas.Classification:
    """Each field's detected type, confidence and class, and the proposed and reviewed grade."""
    return _c(classification_service.get(session, subject, version_id))


@router.post(
    "/dataset-versions/{version_id}/classification/rerun", response_model=schemas.Classification
)
def rerun_classification(
    version_id: str, subject: Subject = Depends(EDIT), session: Session = SESSION
) -> schemas.Classification:
    """Classify the version again (after the rule table or the catalog changed)."""
    return _c(classification_service.classify(session, subject, version_id))


@router.post(
    "/dataset-versions/{version_id}/classification/fields", response_model=schemas.Classification
)
def review_field(
    version_id: str,
    data: schemas.FieldReview,
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> schemas.Classification:
    """Accept or correct a field's type and class; a correction needs a reason."""
    return _c(classification_service.review_field(session, subject, version_id, data))


@router.post(
    "/dataset-versions/{version_id}/classification/describes",
    response_model=schemas.Classification,
)
def review_describes(
    version_id: str,
    data: schemas.DescribesReview,
    subject: Subject = Depends(GRADE),
    session: Session = SESSION,
) -> schemas.Classification:
    """Correct what the table's rows describe 描述对象 (a reason is required): in a table of
    places, coordinates and addresses are not personal information, so they are not masked and
    do not raise the grade. For the provider's officers and the data authority; recorded in the
    ledger and carried over to later versions."""
    return _c(classification_service.review_describes(session, subject, version_id, data))


@router.post(
    "/dataset-versions/{version_id}/classification/grade", response_model=schemas.Classification
)
def review_grade(
    version_id: str,
    data: schemas.GradeReview,
    subject: Subject = Depends(GRADE),
    session: Session = SESSION,
) -> schemas.Classification:
    """Accept the proposed grade or set another with a reason."""
    return _c(classification_service.review_grade(session, subject, version_id, data))


@router.post("/dataset-versions/{version_id}/masked-export")
def masked_export(
    version_id: str,
    data: schemas.MaskedExportRequest,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> FileResponse:
    """Download a de-identified copy of a version under a saved policy, inline rules, or the
    ``default`` policy derived from its classification. The SHA-256 of the file is in the
    ``X-Content-SHA256`` header and in the ledger."""
    out = masking_service.export(session, subject, version_id, data.policy, data.rules, data.format)
    return FileResponse(
        out.path,
        media_type=out.media_type,
        filename=out.filename,
        headers={"X-Content-SHA256": out.sha256, "X-Row-Count": str(out.rows)},
        background=BackgroundTask(os.unlink, out.path),
    )


@router.post("/dataset-versions/{version_id}/k-anonymity", response_model=KAnonymityReport)
def k_anonymity(
    version_id: str,
    data: schemas.KAnonymityRequest,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> KAnonymityReport:
    """Smallest equivalence class and share of records below k for chosen quasi-identifiers,
    before and after an optional generalization plan."""
    return masking_service.k_anonymity(session, subject, version_id, data)


# --- important-data catalog -----------------------------------------------------------------
@router.get("/important-data", response_model=Page[schemas.ImportantEntry])
def list_entries(
    status: str | None = Query(default=None, description="active or retired"),
    limit: int = Query(default=50, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject = Depends(CATALOG_READ),
    session: Session = SESSION,
) -> Page[schemas.ImportantEntry]:
    """The important-data catalog 重要数据目录."""
    rows, total = important_data_service.listing(session, subject, status, limit, offset)
    return page_of(schemas.ImportantEntry, rows, total, limit, offset)


@router.post("/important-data", status_code=201, response_model=schemas.ImportantEntry)
def add_entry(
    data: schemas.ImportantEntryCreate,
    subject: Subject = Depends(AUTHORITY),
    session: Session = SESSION,
) -> schemas.ImportantEntry:
    """Add an entry (data authority)."""
    return schemas.ImportantEntry.model_validate(
        important_data_service.create(session, subject, data)
    )


@router.get("/important-data/{entry_id}", response_model=schemas.ImportantEntry)
def get_entry(
    entry_id: str, subject: Subject = Depends(CATALOG_READ), session: Session = SESSION
) -> schemas.ImportantEntry:
    return schemas.ImportantEntry.model_validate(
        important_data_service.get(session, subject, entry_id)
    )


@router.patch("/important-data/{entry_id}", response_model=schemas.ImportantEntry)
def update_entry(
    entry_id: str,
    data: schemas.ImportantEntryUpdate,
    subject: Subject = Depends(AUTHORITY),
    session: Session = SESSION,
) -> schemas.ImportantEntry:
    return schemas.ImportantEntry.model_validate(
        important_data_service.update(session, subject, entry_id, data)
    )


@router.post("/important-data/{entry_id}/retire", response_model=schemas.ImportantEntry)
def retire_entry(
    entry_id: str,
    body: Reason,
    subject: Subject = Depends(AUTHORITY),
    session: Session = SESSION,
) -> schemas.ImportantEntry:
    return schemas.ImportantEntry.model_validate(
        important_data_service.retire(session, subject, entry_id, body.reason)
    )


# --- masking policies -----------------------------------------------------------------------
@router.get("/masking-policies", response_model=list[schemas.MaskingPolicy])
def list_policies(
    subject: Subject = Depends(READ), session: Session = SESSION
) -> list[schemas.MaskingPolicy]:
    """The caller's organization's saved masking policies 脱敏策略."""
    return [
        schemas.MaskingPolicy.model_validate(p) for p in masking_service.policies(session, subject)
    ]


@router.post("/masking-policies", status_code=201, response_model=schemas.MaskingPolicy)
def create_policy(
    data: schemas.MaskingPolicyCreate,
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> schemas.MaskingPolicy:
    """Save a named policy for the caller's organization (checked before it is stored)."""
    return schemas.MaskingPolicy.model_validate(masking_service.create(session, subject, data))

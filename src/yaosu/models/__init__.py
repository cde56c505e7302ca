"""Every ORM table. Importing this package registers them all on ``Base.metadata``."""

from yaosu.models.base import Base
from yaosu.models.catalog import (
    CatalogVersion,
    CodeSequence,
    DatasetVersion,
    Demand,
    DemandAnswer,
    IngestJob,
    PullSchedule,
    Registration,
    Resource,
    SearchTerm,
    UploadSession,
)
from yaosu.models.classification import (
    FieldClassification,
    ImportantDataEntry,
    MaskingPolicyRecord,
    VersionClassification,
)
from yaosu.models.identity import (
    Admission,
    ApiToken,
    Organization,
    OrgKey,
    User,
    UserRole,
)
from yaosu.models.ledger import (
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    LedgerNode,
    LedgerSubject,
    NodeKey,
)

__all__ = [
    "Admission",
    "ApiToken",
    "Base",
    "CatalogVersion",
    "CodeSequence",
    "DatasetVersion",
    "Demand",
    "DemandAnswer",
    "FieldClassification",
    "ImportantDataEntry",
    "IngestJob",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHead",
    "LedgerNode",
    "LedgerSubject",
    "MaskingPolicyRecord",
    "NodeKey",
    "OrgKey",
    "Organization",
    "PullSchedule",
    "Registration",
    "Resource",
    "SearchTerm",
    "UploadSession",
    "User",
    "UserRole",
    "VersionClassification",
]

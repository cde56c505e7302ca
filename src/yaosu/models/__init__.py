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
from yaosu.models.opendata import OpenDistribution, PublicDemand, Reuse
from yaosu.models.sharing import (
    Grant,
    GrantRefusal,
    GrantUsage,
    ResponsibilityItem,
    ShareRequest,
    Subscription,
    WebhookDelivery,
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
    "Grant",
    "GrantRefusal",
    "GrantUsage",
    "ImportantDataEntry",
    "IngestJob",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHead",
    "LedgerNode",
    "LedgerSubject",
    "MaskingPolicyRecord",
    "NodeKey",
    "OpenDistribution",
    "OrgKey",
    "Organization",
    "PublicDemand",
    "PullSchedule",
    "Registration",
    "Resource",
    "ResponsibilityItem",
    "Reuse",
    "SearchTerm",
    "ShareRequest",
    "Subscription",
    "UploadSession",
    "User",
    "UserRole",
    "VersionClassification",
    "WebhookDelivery",
]

"""Tables of the transparency log: entries, perfect-subtree nodes, head, checkpoints, node keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yaosu.models.base import Base, created_column

# BIGINT on PostgreSQL; SQLite only aliases rowid for INTEGER, which we don't rely on.
BigIndex = BigInteger().with_variant(Integer(), "sqlite")


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    idx: Mapped[int] = mapped_column(BigIndex, primary_key=True, autoincrement=False)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    # The RFC 9162 leaf hash of ``entry``; level 0 of the tree lives here, not in ledger_nodes.
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    type: Mapped[str] = mapped_column(String(80))
    time: Mapped[datetime]


class LedgerSubject(Base):
    """Subject ids of each entry, so a unit can list the trail of one resource or grant."""

    __tablename__ = "ledger_subjects"

    subject_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    idx: Mapped[int] = mapped_column(BigIndex, primary_key=True, autoincrement=False, index=True)


class LedgerNode(Base):
    """Hash of a perfect subtree of level >= 1 (leaves are on the entry rows).

    One BIGINT key, ``level << 56 | index`` (see ``node_key``), so a proof's nodes are fetched
    with a single ``id IN (...)`` primary-key lookup on SQLite and PostgreSQL alike.
    """

    __tablename__ = "ledger_nodes"

    id: Mapped[int] = mapped_column(BigIndex, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


NODE_LEVEL_SHIFT = 56


def node_key(level: int, index: int) -> int:
    return (level << NODE_LEVEL_SHIFT) | index


class LedgerHead(Base):
    """One row: the log size. Locking it serializes appends on SQLite and PostgreSQL alike."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigIndex)


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(BigIndex, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()


class NodeKey(Base):
    """This node's own signing keys (e.g. the ledger's checkpoint key), sealed at rest."""

    __tablename__ = "node_keys"

    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_private: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = created_column()

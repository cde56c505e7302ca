"""Transparency ledger: RFC 9162 Merkle log with signed checkpoints."""

"""Domain-free helpers: errors, ids, pagination, canonical JSON, crypto, checksums."""

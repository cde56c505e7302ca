"""Crypto helpers: the node key, sealing private keys at rest, Ed25519, multibase, tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import base58
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

_SEAL_VERSION = b"\x01"
_ED25519_MULTICODEC = b"\xed\x01"


class SealError(ValueError):
    """A sealed secret could not be opened (wrong node key or tampered ciphertext)."""


def load_or_create_node_key(configured: str | None, data_dir: Path) -> bytes:
    """The 32-byte node key: from configuration, else from ``data_dir/node.key`` (made once)."""
    if configured:
        key = base64.b64decode(configured, validate=True)
        if len(key) != 32:
            raise ValueError("YAOSU_NODE_KEY must be base64 of exactly 32 bytes")
        return key
    path = data_dir / "node.key"
    if path.exists():
        key = base64.b64decode(path.read_text().strip(), validate=True)
        if len(key) != 32:
            raise ValueError(f"{path} does not hold a 32-byte base64 key")
        return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key).decode() + "\n")
    return key


def seal(node_key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """AES-256-GCM with the node key; ``context`` binds the ciphertext to its owner."""
    nonce = os.urandom(12)
    return _SEAL_VERSION + nonce + AESGCM(node_key).encrypt(nonce, plaintext, context)


def unseal(node_key: bytes, sealed: bytes, context: bytes) -> bytes:
    if not sealed or sealed[:1] != _SEAL_VERSION:
        raise SealError("unknown sealed-key format")
    try:
        return AESGCM(node_key).decrypt(sealed[1:13], sealed[13:], context)
    except InvalidTag as exc:
        raise SealError("sealed key does not open with this node key") from exc


def new_ed25519() -> tuple[Ed25519PrivateKey, bytes]:
    private = Ed25519PrivateKey.generate()
    return private, public_bytes(private.public_key())


def private_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def ed25519_from_private(raw: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(raw)


def ed25519_multibase(public: bytes) -> str:
    """Multikey form: 'z' + base58btc(0xed01 ‖ key), as did:key and Multikey use."""
    return "z" + base58.b58encode(_ED25519_MULTICODEC + public).decode()


def new_token_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_digest(token: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe at-rest form (no stretching)."""
    return hashlib.sha256(token.encode()).hexdigest()


def derive(node_key: bytes, label: str) -> bytes:
    return hmac.new(node_key, label.encode(), hashlib.sha256).digest()

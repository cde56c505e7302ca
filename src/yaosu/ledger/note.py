"""C2SP signed notes (Ed25519) and tlog-checkpoint bodies.

A signed note is a UTF-8 text ending in a newline, then a blank line, then one
or more signature lines ``— <name> <base64(key id || signature)>``. The key id
is the first four bytes of ``SHA-256(name || "\\n" || 0x01 || public key)``.
Signatures from keys the reader does not know are ignored, so a note can carry
cosignatures from witnesses alongside the log's own signature.

A checkpoint body is ``<origin>\\n<size>\\n<base64 root>\\n`` followed by
optional extension lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ALG_ED25519",
    "MAX_NOTE_SIZE",
    "MAX_SIGNATURES",
    "Checkpoint",
    "CheckpointError",
    "NoteError",
    "Verifier",
    "add_signature",
    "format_checkpoint",
    "key_id",
    "open_note",
    "parse_checkpoint",
    "parse_verifier_key",
    "sign_note",
    "verifier_key",
]

ALG_ED25519 = 0x01
MAX_NOTE_SIZE = 1 << 20
# Bounds the work an attacker can force on a reader, as in the Go implementation.
MAX_SIGNATURES = 100
SIGNATURE_PREFIX = "\u2014 "  # EM DASH + space

_KEY_ID_SIZE = 4
_ED25519_PUBLIC_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_HASH_SIZE = 32
_MAX_TREE_SIZE = (1 << 64) - 1
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """A signed note or verifier key is malformed, or its signatures do not check out."""


class CheckpointError(ValueError):
    """A checkpoint body is malformed."""


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _b64decode(text: str, what: str, exc: type[ValueError]) -> bytes:
    """Strict standard base64: padded, no whitespace, canonical encoding only."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise exc(f"{what} is not valid base64") from e
    # Re-encoding rejects non-zero padding bits, so each value has one spelling.
    if base64.b64encode(raw).decode("ascii") != text:
        raise exc(f"{what} is not canonical base64")
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc"


def _is_valid_name(name: str) -> bool:
    return (
        bool(name) and "+" not in name and not any(ch.isspace() or _is_control(ch) for ch in name)
    )


def _check_name(name: str) -> None:
    if not _is_valid_name(name):
        raise NoteError(
            f"invalid key name {name!r}: must be non-empty, without '+', whitespace "
            "or control characters"
        )


def _raw_public_key(key: bytes | Ed25519PublicKey) -> bytes:
    if isinstance(key, Ed25519PublicKey):
        return key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    if len(key) != _ED25519_PUBLIC_KEY_SIZE:
        raise NoteError(
            f"Ed25519 public key is {len(key)} bytes, expected {_ED25519_PUBLIC_KEY_SIZE}"
        )
    return bytes(key)


def _encode_text(text: str | bytes) -> tuple[str, bytes]:
    """Return the note as both str and UTF-8 bytes, enforcing size and encoding."""
    if isinstance(text, bytes):
        if len(text) > MAX_NOTE_SIZE:
            raise NoteError(f"note is larger than {MAX_NOTE_SIZE} bytes")
        try:
            return text.decode("utf-8"), text
        except UnicodeDecodeError as e:
            raise NoteError("note is not valid UTF-8") from e
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise NoteError("note is not valid UTF-8 (contains lone surrogates)") from e
    if len(raw) > MAX_NOTE_SIZE:
        raise NoteError(f"note is larger than {MAX_NOTE_SIZE} bytes")
    return text, raw


def _check_note_chars(text: str) -> None:
    for ch in text:
        if ch < " " and ch != "\n":
            raise NoteError(f"malformed note: contains control character {ch!r}")


def _check_body(body: str) -> bytes:
    body, raw = _encode_text(body)
    if not body:
        raise NoteError("note text is empty")
    if not body.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_note_chars(body)
    return raw


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------


def key_id(name: str, public_key: bytes | Ed25519PublicKey) -> bytes:
    """Four-byte C2SP key id of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    raw = _raw_public_key(public_key)
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + raw)
    return digest.digest()[:_KEY_ID_SIZE]


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key that can check note signatures."""

    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes | Ed25519PublicKey) -> Verifier:
        _check_name(name)
        raw = _raw_public_key(public_key)
        return cls(name, key_id(name, raw), raw)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is a valid Ed25519 signature of ``message``."""
        if len(signature) != _ED25519_SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __str__(self) -> str:
        return verifier_key(self.name, self.public_key)


def verifier_key(name: str, public_key: bytes | Ed25519PublicKey) -> str:
    """Encode a verifier key as ``<name>+<hex key id>+<base64(0x01 || key)>``."""
    _check_name(name)
    raw = _raw_public_key(public_key)
    return f"{name}+{key_id(name, raw).hex()}+{_b64encode(bytes([ALG_ED25519]) + raw)}"


def parse_verifier_key(text: str) -> Verifier:
    """Parse a ``<name>+<hex key id>+<base64 key>`` verifier key (Ed25519 only)."""
    name, sep1, rest = text.partition("+")
    id_hex, sep2, key_b64 = rest.partition("+")
    if not sep1 or not sep2:
        raise NoteError("malformed verifier key: expected <name>+<hex key id>+<base64 key>")
    _check_name(name)
    if not _HEX8.fullmatch(id_hex):
        raise NoteError(f"malformed verifier key: key id {id_hex!r} is not 8 hex digits")
    key = _b64decode(key_b64, "verifier key", NoteError)
    if not key:
        raise NoteError("malformed verifier key: empty key")
    if key[0] != ALG_ED25519:
        raise NoteError(f"unsupported verifier key type 0x{key[0]:02x} (only Ed25519 0x01)")
    if len(key) != 1 + _ED25519_PUBLIC_KEY_SIZE:
        raise NoteError(
            f"malformed verifier key: Ed25519 key is {len(key) - 1} bytes, "
            f"expected {_ED25519_PUBLIC_KEY_SIZE}"
        )
    raw = key[1:]
    want = key_id(name, raw)
    if bytes.fromhex(id_hex) != want:
        raise NoteError(
            f"verifier key id {id_hex.lower()} does not match the key (expected {want.hex()})"
        )
    return Verifier(name, want, raw)


# --------------------------------------------------------------------------
# Signed notes
# --------------------------------------------------------------------------


def _signature_line(body_raw: bytes, name: str, private_key: Ed25519PrivateKey) -> str:
    _check_name(name)
    kid = key_id(name, private_key.public_key())
    return f"{SIGNATURE_PREFIX}{name} {_b64encode(kid + private_key.sign(body_raw))}\n"


def sign_note(body: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign ``body`` (which must end with a newline) and return the complete note."""
    raw = _check_body(body)
    return body + "\n" + _signature_line(raw, name, private_key)


def _split_note(note: str | bytes) -> tuple[str, list[tuple[str, bytes, str]]]:
    """Split a note into its text and ``(name, key id || signature, line)`` triples."""
    text, _ = _encode_text(note)
    _check_note_chars(text)
    split = text.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    body, sigs = text[: split + 1], text[split + 2 :]
    if not sigs:
        raise NoteError("malformed note: no signature lines")
    if not sigs.endswith("\n"):
        raise NoteError("malformed note: missing final newline")
    lines = sigs[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    parsed: list[tuple[str, bytes, str]] = []
    for n, line in enumerate(lines, start=1):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"malformed note: signature line {n} does not start with '— '")
        name, sep, sig_b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not sep or not _is_valid_name(name):
            raise NoteError(f"malformed note: signature line {n} has an invalid key name")
        sig = _b64decode(sig_b64, f"signature line {n}", NoteError)
        if len(sig) <= _KEY_ID_SIZE:
            raise NoteError(f"malformed note: signature line {n} is too short")
        parsed.append((name, sig, line))
    return body, parsed


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> tuple[str, list[str]]:
    """Verify a signed note; return its text and the names of the known keys that signed it.

    Signature lines from unknown keys (name and key id not among ``verifiers``)
    are ignored. Raises :class:`NoteError` if the note is malformed, if a
    signature by a known key does not verify, or if no known key signed it.
    """
    known: dict[tuple[str, bytes], Verifier] = {}
    for v in verifiers:
        other = known.setdefault((v.name, v.key_id), v)
        if other.public_key != v.public_key:
            raise NoteError(f"ambiguous verifiers: two keys named {v.name!r} share a key id")
    body, sigs = _split_note(note)
    body_raw = body.encode("utf-8")
    signers: list[str] = []
    unknown: list[str] = []
    for name, sig, _line in sigs:
        signer = known.get((name, sig[:_KEY_ID_SIZE]))
        if signer is None:
            unknown.append(name)
            continue
        if not signer.verify(body_raw, sig[_KEY_ID_SIZE:]):
            raise NoteError(
                f"invalid signature by {name} (key id {signer.key_id.hex()}): "
                "the note was altered or signed with another key"
            )
        if name not in signers:
            signers.append(name)
    if not signers:
        present = ", ".join(dict.fromkeys(unknown))
        raise NoteError(f"note has no signature from a known key (signed only by: {present})")
    return body, signers


def add_signature(note: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Append a (co)signature to an already signed note without checking existing ones."""
    body, sigs = _split_note(note)
    lines = "".join(line + "\n" for _name, _sig, line in sigs)
    if len(sigs) >= MAX_SIGNATURES:
        raise NoteError(f"note already has {MAX_SIGNATURES} signatures")
    return body + "\n" + lines + _signature_line(body.encode("utf-8"), name, private_key)


# --------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A parsed tlog-checkpoint body."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The canonical checkpoint text (what gets signed)."""
        return format_checkpoint(self.origin, self.size, self.root, self.extensions)


def _check_line(what: str, line: str) -> None:
    if not line:
        raise CheckpointError(f"checkpoint {what} is empty")
    if any(_is_control(ch) for ch in line):
        raise CheckpointError(f"checkpoint {what} contains a control character")


def _check_origin(origin: str) -> None:
    _check_line("origin", origin)
    if origin != origin.strip():
        raise CheckpointError("checkpoint origin has leading or trailing whitespace")


def format_checkpoint(origin: str, size: int, root: bytes, extensions: Sequence[str] = ()) -> str:
    """Render a checkpoint body; every line, including the last, ends with a newline."""
    _check_origin(origin)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= _MAX_TREE_SIZE:
        raise CheckpointError(f"checkpoint size must be an integer in [0, 2**64), got {size!r}")
    if len(root) != _HASH_SIZE:
        raise CheckpointError(f"checkpoint root is {len(root)} bytes, expected {_HASH_SIZE}")
    for i, ext in enumerate(extensions):
        _check_line(f"extension line {i + 1}", ext)
    lines = [origin, str(size), _b64encode(root), *extensions]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(body: str) -> Checkpoint:
    """Strictly parse a checkpoint body (the text of a signed note)."""
    if not body.endswith("\n"):
        raise CheckpointError("checkpoint must end with a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(
            f"checkpoint needs origin, size and root hash lines, got {len(lines)} line(s)"
        )
    origin, size_text, root_text, *extensions = lines
    _check_origin(origin)
    if not _DECIMAL.fullmatch(size_text):
        raise CheckpointError(
            f"checkpoint size {size_text!r} is not a decimal number without sign or leading zeros"
        )
    size = int(size_text)
    if size > _MAX_TREE_SIZE:
        raise CheckpointError(f"checkpoint size {size} does not fit in 64 bits")
    root = _b64decode(root_text, "checkpoint root hash", CheckpointError)
    if len(root) != _HASH_SIZE:
        raise CheckpointError(f"checkpoint root hash is {len(root)} bytes, expected {_HASH_SIZE}")
    for i, ext in enumerate(extensions):
        _check_line(f"extension line {i + 1}", ext)
    return Checkpoint(origin, size, root, tuple(extensions))

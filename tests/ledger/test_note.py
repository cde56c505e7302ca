"""Tests for C2SP signed notes, verifier keys and tlog checkpoints."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from yaosu.ledger.note import (
    MAX_NOTE_SIZE,
    Checkpoint,
    CheckpointError,
    NoteError,
    Verifier,
    add_signature,
    format_checkpoint,
    key_id,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_note,
    verifier_key,
)

NAME = "example.com/log"
ROOT = hashlib.sha256(b"root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@pytest.fixture
def verifier(key: Ed25519PrivateKey) -> Verifier:
    return parse_verifier_key(verifier_key(NAME, _raw(key)))


@pytest.fixture
def body() -> str:
    return format_checkpoint(NAME, 42, ROOT)


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------


def test_key_id_matches_independent_computation(key: Ed25519PrivateKey) -> None:
    raw = _raw(key)
    expected = hashlib.new("sha256")
    for part in (NAME.encode(), b"\x0a", b"\x01", raw):
        expected.update(part)
    assert key_id(NAME, raw) == expected.digest()[:4]
    assert key_id(NAME, key.public_key()) == key_id(NAME, raw)
    assert key_id("other", raw) != key_id(NAME, raw)


def test_verifier_key_round_trip(key: Ed25519PrivateKey) -> None:
    raw = _raw(key)
    text = verifier_key(NAME, raw)
    name, hex_id, b64 = text.split("+", 2)
    assert name == NAME
    assert bytes.fromhex(hex_id) == key_id(NAME, raw)
    assert base64.b64decode(b64) == b"\x01" + raw
    v = parse_verifier_key(text)
    assert (v.name, v.key_id, v.public_key) == (NAME, key_id(NAME, raw), raw)
    assert str(v) == text
    assert parse_verifier_key(text.replace(hex_id, hex_id.upper())) == v
    assert Verifier.from_public_key(NAME, key.public_key()) == v


def test_known_verifier_key_vector() -> None:
    # Key from the golang.org/x/mod/sumdb/note documentation example.
    text = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    v = parse_verifier_key(text)
    assert v.name == "PeterNeumann"
    assert v.key_id.hex() == "c74f20a3"
    assert verifier_key(v.name, v.public_key) == text


BAD_ALG_KEY = b"\x02" + b"k" * 32
SHORT_KEY = b"\x01" + b"k" * 31


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda n, i, k: f"{n}{i}+{k}", "malformed verifier key"),
        (lambda n, i, k: f"+{i}+{k}", "invalid key name"),
        (lambda n, i, k: f"a b+{i}+{k}", "invalid key name"),
        (lambda n, i, k: f"{n}+{i[:7]}+{k}", "8 hex digits"),
        (lambda n, i, k: f"{n}+0x{i[:6]}+{k}", "8 hex digits"),
        (lambda n, i, k: f"{n}+ {i[:7]}+{k}", "8 hex digits"),
        (lambda n, i, k: f"{n}+00000000+{k}", "does not match"),
        (lambda n, i, k: f"{n}+{i}+{k[:-4]}!!!!", "not valid base64"),
        (lambda n, i, k: f"{n}+{i}+{k}=", "base64"),
        (lambda n, i, k: f"{n}+{i}+", "empty key"),
        (lambda n, i, k: f"{n}+{i}+{_b64(BAD_ALG_KEY)}", "unsupported verifier key type"),
        (lambda n, i, k: f"{n}+{i}+{_b64(SHORT_KEY)}", "31 bytes"),
        (lambda n, i, k: f"other+{i}+{k}", "does not match"),
    ],
)
def test_parse_verifier_key_rejects(
    key: Ed25519PrivateKey, mutate: Callable[[str, str, str], str], message: str
) -> None:
    name, id_hex, key_b64 = verifier_key(NAME, _raw(key)).split("+", 2)
    with pytest.raises(NoteError, match=message):
        parse_verifier_key(mutate(name, id_hex, key_b64))


def test_verifier_key_rejects_bad_names(key: Ed25519PrivateKey) -> None:
    for bad in ("", "a+b", "a b", "a\tb", "a\u00a0b", "a\x00b"):
        with pytest.raises(NoteError, match="invalid key name"):
            verifier_key(bad, _raw(key))


# --------------------------------------------------------------------------
# Signed notes
# --------------------------------------------------------------------------


def test_sign_open_round_trip(key: Ed25519PrivateKey, verifier: Verifier, body: str) -> None:
    note = sign_note(body, NAME, key)
    assert note.startswith(body + "\n\u2014 " + NAME + " ")
    assert note.endswith("\n")
    sig = base64.b64decode(note.splitlines()[-1].split(" ")[2])
    assert sig[:4] == verifier.key_id and len(sig) == 68
    key.public_key().verify(sig[4:], body.encode())  # signature covers exactly the body
    assert open_note(note, [verifier]) == (body, [NAME])
    assert open_note(note.encode(), [verifier]) == (body, [NAME])


def test_cosignatures_and_unknown_keys(
    key: Ed25519PrivateKey, verifier: Verifier, body: str
) -> None:
    witness = Ed25519PrivateKey.generate()
    note = add_signature(sign_note(body, NAME, key), "witness.example", witness)
    witness_v = Verifier.from_public_key("witness.example", witness.public_key())
    assert open_note(note, [verifier]) == (body, [NAME])
    assert open_note(note, [witness_v]) == (body, ["witness.example"])
    assert open_note(note, [verifier, witness_v]) == (body, [NAME, "witness.example"])
    # A line with a valid shape but an unknown key is ignored, wherever it sits.
    junk = "\u2014 stranger " + base64.b64encode(b"\x00" * 68).decode() + "\n"
    body_part, sigs = note.split("\n\n")
    assert open_note(body_part + "\n\n" + junk + sigs, [verifier])[1] == [NAME]


def test_only_unknown_signers(key: Ed25519PrivateKey, body: str) -> None:
    note = sign_note(body, NAME, key)
    stranger = Verifier.from_public_key(NAME, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(NoteError, match=r"no signature from a known key.*example\.com/log"):
        open_note(note, [stranger])
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(note, [])


def test_tampered_body_fails(key: Ed25519PrivateKey, verifier: Verifier, body: str) -> None:
    note = sign_note(body, NAME, key)
    with pytest.raises(NoteError, match=r"invalid signature by example\.com/log"):
        open_note(note.replace("\n42\n", "\n43\n"), [verifier])


def test_tampered_signature_fails(key: Ed25519PrivateKey, verifier: Verifier, body: str) -> None:
    note = sign_note(body, NAME, key)
    text, line = note[:-1].rsplit("\n", 1)
    prefix, b64 = line.rsplit(" ", 1)
    sig = bytearray(base64.b64decode(b64))
    sig[10] ^= 1
    bad = text + "\n" + prefix + " " + base64.b64encode(bytes(sig)).decode() + "\n"
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(bad, [verifier])
    # Truncated signature with the right key id is also invalid, not ignored.
    short = text + "\n" + prefix + " " + base64.b64encode(bytes(sig[:40])).decode() + "\n"
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(short, [verifier])


def test_wrong_key_with_same_name_and_forged_id(body: str, verifier: Verifier) -> None:
    # Another key signs but claims the real key's id: the real key rejects it.
    other = Ed25519PrivateKey.generate()
    sig = verifier.key_id + other.sign(body.encode())
    note = body + "\n\u2014 " + NAME + " " + base64.b64encode(sig).decode() + "\n"
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(note, [verifier])


def test_bad_signature_among_good_ones_fails(
    key: Ed25519PrivateKey, verifier: Verifier, body: str
) -> None:
    note = sign_note(body, NAME, key)
    forged = "\u2014 " + NAME + " " + base64.b64encode(verifier.key_id + b"\x00" * 64).decode()
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(note + forged + "\n", [verifier])


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("", "no blank line"),
        ("body\n", "no blank line"),
        ("body\n\n", "no signature lines"),
        ("body\n\n\u2014 log AAAAAAAA", "missing final newline"),
        ("body\n\n- log AAAAAAAAAAAAAAAA\n", "does not start with"),
        ("body\n\n\u2014 log\n", "invalid key name"),
        ("body\n\n\u2014 lo+g AAAAAAAAAAAAAAAA\n", "invalid key name"),
        ("body\n\n\u2014 log AAAA AAAA\n", "base64"),
        ("body\n\n\u2014 log AAAAAA==\n", "too short"),
        ("body\n\n\u2014 log %%%%\n", "base64"),
        ("bo\x01dy\n\n\u2014 log AAAAAAAAAAAAAAAA\n", "control character"),
        ("body\r\n\n\u2014 log AAAAAAAAAAAAAAAA\n", "control character"),
        ("body\n\n\u2014 log AAAAAAAAAAAAAAAA\n\n", "no signature lines"),
        (
            "body\n\n\u2014 log AAAAAAAAAAAAAAAA\n\u2014 log AAAAAAAAAAAAAAAA\nextra\n",
            "does not start with",
        ),
    ],
)
def test_malformed_notes(note: str, message: str, verifier: Verifier) -> None:
    with pytest.raises(NoteError, match=message):
        open_note(note, [verifier])


def test_encoding_and_size_limits(key: Ed25519PrivateKey, verifier: Verifier) -> None:
    with pytest.raises(NoteError, match="UTF-8"):
        open_note(b"caf\xe9\n\n\xe2\x80\x94 log AAAAAAAAAAAAAAAA\n", [verifier])
    with pytest.raises(NoteError, match="UTF-8"):
        open_note("\udc80\n\n\u2014 log AAAAAAAAAAAAAAAA\n", [verifier])
    big = "x" * MAX_NOTE_SIZE + "\n"
    with pytest.raises(NoteError, match="larger than"):
        open_note(big + "\n\u2014 log AAAAAAAAAAAAAAAA\n", [verifier])
    with pytest.raises(NoteError, match="larger than"):
        sign_note(big, NAME, key)
    many = "\u2014 x AAAAAAAAAAAAAAAA\n" * 101
    with pytest.raises(NoteError, match="more than 100"):
        open_note("body\n\n" + many, [verifier])


def test_sign_note_validates_body(key: Ed25519PrivateKey) -> None:
    with pytest.raises(NoteError, match="empty"):
        sign_note("", NAME, key)
    with pytest.raises(NoteError, match="newline"):
        sign_note("no newline", NAME, key)
    with pytest.raises(NoteError, match="control character"):
        sign_note("tab\there\n", NAME, key)
    with pytest.raises(NoteError, match="invalid key name"):
        sign_note("ok\n", "bad name", key)


def test_unicode_body_and_inner_blank_line(key: Ed25519PrivateKey, verifier: Verifier) -> None:
    body = "要素 ledger\n\nsecond paragraph\n"
    assert open_note(sign_note(body, NAME, key), [verifier]) == (body, [NAME])


def test_ambiguous_verifiers(verifier: Verifier, key: Ed25519PrivateKey, body: str) -> None:
    clash = Verifier(verifier.name, verifier.key_id, b"\x00" * 32)
    with pytest.raises(NoteError, match="ambiguous"):
        open_note(sign_note(body, NAME, key), [verifier, clash])


# --------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------


def test_checkpoint_round_trip() -> None:
    text = format_checkpoint(NAME, 42, ROOT)
    assert text == f"{NAME}\n42\n{ROOT_B64}\n"
    cp = parse_checkpoint(text)
    assert cp == Checkpoint(NAME, 42, ROOT, ())
    assert cp.body() == text
    ext = format_checkpoint(NAME, 0, ROOT, ["timestamp 1700000000", "— not a sig"])
    assert parse_checkpoint(ext).extensions == ("timestamp 1700000000", "— not a sig")
    assert parse_checkpoint(f"{NAME}\n{2**64 - 1}\n{ROOT_B64}\n").size == 2**64 - 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{NAME}\n42\n{ROOT_B64}", "end with a newline"),
        (f"{NAME}\n42\n", "needs origin, size and root"),
        (f"\n42\n{ROOT_B64}\n", "origin is empty"),
        (f" {NAME}\n42\n{ROOT_B64}\n", "whitespace"),
        (f"{NAME}\n042\n{ROOT_B64}\n", "leading zeros"),
        (f"{NAME}\n+42\n{ROOT_B64}\n", "leading zeros"),
        (f"{NAME}\n-1\n{ROOT_B64}\n", "leading zeros"),
        (f"{NAME}\n 42\n{ROOT_B64}\n", "leading zeros"),
        (f"{NAME}\n4_2\n{ROOT_B64}\n", "leading zeros"),
        (f"{NAME}\n\u0664\u0662\n{ROOT_B64}\n", "leading zeros"),  # Arabic-Indic digits
        (f"{NAME}\n\n{ROOT_B64}\n", "leading zeros"),
        (f"{NAME}\n{2**64}\n{ROOT_B64}\n", "64 bits"),
        (f"{NAME}\n42\n{ROOT_B64[:-1]}\n", "base64"),
        (f"{NAME}\n42\n{base64.b64encode(ROOT[:31]).decode()}\n", "31 bytes"),
        (f"{NAME}\n42\n{ROOT_B64.rstrip('=')}\n", "base64"),
        (f"{NAME}\n42\n{ROOT_B64[:-2]}9=\n", "canonical"),
        (f"{NAME}\n42\n{ROOT_B64}\n\n", "extension line 1 is empty"),
        (f"{NAME}\n42\n{ROOT_B64}\next\x07\n", "control character"),
    ],
)
def test_parse_checkpoint_is_strict(text: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        parse_checkpoint(text)


def test_format_checkpoint_validates() -> None:
    with pytest.raises(CheckpointError, match="size"):
        format_checkpoint(NAME, -1, ROOT)
    with pytest.raises(CheckpointError, match="size"):
        format_checkpoint(NAME, 2**64, ROOT)
    with pytest.raises(CheckpointError, match="32"):
        format_checkpoint(NAME, 1, ROOT[:16])
    with pytest.raises(CheckpointError, match="origin"):
        format_checkpoint("a\nb", 1, ROOT)
    with pytest.raises(CheckpointError, match="extension"):
        format_checkpoint(NAME, 1, ROOT, ["two\nlines"])

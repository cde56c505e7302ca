"""Stand-alone offline verifier for ledger inclusion and consistency proofs.

Needs nothing but this file, ``merkle.py``, ``note.py`` and the ``cryptography``
package: no database, no network, no other part of yaosu. Run it as::

    python -m yaosu.ledger.verify inclusion --key KEY --checkpoint CP --entry ENTRY --proof P
    python -m yaosu.ledger.verify consistency --key KEY --old CP1 --new CP2 --proof P

The same checks are importable as :func:`verify_inclusion_bundle` and
:func:`verify_consistency_bundle`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from yaosu.ledger.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from yaosu.ledger.note import (
    Checkpoint,
    CheckpointError,
    NoteError,
    Verifier,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
)

__all__ = [
    "BundleError",
    "main",
    "verify_consistency_bundle",
    "verify_inclusion_bundle",
]


class BundleError(ValueError):
    """A proof bundle is malformed or does not match its checkpoint(s)."""


# --------------------------------------------------------------------------
# Library API
# --------------------------------------------------------------------------


def _field_int(proof: Mapping[str, object], field: str) -> int:
    if field not in proof:
        raise BundleError(f"proof JSON lacks the {field!r} field")
    value = proof[field]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BundleError(f"proof JSON field {field!r} must be a non-negative integer")
    return value


def _field_hashes(proof: Mapping[str, object]) -> list[bytes]:
    value = proof.get("proof")
    if value is None:
        # Go encodes an empty proof as null.
        return []
    if not isinstance(value, list):
        raise BundleError("proof JSON field 'proof' must be a list of base64 strings")
    hashes: list[bytes] = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise BundleError(f"proof element {i} is not a string")
        try:
            raw = base64.b64decode(item.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as e:
            raise BundleError(f"proof element {i} is not valid base64") from e
        hashes.append(raw)
    return hashes


def _open_checkpoint(
    verifier: Verifier, text: str | bytes, label: str, origin: str | None
) -> Checkpoint:
    try:
        body, _signers = open_note(text, [verifier])
    except NoteError as e:
        raise NoteError(f"{label}: {e}") from e
    try:
        checkpoint = parse_checkpoint(body)
    except CheckpointError as e:
        raise CheckpointError(f"{label}: {e}") from e
    if origin is not None and checkpoint.origin != origin:
        raise BundleError(f"{label}: origin {checkpoint.origin!r} is not the expected {origin!r}")
    return checkpoint


def verify_inclusion_bundle(
    key: str,
    checkpoint: str | bytes,
    entry: bytes,
    proof: Mapping[str, object],
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Verify that ``entry`` is in the log state described by a signed checkpoint.

    ``key`` is a verifier key string, ``checkpoint`` a signed checkpoint note,
    ``entry`` the exact leaf bytes and ``proof`` the decoded JSON
    ``{"index": I, "size": N, "proof": [base64, ...]}``. Returns the verified
    checkpoint; raises a ``ValueError`` subclass (:class:`NoteError`,
    :class:`CheckpointError`, :class:`ProofError`, :class:`BundleError`) on failure.
    """
    verifier = parse_verifier_key(key)
    cp = _open_checkpoint(verifier, checkpoint, "checkpoint", origin)
    index = _field_int(proof, "index")
    size = _field_int(proof, "size")
    hashes = _field_hashes(proof)
    if size != cp.size:
        raise BundleError(f"proof is for tree size {size} but the checkpoint has size {cp.size}")
    try:
        verify_inclusion(leaf_hash(entry), index, size, hashes, cp.root)
    except ProofError as e:
        raise ProofError(f"entry is not proven to be in the checkpointed tree: {e}") from e
    return cp


def verify_consistency_bundle(
    key: str,
    old_checkpoint: str | bytes,
    new_checkpoint: str | bytes,
    proof: Mapping[str, object],
    *,
    origin: str | None = None,
) -> tuple[Checkpoint, Checkpoint]:
    """Verify that the log state of ``new_checkpoint`` extends that of ``old_checkpoint``.

    ``proof`` is the decoded JSON ``{"from": M, "to": N, "proof": [base64, ...]}``.
    Both checkpoints must be signed by ``key`` and share one origin. Returns the
    verified ``(old, new)`` checkpoints; raises a ``ValueError`` subclass on failure.
    """
    verifier = parse_verifier_key(key)
    old = _open_checkpoint(verifier, old_checkpoint, "old checkpoint", origin)
    new = _open_checkpoint(verifier, new_checkpoint, "new checkpoint", origin)
    if old.origin != new.origin:
        raise BundleError(f"checkpoints are from different logs: {old.origin!r} and {new.origin!r}")
    size_from = _field_int(proof, "from")
    size_to = _field_int(proof, "to")
    hashes = _field_hashes(proof)
    if size_from != old.size:
        raise BundleError(
            f"proof starts at tree size {size_from} but the old checkpoint has size {old.size}"
        )
    if size_to != new.size:
        raise BundleError(
            f"proof ends at tree size {size_to} but the new checkpoint has size {new.size}"
        )
    try:
        verify_consistency(old.size, new.size, hashes, old.root, new.root)
    except ProofError as e:
        raise ProofError(f"checkpoints are not proven consistent: {e}") from e
    return old, new


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def _read_key(arg: str) -> str:
    path = Path(arg)
    if path.is_file():
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        keys = [ln for ln in lines if ln and not ln.startswith("#")]
        if len(keys) != 1:
            raise BundleError(f"key file {arg} must contain exactly one verifier key line")
        return keys[0]
    if "+" not in arg:
        raise BundleError(f"--key {arg!r} is neither a readable file nor a verifier key")
    return arg


def _read_json(path: str) -> Mapping[str, object]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise BundleError(f"{path}: proof JSON must be an object")
    return data


def _describe(cp: Checkpoint) -> str:
    root = base64.b64encode(cp.root).decode("ascii")
    return f"origin {cp.origin!r}, size {cp.size}, root {root}"


def _cmd_inclusion(args: argparse.Namespace) -> list[str]:
    key = _read_key(args.key)
    verifier = parse_verifier_key(key)
    entry = Path(args.entry).read_bytes()
    proof = _read_json(args.proof)
    cp = verify_inclusion_bundle(
        key, Path(args.checkpoint).read_bytes(), entry, proof, origin=args.origin
    )
    index = _field_int(proof, "index")
    return [
        "OK: inclusion proof verified",
        f"  key:        {verifier.name} (Ed25519, key id {verifier.key_id.hex()})",
        f"  checkpoint: signature valid; {_describe(cp)}",
        f"  entry:      {len(entry)} bytes, leaf hash {leaf_hash(entry).hex()}",
        f"  inclusion:  entry is leaf {index} of the {cp.size}-leaf tree "
        f"({len(_field_hashes(proof))} proof hashes)",
    ]


def _cmd_consistency(args: argparse.Namespace) -> list[str]:
    key = _read_key(args.key)
    verifier = parse_verifier_key(key)
    proof = _read_json(args.proof)
    old, new = verify_consistency_bundle(
        key,
        Path(args.old).read_bytes(),
        Path(args.new).read_bytes(),
        proof,
        origin=args.origin,
    )
    return [
        "OK: consistency proof verified",
        f"  key:         {verifier.name} (Ed25519, key id {verifier.key_id.hex()})",
        f"  old:         signature valid; {_describe(old)}",
        f"  new:         signature valid; {_describe(new)}",
        f"  consistency: the first {old.size} leaves of the new tree are exactly the old tree "
        f"({len(_field_hashes(proof))} proof hashes)",
    ]


_EPILOG = """\
file formats:
  key         a verifier key "<name>+<8 hex key id>+<base64(0x01 || Ed25519 key)>",
              given inline or as a file holding that single line
  checkpoint  a C2SP signed note whose text is a tlog-checkpoint:
              "<origin>\\n<size>\\n<base64 root>\\n", a blank line, "— <name> <sig>" lines
  entry       the exact bytes of the logged entry (leaf hash = SHA-256(0x00 || bytes))
  inclusion proof JSON    {"index": I, "size": N, "proof": ["<base64 hash>", ...]}
  consistency proof JSON  {"from": M, "to": N, "proof": ["<base64 hash>", ...]}

exit status: 0 if everything verified, 1 on a failed check ("error: <reason>" on
stderr), 2 on bad usage.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m yaosu.ledger.verify",
        description=(
            "Offline verifier for the yaosu transparency ledger: checks signed checkpoints "
            "and RFC 9162 Merkle inclusion and consistency proofs without contacting "
            "any server."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--key",
            required=True,
            metavar="KEYFILE_OR_STRING",
            help="log verifier key, inline or as a file containing it",
        )
        p.add_argument(
            "--origin",
            metavar="ORIGIN",
            help="also require the checkpoint origin line to equal ORIGIN",
        )

    inc = sub.add_parser(
        "inclusion",
        help="prove that an entry is in the log",
        description=(
            "Check the checkpoint signature, that the proof is for the checkpoint's tree "
            "size, and that the entry's leaf hash is included at the proof's index."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(inc)
    inc.add_argument("--checkpoint", required=True, metavar="FILE", help="signed checkpoint")
    inc.add_argument("--entry", required=True, metavar="FILE", help="entry bytes, exactly")
    inc.add_argument("--proof", required=True, metavar="FILE", help="inclusion proof JSON")
    inc.set_defaults(run=_cmd_inclusion)

    con = sub.add_parser(
        "consistency",
        help="prove that a newer checkpoint extends an older one",
        description=(
            "Check both checkpoint signatures, that they share an origin, that the proof "
            "spans their sizes, and that the new tree is an append-only extension of the old."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(con)
    con.add_argument("--old", required=True, metavar="FILE", help="older signed checkpoint")
    con.add_argument("--new", required=True, metavar="FILE", help="newer signed checkpoint")
    con.add_argument("--proof", required=True, metavar="FILE", help="consistency proof JSON")
    con.set_defaults(run=_cmd_consistency)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        lines: list[str] = args.run(args)
    except (ValueError, OSError) as e:
        # ValueError covers every verification failure and malformed JSON.
        print(f"error: {e}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

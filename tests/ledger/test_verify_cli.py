"""End-to-end tests of the stand-alone verifier, as a library and as a subprocess."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yaosu.ledger.merkle import (
    CompactRange,
    NodeId,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
)
from yaosu.ledger.note import NoteError, format_checkpoint, sign_note, verifier_key
from yaosu.ledger.verify import BundleError, verify_consistency_bundle, verify_inclusion_bundle

SRC = Path(__file__).resolve().parents[2] / "src"
ORIGIN = "ledger.yaosu.example/test"


@dataclass
class Log:
    key: Ed25519PrivateKey
    entries: list[bytes]
    store: dict[NodeId, bytes]
    roots: list[bytes]

    @property
    def verifier(self) -> str:
        return verifier_key(ORIGIN, self.key.public_key())

    def fetch(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        return {i: self.store[i] for i in ids}

    def checkpoint(self, size: int, key: Ed25519PrivateKey | None = None) -> str:
        body = format_checkpoint(ORIGIN, size, self.roots[size])
        return sign_note(body, ORIGIN, key or self.key)

    def inclusion(self, index: int, size: int) -> dict[str, object]:
        proof = inclusion_proof(index, size, self.fetch)
        return {"index": index, "size": size, "proof": [_b64(h) for h in proof]}

    def consistency(self, old: int, new: int) -> dict[str, object]:
        proof = consistency_proof(old, new, self.fetch)
        return {"from": old, "to": new, "proof": [_b64(h) for h in proof]}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture(scope="module")
def log() -> Log:
    entries = [json.dumps({"seq": i, "event": "dataset.published"}).encode() for i in range(21)]
    tree = CompactRange()
    store: dict[NodeId, bytes] = {}
    roots = [tree.root()]
    for entry in entries:
        for level, index, h in tree.append(leaf_hash(entry)):
            store[(level, index)] = h
        roots.append(tree.root())
    return Log(Ed25519PrivateKey.generate(), entries, store, roots)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(
        [sys.executable, "-m", "yaosu.ledger.verify", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


def _write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------
# Subprocess
# --------------------------------------------------------------------------


def test_cli_inclusion_ok_and_tampered_entry(log: Log, tmp_path: Path) -> None:
    key_file = _write(tmp_path, "log.pub", log.verifier + "\n")
    checkpoint = _write(tmp_path, "checkpoint", log.checkpoint(21))
    entry = _write(tmp_path, "entry.json", log.entries[13])
    proof = _write(tmp_path, "proof.json", json.dumps(log.inclusion(13, 21)))

    ok = _run(
        "inclusion",
        "--key",
        key_file,
        "--checkpoint",
        checkpoint,
        "--entry",
        entry,
        "--proof",
        proof,
    )
    assert ok.returncode == 0, ok.stderr
    assert "OK: inclusion proof verified" in ok.stdout
    assert "leaf 13 of the 21-leaf tree" in ok.stdout
    assert ok.stderr == ""

    # The key may also be given inline, and the origin pinned.
    inline = _run(
        "inclusion",
        "--key",
        log.verifier,
        "--origin",
        ORIGIN,
        "--checkpoint",
        checkpoint,
        "--entry",
        entry,
        "--proof",
        proof,
    )
    assert inline.returncode == 0, inline.stderr

    tampered = _write(tmp_path, "tampered.json", log.entries[13].replace(b"13", b"14"))
    bad = _run(
        "inclusion",
        "--key",
        key_file,
        "--checkpoint",
        checkpoint,
        "--entry",
        tampered,
        "--proof",
        proof,
    )
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr.startswith("error: entry is not proven to be in the checkpointed tree")
    assert "leads to root" in bad.stderr

    # A single changed byte at the end of the file (e.g. a newline) also fails.
    newline = _write(tmp_path, "newline.json", log.entries[13] + b"\n")
    assert (
        _run(
            "inclusion",
            "--key",
            key_file,
            "--checkpoint",
            checkpoint,
            "--entry",
            newline,
            "--proof",
            proof,
        ).returncode
        == 1
    )


def test_cli_inclusion_rejects_foreign_checkpoint(log: Log, tmp_path: Path) -> None:
    forged = _write(tmp_path, "checkpoint", log.checkpoint(21, Ed25519PrivateKey.generate()))
    entry = _write(tmp_path, "entry", log.entries[0])
    proof = _write(tmp_path, "proof.json", json.dumps(log.inclusion(0, 21)))
    res = _run(
        "inclusion",
        "--key",
        log.verifier,
        "--checkpoint",
        forged,
        "--entry",
        entry,
        "--proof",
        proof,
    )
    assert res.returncode == 1
    # Same name, different key: a different key id, so no known key signed it.
    assert "error: checkpoint: note has no signature from a known key" in res.stderr


def test_cli_consistency(log: Log, tmp_path: Path) -> None:
    old = _write(tmp_path, "old", log.checkpoint(7))
    new = _write(tmp_path, "new", log.checkpoint(21))
    proof = _write(tmp_path, "proof.json", json.dumps(log.consistency(7, 21)))
    ok = _run("consistency", "--key", log.verifier, "--old", old, "--new", new, "--proof", proof)
    assert ok.returncode == 0, ok.stderr
    assert "OK: consistency proof verified" in ok.stdout

    # A split view: the new checkpoint signs a tree that rewrote history.
    fork = log.roots[:]
    fork[21] = leaf_hash(b"rewritten history")
    forked = Log(log.key, log.entries, log.store, fork)
    split = _write(tmp_path, "split", forked.checkpoint(21))
    bad = _run("consistency", "--key", log.verifier, "--old", old, "--new", split, "--proof", proof)
    assert bad.returncode == 1
    assert "error: checkpoints are not proven consistent" in bad.stderr
    assert "new root" in bad.stderr


def test_cli_usage_and_io_errors(tmp_path: Path) -> None:
    help_ = _run("--help")
    assert help_.returncode == 0
    assert "inclusion" in help_.stdout and "consistency" in help_.stdout
    sub_help = _run("inclusion", "--help")
    assert sub_help.returncode == 0 and '{"index": I, "size": N' in sub_help.stdout
    assert _run().returncode == 2
    missing = _run(
        "inclusion",
        "--key",
        "a+00000000+AA==",
        "--checkpoint",
        str(tmp_path / "nope"),
        "--entry",
        "x",
        "--proof",
        "y",
    )
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")


# --------------------------------------------------------------------------
# Library API
# --------------------------------------------------------------------------


def test_bundle_functions(log: Log) -> None:
    cp = verify_inclusion_bundle(
        log.verifier, log.checkpoint(21), log.entries[20], log.inclusion(20, 21)
    )
    assert (cp.origin, cp.size, cp.root) == (ORIGIN, 21, log.roots[21])
    old, new = verify_consistency_bundle(
        log.verifier, log.checkpoint(1), log.checkpoint(21), log.consistency(1, 21)
    )
    assert (old.size, new.size) == (1, 21)
    same = verify_consistency_bundle(
        log.verifier, log.checkpoint(5), log.checkpoint(5), {"from": 5, "to": 5, "proof": None}
    )
    assert same[0] == same[1]


@pytest.mark.parametrize(
    ("proof", "error", "message"),
    [
        ({"index": 3, "size": 20, "proof": []}, BundleError, "tree size 20 but the checkpoint"),
        ({"size": 21, "proof": []}, BundleError, "lacks the 'index'"),
        ({"index": -1, "size": 21, "proof": []}, BundleError, "non-negative"),
        ({"index": True, "size": 21, "proof": []}, BundleError, "non-negative integer"),
        ({"index": 3, "size": 21, "proof": "abc"}, BundleError, "list of base64"),
        ({"index": 3, "size": 21, "proof": [1]}, BundleError, "not a string"),
        ({"index": 3, "size": 21, "proof": ["***"]}, BundleError, "not valid base64"),
        ({"index": 3, "size": 21, "proof": []}, ProofError, "wrong inclusion proof length"),
    ],
)
def test_inclusion_bundle_errors(
    log: Log, proof: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        verify_inclusion_bundle(log.verifier, log.checkpoint(21), log.entries[3], proof)


def test_bundle_checks_origin_and_sizes(log: Log) -> None:
    with pytest.raises(BundleError, match="not the expected"):
        verify_inclusion_bundle(
            log.verifier,
            log.checkpoint(21),
            log.entries[3],
            log.inclusion(3, 21),
            origin="elsewhere",
        )
    with pytest.raises(BundleError, match="proof starts at tree size 2"):
        verify_consistency_bundle(
            log.verifier, log.checkpoint(3), log.checkpoint(21), log.consistency(2, 21)
        )
    with pytest.raises(BundleError, match="proof ends at tree size 20"):
        verify_consistency_bundle(
            log.verifier, log.checkpoint(3), log.checkpoint(21), log.consistency(3, 20)
        )
    stranger = sign_note(
        format_checkpoint(ORIGIN, 21, log.roots[21]), "someone.else", Ed25519PrivateKey.generate()
    )
    with pytest.raises(NoteError, match=r"new checkpoint: .*signed only by: someone\.else"):
        verify_consistency_bundle(log.verifier, log.checkpoint(3), stranger, log.consistency(3, 21))

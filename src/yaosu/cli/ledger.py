"""`yaosu ledger …`: checkpoints, proofs for third parties, and a full verification of the store.

These are node-operator commands: the node signs its own checkpoints with its own key and reads
its own log, changing no domain state, so they need no user (docs/identity.md)."""

from __future__ import annotations

import base64
import json
import shlex
from pathlib import Path

import typer
from rich.progress import Progress

from yaosu.cli.common import console, err_console, node_unit, one_line
from yaosu.kit.wording import fill
from yaosu.ledger.service import ledger_service

FILES = (("key", "txt"), ("checkpoint", "txt"), ("entry", "json"), ("proof", "json"))

app = typer.Typer(help="The transparency ledger 账本 (RFC 9162 Merkle log).", no_args_is_help=True)


@app.command()
def checkpoint() -> None:
    """Sign a checkpoint at the current size and print it."""
    with node_unit() as session:
        cp = ledger_service.checkpoint(session)
    print(cp.note, end="")


@app.command()
def key() -> None:
    """Print the note verifier key that checks this node's checkpoints."""
    with node_unit() as session:
        print(ledger_service.verifier_key(session))


@app.command()
def prove(
    index: int = typer.Argument(..., min=0, help="Entry index."),
    out: Path = typer.Option(Path("ledger-proof"), help="Directory for the bundle."),
) -> None:
    """Write entry, inclusion proof, checkpoint and key to OUT, for offline verification with
    `python -m yaosu.ledger.verify inclusion`."""
    with node_unit() as session:
        cp = ledger_service.latest_checkpoint(session)
        entry = bytes(ledger_service.entry(session, index).entry)
        proof = ledger_service.inclusion_proof(session, index, cp.size)
        key_text = ledger_service.verifier_key(session)
    out.mkdir(parents=True, exist_ok=True)
    (out / "entry.json").write_bytes(entry)
    (out / "proof.json").write_text(
        json.dumps(
            {
                "index": index,
                "size": cp.size,
                "proof": [base64.b64encode(p).decode() for p in proof],
            }
        )
    )
    (out / "checkpoint.txt").write_text(cp.note)
    (out / "key.txt").write_text(key_text + "\n")
    one_line(f"bundle for entry {index} at size {cp.size} written to {out}/")
    console.print("verify it offline with:")
    files = {name: shlex.quote(str(out / f"{name}.{ext}")) for name, ext in FILES}
    one_line(
        f"python -m yaosu.ledger.verify inclusion --key {files['key']} "
        f"--checkpoint {files['checkpoint']} --entry {files['entry']} --proof {files['proof']}"
    )


@app.command()
def verify() -> None:
    """Recompute every leaf, node and checkpoint from the stored entries; check every checkpoint
    signature and their consistency. Exits 1 naming the first bad index on tampering."""
    with (
        node_unit(write=False) as session,
        Progress(console=err_console, transient=True) as bar,
    ):
        size = ledger_service.size(session)
        task = bar.add_task("verifying the ledger", total=size or 1)

        def tick(done: int, _total: int) -> None:
            if done % 1000 == 0 or done == size:
                bar.update(task, completed=done)

        report = ledger_service.verify(session, progress=tick)
    if report.ok:
        console.print(
            fill(
                "ok: {n} {n|entry|entries} and {c} {c|checkpoint|checkpoints} verified",
                n=report.size,
                c=report.checkpoints,
            )
        )
        return
    err_console.print(f"[red]TAMPERED[/red]: first bad index {report.first_bad_index}")
    for problem in report.problems[:20]:
        err_console.print(f"  - {problem}")
    raise typer.Exit(1)

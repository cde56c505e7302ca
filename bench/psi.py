"""Private set intersection benchmark (issue 16, PRC-3): `python -m bench psi [--quick]`.

1. The group operations alone, on one thread: microseconds per hash to the group
   (``crypto_core_ristretto255_from_hash``) and per scalar multiplication
   (``crypto_scalarmult_ristretto255``).
2. A whole session, n × n phone numbers with half of them shared (100,000 with --quick,
   1,000,000 without): the consumer hashes and blinds its keys, the node answers (blinds them
   again, hashes and blinds its own, shuffles), the consumer validates, unblinds and
   intersects. Wall time, and microseconds per group operation per core — wall time × threads
   ÷ (hashes + scalar multiplications), and the process's CPU time ÷ operations (the same
   figure, unaffected by other load on a shared machine) — against SecretFlow's published
   ECDH-25519 figure of 53 µs (10M × 10M in 67 s on 32 cores). The answer is checked against
   a plaintext intersection.
Median of the rounds; the machine is shared, so the spread is printed too.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import random
import statistics
import time

TARGET_US = 53.0


def _per_op(rounds: int, count: int) -> tuple[float, float, float]:
    from yaosu.kit import psi

    lib = psi._sodium()
    out = ctypes.create_string_buffer(32)
    digests = [hashlib.sha512(i.to_bytes(8, "little")).digest() for i in range(count)]
    scalar = psi.random_scalar()
    hashes, mults, checks = [], [], []
    for _ in range(rounds):
        started = time.perf_counter()
        points = []
        for d in digests:
            lib.crypto_core_ristretto255_from_hash(out, d)
            points.append(out.raw)
        hashes.append((time.perf_counter() - started) / count * 1e6)
        started = time.perf_counter()
        for p in points:
            lib.crypto_scalarmult_ristretto255(out, scalar, p)
        mults.append((time.perf_counter() - started) / count * 1e6)
        started = time.perf_counter()
        psi.validate_points(points)
        checks.append((time.perf_counter() - started) / count * 1e6)
    return statistics.median(hashes), statistics.median(mults), statistics.median(checks)


def _keys(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    numbers = rng.sample(range(10**9), 2 * n - n // 2)
    phones = [f"13{x:09d}" for x in numbers]
    consumer = phones[:n]
    node = phones[n - n // 2 :]  # the last half of the consumer's keys, then new ones
    rng.shuffle(node)
    # Written differently on the two sides: normalisation must make them meet.
    consumer = [
        f"+86 {p[:3]}-{p[3:7]}-{p[7:]}" if i % 3 == 0 else p for i, p in enumerate(consumer)
    ]
    return consumer, node


def session(consumer: list[str], node: list[str], workers: int) -> dict[str, float | int]:
    from yaosu.kit import psi

    started = time.perf_counter()
    cpu = time.process_time()  # all threads of this process: robust to a loaded machine
    client = psi.PsiClient(consumer, "phone", workers=workers)
    blinded = time.perf_counter()
    reply = psi.answer(client.request, node, "phone", "intersection", workers=workers)
    answered = time.perf_counter()
    result = client.finish(reply, "intersection")
    done = time.perf_counter()
    cpu = time.process_time() - cpu
    assert result.matched is not None
    plain = {psi.normalise("phone", k) for k in node}
    expected = [i for i, k in enumerate(consumer) if psi.normalise("phone", k) in plain]
    if result.matched != expected:
        raise AssertionError("PSI answer differs from the plaintext intersection")
    return {
        "seconds": done - started,
        "cpu": cpu,
        "consumer_blind": blinded - started,
        "node_answer": answered - blinded,
        "consumer_finish": done - answered,
        "matched": result.count,
    }


def main(quick: bool = False) -> None:
    n = 100_000 if quick else 1_000_000
    rounds = 3 if quick else 1
    workers = os.cpu_count() or 1
    print(f"psi: Ristretto255 ECDH, {n:,} × {n:,} keys, {workers} threads, {rounds} round(s)")
    print(f"  load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine)")
    h, m, v = _per_op(3, 5_000 if quick else 20_000)
    print(
        f"  one thread: hash to group {h:.1f} µs, scalar multiplication {m:.1f} µs "
        f"(ratio to {TARGET_US:g} µs: {m / TARGET_US:.2f}), point validation {v:.1f} µs"
    )
    consumer, node = _keys(n, 16)
    # Group operations of one session: hashes of both sets, the consumer's blinding and
    # unblinding, the node's blinding of both sets (validation decodes are not counted).
    ops = (len(consumer) + len(node)) + (3 * len(consumer) + len(node))
    runs = [session(consumer, node, workers) for _ in range(rounds)]
    walls = [r["seconds"] for r in runs]
    wall = statistics.median(walls)
    per_core = wall * workers / ops * 1e6
    print(
        f"  session: {wall:.1f} s median (rounds: {', '.join(f'{w:.1f}' for w in walls)}); "
        f"consumer blind {statistics.median(r['consumer_blind'] for r in runs):.1f} s, "
        f"node answer {statistics.median(r['node_answer'] for r in runs):.1f} s, "
        f"consumer finish {statistics.median(r['consumer_finish'] for r in runs):.1f} s; "
        f"{runs[0]['matched']:,} matched = plaintext intersection"
    )
    cpu_per_op = statistics.median(r["cpu"] for r in runs) / ops * 1e6
    print(
        f"  {ops:,} group operations: {per_core:.1f} µs per operation per core from wall time"
        f" × {workers} threads (ratio to {TARGET_US:g} µs: {per_core / TARGET_US:.2f}); "
        f"{cpu_per_op:.1f} µs of CPU time per operation (ratio {cpu_per_op / TARGET_US:.2f}),"
        " the figure that does not depend on what else the machine runs"
    )


if __name__ == "__main__":
    main()

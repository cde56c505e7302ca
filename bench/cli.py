"""CLI start-up benchmark (issue 15: a fast CLI).

Prints the wall time (and the CPU time) of `yaosu --help` and of read-only commands, each in
fresh processes (the figure is what a person waits for: interpreter start, imports, work,
exit), as the median of several rounds and the best round. The read-only commands run against
a migrated, empty SQLite node in a temporary directory. Target: ≤ 1 s.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 1.0
COMMANDS: list[tuple[str, list[str]]] = [
    ("yaosu --help", ["--help"]),
    ("yaosu ledger verify", ["ledger", "verify"]),
    ("yaosu org list", ["org", "list", "--limit", "1"]),
    ("yaosu resource list", ["resource", "list", "--limit", "1"]),
]


def yaosu_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m yaosu`."""
    script = Path(sys.executable).with_name("yaosu")
    return [str(script)] if script.exists() else [sys.executable, "-m", "yaosu"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one fresh process: on a busy machine the
    CPU time is the steadier figure of the two."""
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
    return seconds, _children_cpu() - cpu


def main(quick: bool = False) -> None:
    rounds = 3 if quick else 7
    base = yaosu_command()
    with tempfile.TemporaryDirectory(prefix="yaosu-bench-cli-") as tmp:
        env = {
            **os.environ,
            "YAOSU_DATA_DIR": str(Path(tmp) / "node"),
            "COLUMNS": "80",
            "YAOSU_CLI_USER": "",
        }
        env.pop("YAOSU_DATABASE_URL", None)
        timed([*base, "db", "upgrade"], env)
        print(f"CLI start-up ({rounds} fresh processes each; target ≤ {TARGET_S:.1f} s):")
        for label, args in COMMANDS:
            timed([*base, *args], env)  # warm the file cache and the .pyc files once
            runs = [timed([*base, *args], env) for _ in range(rounds)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            verdict = "meets" if wall <= TARGET_S else "misses"
            print(
                f"  {label:<22} median {wall:.2f} s wall ({verdict} the target), "
                f"best {min(r[0] for r in runs):.2f} s; CPU {cpu:.2f} s"
            )
    load = os.getloadavg()[0]
    print(f"  (load average {load:.1f} on {os.cpu_count()} cores while measuring)")


if __name__ == "__main__":
    main()

"""Run the benchmarks: `python -m bench [name …] [--quick]` (make bench runs them all)."""

from __future__ import annotations

import argparse

from bench import classify, cli, compute, dp, ingest, ledger, mask, portal, psi, search, service

BENCHES = {
    "ledger": ledger.main,
    "ingest": ingest.main,
    "search": search.main,
    "classify": classify.main,
    "mask": mask.main,
    "service": service.main,
    "portal": portal.main,
    "cli": cli.main,
    "compute": compute.main,
    "psi": psi.main,
    "dp": dp.main,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default all): {', '.join(BENCHES)}"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in BENCHES]
    if unknown:
        parser.error(
            f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}"
        )
    for name in args.names or list(BENCHES):
        BENCHES[name](quick=args.quick)


if __name__ == "__main__":
    main()

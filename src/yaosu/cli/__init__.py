"""The `yaosu` command tree (typer + rich)."""

from __future__ import annotations

import sys

from yaosu.cli.main import app


def main() -> None:
    try:
        app()
    except ValueError as exc:
        from yaosu.config import SettingsError

        if not isinstance(exc, SettingsError):
            raise
        # A setting the node cannot run with: say which and why, without a traceback.
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


__all__ = ["app", "main"]

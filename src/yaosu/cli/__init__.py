"""The `yaosu` command tree (typer + rich)."""

from __future__ import annotations

from yaosu.cli.main import app


def main() -> None:
    app()


__all__ = ["app", "main"]

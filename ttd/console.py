"""The terminal streams of ttd's commands and the one way every command reports a user error."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True)  # progress, messages and errors
out = Console()  # results only, so `ttd ... > file` captures just the result


def print_error(message: str) -> None:
    """One line on stderr, `error: MESSAGE`; brackets in the message are shown as written, never as markup."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print the error line and end the command with `code` (2: bad input)."""
    print_error(message)
    raise typer.Exit(code)

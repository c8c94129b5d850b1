"""The Typer application and the shared error handling of every command."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from ratecard.errors import RatecardError

__all__ = ["EXIT_INVALID", "app", "err", "out", "user_errors"]

EXIT_INVALID = 2

app = typer.Typer(
    name="ratecard",
    help="Price plans as data: quote, validate, rate, simulate and compare AI pricing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


def report(error: RatecardError) -> None:
    count = len(error.problems)
    err.print(f"[bold red]error:[/] {count} problem{'s' if count != 1 else ''} found", markup=True)
    for problem in error.problems:
        err.print(f"  {problem}", markup=False)


def user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn ratecard's own errors into a message on stderr and exit code 2, no traceback."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except RatecardError as error:
            report(error)
            raise typer.Exit(EXIT_INVALID) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            sys.exit(130)

    return wrapper

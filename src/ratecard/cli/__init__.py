"""The command-line interface: a thin shell over the Python API."""

from ratecard.cli import catalog as _catalog  # noqa: F401 - registers commands
from ratecard.cli import plans as _plans  # noqa: F401 - registers commands
from ratecard.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()

"""The command-line interface: a thin shell over the Python API."""

from ratecard.cli import catalog as _catalog  # noqa: F401 - registers commands
from ratecard.cli import decide as _decide  # noqa: F401 - registers commands
from ratecard.cli import metering as _metering  # noqa: F401 - registers commands
from ratecard.cli import plans as _plans  # noqa: F401 - registers commands
from ratecard.cli import simulate as _simulate  # noqa: F401 - registers commands
from ratecard.cli.app import app
from ratecard.simulate.engine import tune_allocator

__all__ = ["app", "main"]


def main() -> None:
    # The command line owns its process: let simulation chunks reuse freed memory.
    tune_allocator()
    app()

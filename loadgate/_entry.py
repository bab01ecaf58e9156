"""The ``loadgate`` console script: a Ctrl-C while the command loads exits cleanly.

Importing the command line takes a second or more (boto3, pandas, locust's modules);
a Ctrl-C in that time has nothing to stop or write yet, so it ends the command with
the interrupted exit code and one line, not a traceback.
"""

from __future__ import annotations

import sys

from loadgate.errors import EXIT_INTERRUPTED

__all__ = ["run"]


def run() -> int:
    """Load and run the command line; return its exit code."""
    try:
        from loadgate.cli import main
    except KeyboardInterrupt:
        print("interrupted before the command started", file=sys.stderr)
        return EXIT_INTERRUPTED
    return main()

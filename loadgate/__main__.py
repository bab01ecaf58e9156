"""Allow ``python -m loadgate``, the same as the ``loadgate`` console script."""

from __future__ import annotations

import sys

from loadgate._entry import run

sys.exit(run())

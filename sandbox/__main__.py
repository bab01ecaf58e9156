"""Run the sandbox command line: ``python -m sandbox up|down|status``."""

from __future__ import annotations

import sys

from sandbox._cli import main

if __name__ == "__main__":
    sys.exit(main())

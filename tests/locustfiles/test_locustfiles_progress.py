"""Progress lines of a headless run: the running stage, its time and its requests."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loadgate.scenarios import AUTH_REQUEST_TYPE, Stage
from locustfiles._progress import progress_line

T0 = 1_000_000.0
PEAK = Stage("Peak", 10, 10.0, 20.0)


@pytest.mark.parametrize(
    ("now", "users", "counts", "line"),
    [
        pytest.param(
            T0 + 4,
            10,
            [("GET", 3, 0), ("POST", 1, 1), (AUTH_REQUEST_TYPE, 10, 2)],
            "progress: Peak 4 of 20 s, 10 users; 4 requests so far in the stage, "
            "1 failed (25.0%)",
            id="sign-ins-left-out",
        ),
        pytest.param(
            T0 + 25,
            10,
            [("GET", 1200, 0)],
            "progress: Peak 20 of 20 s, 10 users; 1,200 requests so far in the stage, "
            "0 failed (0.0%)",
            id="time-stops-at-the-duration",
        ),
        pytest.param(
            T0 - 1,
            0,
            [],
            "progress: Peak 0 of 20 s, 0 users; 0 requests so far in the stage, "
            "0 failed (0.0%)",
            id="nothing-yet",
        ),
    ],
)
def test_progress_line(
    now: float, users: int, counts: list[tuple[str, int, int]], line: str
) -> None:
    assert progress_line(PEAK, T0, now, users, counts) == line


def test_loading_the_module_does_not_import_locust() -> None:
    # Locust patches the standard library when imported: the pure part must not.
    script = (
        "import sys, locustfiles._progress; "
        "sys.exit(1 if 'locust' in sys.modules else 0)"
    )
    done = subprocess.run([sys.executable, "-c", script], check=False)
    assert done.returncode == 0

"""Run comparison: noise bands, tolerances, and verdicts per stage x endpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reporting_helpers import shifted_copy

from reporting import Run, compare, load_run
from reporting.compare import Tolerance

StageRow = Callable[..., dict[str, Any]]


def verdicts(comparison: Any) -> dict[tuple[str, str], str]:
    return {(row.stage, row.endpoint): row.verdict for row in comparison.rows}


def test_run_against_itself_is_all_same(demo_run: Run) -> None:
    comparison = compare(demo_run, [demo_run])
    assert set(verdicts(comparison).values()) == {"same"}
    assert len(comparison.rows) == 4 * 6
    assert comparison.baselines == ("run_demo",)
    assert comparison.noise.startswith(
        "each figure's 95 % interval from its sample count"
    )


def test_200ms_on_one_endpoint_regresses_it_at_every_stage(
    demo_run: Run, tmp_path: Path
) -> None:
    slower = load_run(shifted_copy(tmp_path / "slower", "list_rooms", 200.0))
    comparison = compare(slower, [demo_run])

    found = verdicts(comparison)
    assert {key for key, verdict in found.items() if verdict == "regressed"} == {
        (stage, "list_rooms") for stage in ("Light", "Medium", "Heavy", "Peak")
    }
    assert {verdict for key, verdict in found.items() if key[1] != "list_rooms"} == {
        "same"
    }
    heavy = next(
        row
        for row in comparison.rows
        if (row.stage, row.endpoint) == ("Heavy", "list_rooms")
    )
    p95 = heavy.changes[1]
    assert (p95.metric, p95.baseline, p95.current, p95.delta) == (
        "p95_ms",
        170.0,
        370.0,
        200.0,
    )
    assert p95.verdict == "regressed"


def test_the_faster_run_improved(demo_run: Run, tmp_path: Path) -> None:
    slower = load_run(shifted_copy(tmp_path / "slower", "list_rooms", 200.0))
    found = verdicts(compare(demo_run, [slower]))
    assert found[("Peak", "list_rooms")] == "improved"
    assert found[("Peak", "get_me")] == "same"


def test_a_wide_tolerance_absorbs_the_change(demo_run: Run, tmp_path: Path) -> None:
    slower = load_run(shifted_copy(tmp_path / "slower", "list_rooms", 200.0))
    loose = {m: Tolerance(0.0, 1000.0) for m in ("p50_ms", "p95_ms", "p99_ms")}
    assert set(verdicts(compare(slower, [demo_run], loose)).values()) == {"same"}


def test_several_baselines_widen_the_band(demo_run: Run, tmp_path: Path) -> None:
    # Baselines 0 and 60 ms apart: a run 40 ms slower than the first is within
    # their spread; against the first alone it regressed.
    noisy = load_run(shifted_copy(tmp_path / "noisy", "list_rooms", 60.0))
    run = load_run(shifted_copy(tmp_path / "run", "list_rooms", 40.0))
    key = ("Peak", "list_rooms")
    assert verdicts(compare(run, [demo_run]))[key] == "regressed"
    widened = compare(run, [demo_run, noisy])
    assert verdicts(widened)[key] == "same"
    assert "widened to the 2 baselines' spread" in widened.noise


def test_missing_rows_have_no_data(
    make_run: Callable[..., Run], row: StageRow, demo_run: Run
) -> None:
    small = make_run([row("Light", "list_rooms"), row("Light", "total")], [])
    found = verdicts(compare(small, [demo_run]))
    assert found[("Light", "list_rooms")] in {"same", "regressed", "improved"}
    assert found[("Peak", "get_me")] == "no_data"


@pytest.mark.parametrize(
    ("failures", "verdict"),
    [pytest.param(0, "same", id="none"), pytest.param(60, "regressed", id="60-of-440")],
)
def test_availability_drop(
    demo_run: Run, tmp_path: Path, failures: int, verdict: str
) -> None:
    broken = load_run(shifted_copy(tmp_path / "b", "list_messages", 0.0, failures))
    assert verdicts(compare(broken, [demo_run]))[("Heavy", "list_messages")] == verdict

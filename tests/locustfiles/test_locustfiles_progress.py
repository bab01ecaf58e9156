"""Progress lines of a headless run: the running stage, its time and its requests."""

from __future__ import annotations

import locust  # noqa: F401  (gevent's patching comes first)
from locust.env import Environment

from loadgate.scenarios import Endpoint, Scenario, Stage, WaitTime
from locustfiles._progress import ProgressLogger
from locustfiles._recorder import AUTH_REQUEST_TYPE, StageRecorder

T0 = 1_000_000.0


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock) -> tuple[StageRecorder, ProgressLogger]:
    scenario = Scenario(
        name="two",
        description="two stages",
        stages=(Stage("Light", 5, 5.0, 10.0), Stage("Peak", 10, 10.0, 20.0)),
        wait_time=WaitTime(0.1, 0.2),
        thresholds=(),
        endpoints={"get_me": Endpoint("get_me", "GET", "/me", 1.0)},
    )
    environment = Environment()
    recorder = StageRecorder(environment, scenario, clock=clock)
    return recorder, ProgressLogger(environment, recorder, clock=clock)


def send(recorder: StageRecorder, clock: Clock, failed: bool = False) -> None:
    error = RuntimeError("status 500") if failed else None
    recorder.on_request("GET", "/me", 20.0, 10, error, start_time=clock.now)


def test_no_line_before_the_first_stage() -> None:
    clock = Clock()
    _, progress = make(clock)

    assert progress.line() is None


def test_the_line_counts_the_running_stage_only_and_leaves_sign_ins_out() -> None:
    clock = Clock()
    recorder, progress = make(clock)
    recorder.enter_stage(0)
    send(recorder, clock)
    clock.now += 10
    recorder.enter_stage(1)
    clock.now += 4
    for failed in (False, False, False, True):
        send(recorder, clock, failed)
    recorder.on_request(AUTH_REQUEST_TYPE, "InitiateAuth", 50.0, 0, None, clock.now)

    assert progress.line() == (
        "progress: Peak 4 of 20 s, 0 users; 4 requests so far in the stage, "
        "1 failed (25.0%)"
    )


def test_the_time_into_a_stage_stops_at_its_duration() -> None:
    clock = Clock()
    recorder, progress = make(clock)
    recorder.enter_stage(0)
    clock.now += 12

    assert progress.line() == (
        "progress: Light 10 of 10 s, 0 users; 0 requests so far in the stage, "
        "0 failed (0.0%)"
    )


def test_no_line_once_the_test_stopped() -> None:
    clock = Clock()
    recorder, progress = make(clock)
    recorder.enter_stage(0)
    recorder.stop()

    assert progress.line() is None

"""Knob, schedule and outage validation, draws and the token bucket, without servers."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from loadgate.errors import SandboxError
from sandbox._knobs import Knobs, parse_update
from sandbox._proxy import TokenBucket
from sandbox._schedule import parse_outage, parse_schedule

KEYS = "health, list_rooms, get_me, list_messages, post_message"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_full_change_reads_back_normalized() -> None:
    knobs = Knobs()

    knobs.apply(
        parse_update(
            {
                "latency_ms": {
                    "health": {"dist": "fixed", "ms": 25},
                    "get_me": {"dist": "lognormal", "median_ms": 80, "sigma": 0.5},
                },
                "error_rate": {"post_message": 0.05},
                "faults": {
                    "list_messages": {"rate": 0.1, "kind": "status", "status": 429},
                    "list_rooms": {"rate": 1, "kind": "timeout", "hold_s": 2},
                },
                "cognito_quota_per_s": 12.5,
                "seed": 3,
            }
        )
    )
    table = knobs.snapshot()

    assert table["latency_ms"] == {
        "health": 25.0,
        "list_rooms": 0.0,
        "get_me": {"dist": "lognormal", "median_ms": 80.0, "sigma": 0.5},
        "list_messages": 0.0,
        "post_message": 0.0,
    }
    assert table["error_rate"] == {
        "health": 0.0,
        "list_rooms": 1.0,
        "get_me": 0.0,
        "list_messages": 0.1,
        "post_message": 0.05,
    }
    assert table["faults"]["list_messages"] == {
        "rate": 0.1,
        "kind": "status",
        "status": 429,
        "retry_after_s": 1,
    }
    assert table["faults"]["list_rooms"] == {
        "rate": 1.0,
        "kind": "timeout",
        "hold_s": 2.0,
    }
    assert table["faults"]["post_message"] == {
        "rate": 0.05,
        "kind": "status",
        "status": 500,
    }
    assert (table["cognito_quota_per_s"], table["seed"]) == (12.5, 3)


def test_changes_merge_key_by_key_and_null_lifts_the_quota() -> None:
    knobs = Knobs(
        parse_update({"latency_ms": {"get_me": 10}, "cognito_quota_per_s": 5})
    )

    knobs.apply(parse_update({"latency_ms": {"health": 20}}))
    kept = knobs.snapshot()
    knobs.apply(parse_update({"cognito_quota_per_s": None}))

    assert kept["latency_ms"]["get_me"] == 10
    assert kept["latency_ms"]["health"] == 20
    assert kept["cognito_quota_per_s"] == 5
    assert knobs.cognito_quota_per_s() is None


def test_a_seeded_table_draws_in_the_documented_order() -> None:
    change = {
        "latency_ms": {"get_me": {"dist": "lognormal", "median_ms": 80, "sigma": 0.5}},
        "error_rate": {"get_me": 0.3},
        "seed": 42,
    }
    knobs = Knobs(parse_update(change))
    reference = random.Random(42)

    draws = [knobs.draw("get_me") for _ in range(50)]

    expected = []
    for _ in range(50):
        delay = reference.lognormvariate(math.log(80), 0.5)
        expected.append((delay, reference.random() < 0.3))
    assert [(d.delay_ms, d.fault is not None) for d in draws] == expected
    assert 5 < sum(failed for _, failed in expected) < 30


def test_reseeding_repeats_the_sequence() -> None:
    knobs = Knobs(
        parse_update(
            {
                "latency_ms": {
                    "health": {"dist": "lognormal", "median_ms": 50, "sigma": 1}
                }
            }
        )
    )

    knobs.apply(parse_update({"seed": 7}))
    first = [knobs.draw("health").delay_ms for _ in range(5)]
    knobs.apply(parse_update({"seed": 7}))
    second = [knobs.draw("health").delay_ms for _ in range(5)]
    knobs.apply(parse_update({"seed": 8}))
    third = [knobs.draw("health").delay_ms for _ in range(5)]

    assert first == second
    assert first != third


def test_lognormal_samples_center_on_the_median_and_stay_capped() -> None:
    spec = {"dist": "lognormal", "median_ms": 80, "sigma": 0.5}
    knobs = Knobs(
        parse_update(
            {
                "latency_ms": {
                    "get_me": spec,
                    "health": {"dist": "lognormal", "median_ms": 60000, "sigma": 3},
                },
                "seed": 1,
            }
        )
    )

    samples = [knobs.draw("get_me").delay_ms for _ in range(4001)]
    capped = [knobs.draw("health").delay_ms for _ in range(200)]

    assert statistics.median(samples) == pytest.approx(80, rel=0.05)
    # log-spread: the 84th percentile sits one sigma above the median.
    assert sorted(samples)[int(0.8413 * 4001)] == pytest.approx(
        80 * math.e**0.5, rel=0.08
    )
    assert max(capped) == 60000
    assert min(capped) > 0


def test_sigma_zero_is_a_fixed_delay_and_rate_bounds_are_exact() -> None:
    knobs = Knobs(
        parse_update(
            {
                "latency_ms": {
                    "health": {"dist": "lognormal", "median_ms": 30, "sigma": 0}
                },
                "error_rate": {"health": 1, "get_me": 0},
            }
        )
    )

    health = [knobs.draw("health") for _ in range(100)]
    get_me = [knobs.draw("get_me") for _ in range(100)]

    assert {round(d.delay_ms, 9) for d in health} == {30.0}
    assert all(d.fault is not None for d in health)
    assert all(d.fault is None and d.delay_ms == 0 for d in get_me)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"latency_ms": {"get_me": {"dist": "lognormal", "median_ms": 80}}},
            "latency_ms['get_me']: missing field 'sigma'",
            id="lognormal-no-sigma",
        ),
        pytest.param(
            {"latency_ms": {"get_me": {"dist": "fixed", "ms": 5, "sigma": 1}}},
            "latency_ms['get_me']: a 'fixed' latency takes dist, ms, not 'sigma'",
            id="fixed-with-sigma",
        ),
        pytest.param(
            {
                "latency_ms": {
                    "get_me": {"dist": "lognormal", "median_ms": 80, "sigma": -0.1}
                }
            },
            "latency_ms['get_me'].sigma: -0.1 is out of range; expected a number from 0 to 3",
            id="negative-sigma",
        ),
        pytest.param(
            {"latency_ms": {"get_me": {"ms": 5}}},
            "latency_ms['get_me'].dist: None is not a distribution; "
            "expected 'fixed' or 'lognormal'",
            id="no-dist",
        ),
        pytest.param(
            {"latency_ms": {"get_me": {"dist": "fixed", "ms": 5, "mean": 1}}},
            "latency_ms['get_me']: unknown field 'mean'; expected dist, ms, median_ms, sigma",
            id="unknown-latency-field",
        ),
        pytest.param(
            {"latency_ms": {"get_me": [50]}},
            "latency_ms['get_me']: [50] is not a number",
            id="latency-list",
        ),
        pytest.param(
            {"faults": {"get_me": 0.5}},
            "faults['get_me']: expected an object such as "
            '{"rate": 0.05, "kind": "status", "status": 429}, got 0.5',
            id="fault-not-object",
        ),
        pytest.param(
            {"faults": {"get_me": {"kind": "reset"}}},
            "faults['get_me']: missing field 'rate'",
            id="fault-no-rate",
        ),
        pytest.param(
            {"faults": {"get_me": {"rate": 0.1, "kind": "status", "status": 418}}},
            "faults['get_me'].status: 418 is not an injectable status; "
            "expected one of 500, 502, 503, 429, 403",
            id="teapot",
        ),
        pytest.param(
            {"faults": {"get_me": {"rate": 0.1, "status": True}}},
            "faults['get_me'].status: True is not an injectable status; "
            "expected one of 500, 502, 503, 429, 403",
            id="status-boolean",
        ),
        pytest.param(
            {"faults": {"get_me": {"rate": 0.1, "status": 503, "retry_after_s": 2}}},
            "faults['get_me'].retry_after_s: only a 'status' fault with status 429 "
            "takes retry_after_s",
            id="retry-after-without-429",
        ),
        pytest.param(
            {"faults": {"get_me": {"rate": 0.1, "status": 429, "retry_after_s": 1.5}}},
            "faults['get_me'].retry_after_s: 1.5 is not an integer; "
            "expected an integer from 0 to 3600",
            id="retry-after-fraction",
        ),
        pytest.param(
            {"faults": {"get_me": {"rate": 0.1, "kind": "reset", "status": 500}}},
            "faults['get_me'].status: only a 'status' fault takes status",
            id="reset-with-status",
        ),
        pytest.param(
            {"faults": {"get_me": {"rate": 0.1, "kind": "echo_auth", "hold_s": 1}}},
            "faults['get_me'].hold_s: only a 'timeout' fault takes hold_s",
            id="echo-with-hold",
        ),
        pytest.param(
            {"faults": {"get_me": {"rate": 1, "kind": "timeout", "hold_s": 601}}},
            "faults['get_me'].hold_s: 601 is out of range; "
            "expected seconds above 0, up to 600",
            id="hold-too-long",
        ),
        pytest.param(
            {"faults": {"lobby": {"rate": 1}}},
            f"faults['lobby']: unknown endpoint key 'lobby'; expected one of {KEYS}",
            id="fault-unknown-key",
        ),
        pytest.param(
            {"faults": []},
            "'faults' must be an object of endpoint keys to fault objects",
            id="faults-not-object",
        ),
        pytest.param(
            {"cognito_quota_per_s": 100001},
            "cognito_quota_per_s: 100001 is out of range; expected sign-ins per second "
            "from 0 to 100000, or null for no limit",
            id="quota-too-high",
        ),
        pytest.param(
            {"seed": "42"},
            "seed: '42' is not an integer; expected an integer from 0 to "
            "9223372036854775807, or null",
            id="seed-as-text",
        ),
    ],
)
def test_bad_knob_values_name_the_field_and_value(body: object, message: str) -> None:
    with pytest.raises(SandboxError) as caught:
        parse_update(body)

    assert str(caught.value) == message


def test_nested_knob_errors_carry_the_step_path() -> None:
    with pytest.raises(SandboxError) as caught:
        parse_update({"latency": {}}, "steps[3].knobs")

    assert str(caught.value) == (
        "steps[3].knobs: unknown field 'latency'; expected any of 'latency_ms', "
        "'error_rate', 'faults', 'cognito_quota_per_s', 'seed'"
    )


def test_schedule_steps_keep_their_source_and_due_times() -> None:
    body = {
        "steps": [
            {"after_s": 15, "knobs": {"latency_ms": {"list_rooms": 400}}},
            {"at": 1_900_000_000.5, "outage": {"seconds": 10}},
            {"after_s": 0, "knobs": {"seed": 1}, "outage": {"seconds": 0}},
        ]
    }

    steps = parse_schedule(body)

    assert [step.due(1000.0) for step in steps] == [1015.0, 1_900_000_000.5, 1000.0]
    assert [step.source for step in steps] == body["steps"]
    assert steps[0].knobs is not None and steps[0].outage_s is None
    assert steps[1].knobs is None and steps[1].outage_s == 10
    assert steps[2].outage_s == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"steps": [{"knobs": {}}]},
            "steps[0]: give exactly one of 'after_s' or 'at'",
            id="no-time",
        ),
        pytest.param(
            {"steps": [{"after_s": "soon", "knobs": {}}]},
            "steps[0].after_s: 'soon' is not a number",
            id="after-not-number",
        ),
        pytest.param(
            {"steps": [{"after_s": 1, "knobs": {}, "repeat": True}]},
            "steps[0]: unknown field 'repeat'; expected after_s, at, knobs, outage",
            id="unknown-step-field",
        ),
        pytest.param(
            {"steps": [{"after_s": 1, "outage": 10}]},
            'steps[0].outage: expected an object such as {"seconds": 10}, got 10',
            id="outage-not-object",
        ),
        pytest.param(
            {"steps": [{"after_s": 1, "knobs": {"faults": {"get_me": {"rate": 2}}}}]},
            "steps[0].knobs.faults['get_me'].rate: 2 is out of range; "
            "expected a fraction from 0 to 1",
            id="bad-fault-in-step",
        ),
        pytest.param(
            {"steps": "later"},
            "steps must be a list of steps, got 'later'",
            id="steps-not-list",
        ),
        pytest.param(
            {"steps": [], "loop": True},
            "a schedule must be a JSON object with only 'steps', a list of steps such "
            'as {"after_s": 15, "knobs": {"latency_ms": {"list_rooms": 400}}}',
            id="extra-field",
        ),
    ],
)
def test_bad_schedules_name_the_step(body: object, message: str) -> None:
    with pytest.raises(SandboxError) as caught:
        parse_schedule(body)

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({}, "body: missing field 'seconds'", id="no-seconds"),
        pytest.param(
            {"seconds": -1},
            "seconds: -1 is out of range; expected seconds from 0 to 3600",
            id="negative",
        ),
        pytest.param(
            {"seconds": 5, "port": 1},
            "body: unknown field 'port'; expected seconds",
            id="extra-field",
        ),
    ],
)
def test_bad_outages_are_refused(body: object, message: str) -> None:
    with pytest.raises(SandboxError) as caught:
        parse_outage(body)

    assert str(caught.value) == message


def test_token_bucket_allows_one_second_of_calls_then_refills() -> None:
    clock = Clock()
    bucket = TokenBucket(clock)

    burst = [bucket.take(3) for _ in range(5)]
    clock.now += 0.5
    after_half_second = [bucket.take(3) for _ in range(3)]
    clock.now += 60
    after_a_minute = [bucket.take(3) for _ in range(4)]

    assert burst == [True, True, True, False, False]
    assert after_half_second == [True, False, False]
    assert after_a_minute == [True, True, True, False]


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        pytest.param(None, [True] * 6, id="no-limit"),
        pytest.param(0, [False] * 6, id="zero"),
        pytest.param(0.5, [True, False, False, False, True, False], id="below-one"),
    ],
)
def test_token_bucket_edges(rate: float | None, expected: list[bool]) -> None:
    clock = Clock()
    bucket = TokenBucket(clock)

    taken = []
    for _ in range(6):
        taken.append(bucket.take(rate))
        clock.now += 0.5

    assert taken == expected


def test_token_bucket_follows_a_rate_change() -> None:
    clock = Clock()
    bucket = TokenBucket(clock)

    slow = [bucket.take(1) for _ in range(3)]
    lifted = [bucket.take(None) for _ in range(3)]
    fast = [bucket.take(10) for _ in range(12)]

    assert slow == [True, False, False]
    assert lifted == [True, True, True]
    # A quota set again starts with a full bucket.
    assert fast == [True] * 10 + [False, False]


def test_token_bucket_starts_full_when_the_rate_changes() -> None:
    clock = Clock()
    bucket = TokenBucket(clock)

    closed = [bucket.take(0) for _ in range(2)]
    reopened = [bucket.take(2) for _ in range(3)]
    clock.now += 0.25
    same_rate = [bucket.take(2) for _ in range(2)]

    assert closed == [False, False]
    assert reopened == [True, True, False]
    assert same_rate == [False, False]

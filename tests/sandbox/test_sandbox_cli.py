"""The ``python -m sandbox`` command line and the errors bad options raise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_helpers import Api, process_gone

import sandbox
from loadgate.errors import SandboxError

REPO_ROOT = Path(__file__).resolve().parents[2]
KEYS = "health, list_rooms, get_me, list_messages, post_message"


def _run(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p
    )
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path, **(env or {})},
        timeout=60,
        check=False,
    )


@pytest.fixture
def cli_dir(tmp_path: Path) -> Iterator[Path]:
    """A state directory whose sandbox is stopped after the test, whatever happens."""
    yield tmp_path
    sandbox.stop(tmp_path)


def test_up_status_down_from_the_command_line(cli_dir: Path, tmp_path: Path) -> None:
    env = {"SANDBOX_ERROR_RATE": "post_message=1"}
    plan = tmp_path / "plan.json"
    later = {"after_s": 600, "outage": {"seconds": 5}}
    plan.write_text(json.dumps({"steps": [later]}))

    up = _run(
        "up",
        "--state-dir",
        str(cli_dir),
        "--users",
        "2",
        *("--latency", "health=100", "--latency", "get_me=lognormal:80:0.5"),
        *("--fault", "list_rooms=0.5:status:429", "--fault", "get_me=0.1:reset"),
        *("--cognito-quota", "3", "--seed", "9", "--schedule", str(plan)),
        env=env,
    )
    state = sandbox.SandboxState.load(cli_dir)
    knobs = Api(state.api_url).get("/_sandbox/knobs").body
    pending = sandbox.control(state).pending()["pending"]
    status = _run("status", "--state-dir", str(cli_dir))
    down = _run("down", "--state-dir", str(cli_dir))
    down_again = _run("down", "--state-dir", str(cli_dir))
    status_after = _run("status", "--state-dir", str(cli_dir))

    assert up.returncode == 0, up.stderr
    assert f"api_url: {state.api_url}\n" in up.stdout
    assert f"control_url: {state.control_url}\n" in up.stdout
    assert f"cognito_endpoint: {state.cognito_endpoint}\n" in up.stdout
    assert f"cognito_upstream: {state.cognito_upstream}\n" in up.stdout
    assert "users: 2 (loadtest-user-0000 .. loadtest-user-0001)" in up.stdout
    assert state.password not in up.stdout + up.stderr + status.stdout
    assert knobs["latency_ms"]["health"] == 100
    assert knobs["latency_ms"]["get_me"] == {
        "dist": "lognormal",
        "median_ms": 80,
        "sigma": 0.5,
    }
    assert knobs["error_rate"]["post_message"] == 1
    assert knobs["faults"]["list_rooms"] == {
        "rate": 0.5,
        "kind": "status",
        "status": 429,
        "retry_after_s": 1,
    }
    assert knobs["faults"]["get_me"] == {"rate": 0.1, "kind": "reset"}
    assert (knobs["cognito_quota_per_s"], knobs["seed"]) == (3, 9)
    assert [p["step"] for p in pending] == [later]
    assert status.returncode == 0
    assert status.stdout.startswith(f"sandbox running in {cli_dir}\n")
    assert (down.returncode, down.stdout) == (
        0,
        f"sandbox down: stopped the sandbox in {cli_dir}\n",
    )
    assert all(process_gone(pid) for pid in state.pids.values())
    assert (down_again.returncode, down_again.stdout) == (
        0,
        f"sandbox down: nothing was running in {cli_dir}\n",
    )
    assert status_after.returncode == 2
    assert status_after.stderr == (
        f"sandbox status: no sandbox state in {str(cli_dir)!r}: state.json is "
        "missing; start one with `python -m sandbox up`\n"
    )


def test_bad_flag_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    result = _run("up", "--state-dir", str(tmp_path), "--latency", "lobby=10")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "sandbox up: --latency 'lobby=10': unknown endpoint key 'lobby'; "
        f"expected one of {KEYS}\n"
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        pytest.param(
            ["--latency", "list_rooms"],
            "--latency 'list_rooms': expected KEY=MS, e.g. 'list_rooms=200'",
            id="no-equals",
        ),
        pytest.param(
            ["--latency", "list_rooms=fast"],
            "--latency 'list_rooms=fast': 'fast' is not a number",
            id="not-a-number",
        ),
        pytest.param(
            ["--latency", "get_me=60001"],
            "--latency 'get_me=60001': '60001' is out of range; "
            "expected milliseconds from 0 to 60000",
            id="latency-too-high",
        ),
        pytest.param(
            ["--error-rate", "post_message=1.5"],
            "--error-rate 'post_message=1.5': '1.5' is out of range; "
            "expected a fraction from 0 to 1",
            id="rate-above-one",
        ),
        pytest.param(
            ["--error-rate", "post_message=nan"],
            "--error-rate 'post_message=nan': 'nan' is out of range; "
            "expected a fraction from 0 to 1",
            id="rate-nan",
        ),
        pytest.param(
            ["--error-rate", "=0.5"],
            "--error-rate '=0.5': expected KEY=FRACTION, e.g. 'post_message=0.05'",
            id="no-key",
        ),
        pytest.param(
            ["--users", "0"],
            "users must be an integer from 1 to 1000, got 0",
            id="no-users",
        ),
        pytest.param(
            ["--latency", "get_me=lognormal:80"],
            "--latency 'get_me=lognormal:80': expected MS, fixed:MS or "
            "lognormal:MEDIAN_MS:SIGMA after KEY=, e.g. 'list_rooms=200' or "
            "'list_rooms=lognormal:80:0.5'",
            id="lognormal-without-sigma",
        ),
        pytest.param(
            ["--latency", "get_me=lognormal:0:0.5"],
            "--latency 'get_me=lognormal:0:0.5'.median_ms: '0' is out of range; "
            "expected milliseconds above 0, up to 60000",
            id="lognormal-zero-median",
        ),
        pytest.param(
            ["--latency", "get_me=lognormal:80:9"],
            "--latency 'get_me=lognormal:80:9'.sigma: '9' is out of range; "
            "expected a number from 0 to 3",
            id="sigma-too-wide",
        ),
        pytest.param(
            ["--fault", "get_me=0.5"],
            "--fault 'get_me=0.5': expected KEY=RATE:KIND[:ARG], "
            "e.g. 'list_messages=0.05:status:429'",
            id="fault-without-kind",
        ),
        pytest.param(
            ["--fault", "get_me=0.5:boom"],
            "--fault 'get_me=0.5:boom' kind: 'boom' is not a fault kind; "
            "expected one of status, reset, timeout, echo_auth",
            id="unknown-fault-kind",
        ),
        pytest.param(
            ["--fault", "get_me=0.5:status:404"],
            "--fault 'get_me=0.5:status:404'.status: '404' is not an injectable "
            "status; expected one of 500, 502, 503, 429, 403",
            id="status-not-injectable",
        ),
        pytest.param(
            ["--fault", "get_me=1:timeout"],
            "--fault 'get_me=1:timeout': a 'timeout' fault needs hold_s, the seconds "
            "to hold the request",
            id="timeout-without-seconds",
        ),
        pytest.param(
            ["--fault", "get_me=1:reset:5"],
            "--fault 'get_me=1:reset:5': a 'reset' fault takes no argument",
            id="reset-with-argument",
        ),
        pytest.param(
            ["--fault", "get_me=2:reset"],
            "--fault 'get_me=2:reset'.rate: '2' is out of range; "
            "expected a fraction from 0 to 1",
            id="fault-rate-above-one",
        ),
        pytest.param(
            ["--cognito-quota", "lots"],
            "--cognito-quota: 'lots' is not a number",
            id="quota-not-a-number",
        ),
        pytest.param(
            ["--cognito-quota", "-1"],
            "--cognito-quota: '-1' is out of range; expected sign-ins per second "
            "from 0 to 100000, or null for no limit",
            id="quota-negative",
        ),
        pytest.param(
            ["--seed", "1.5"],
            "--seed: '1.5' is not an integer; expected an integer from 0 to "
            "9223372036854775807, or null",
            id="seed-not-an-integer",
        ),
    ],
)
def test_up_refuses_bad_options_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    status = sandbox.main(["up", "--state-dir", str(tmp_path), *flags])

    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == f"sandbox up: {message}\n"
    assert captured.out == ""
    assert not (tmp_path / "state.json").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"latency_ms": {"lobby": 5}},
            f"latency_ms['lobby']: unknown endpoint key 'lobby'; expected one of {KEYS}",
            id="unknown-key",
        ),
        pytest.param(
            {"latency_ms": {"get_me": -5}},
            "latency_ms['get_me']: -5 is out of range; "
            "expected milliseconds from 0 to 60000",
            id="negative-latency",
        ),
        pytest.param(
            {"error_rate": {"get_me": 1.01}},
            "error_rate['get_me']: 1.01 is out of range; expected a fraction from 0 to 1",
            id="rate-above-one",
        ),
        pytest.param(
            {"error_rate": {"get_me": "often"}},
            "error_rate['get_me']: 'often' is not a number",
            id="rate-not-a-number",
        ),
        pytest.param(
            {"users": 1001},
            "users must be an integer from 1 to 1000, got 1001",
            id="too-many-users",
        ),
        pytest.param(
            {"user_prefix": "load test "},
            "user_prefix must be 1 to 100 characters without whitespace, "
            "got 'load test '",
            id="prefix-with-space",
        ),
        pytest.param(
            {"password": "lowercase-only1"},
            "password does not satisfy Cognito's default policy: it needs 8 to 98 "
            "characters with an upper-case letter, a lower-case letter, a digit and "
            "a symbol",
            id="weak-password",
        ),
        pytest.param(
            {"ready_timeout": 0},
            "ready_timeout must be a positive number of seconds, got 0",
            id="no-time-to-start",
        ),
        pytest.param(
            {"latency_ms": {"get_me": {"dist": "gamma"}}},
            "latency_ms['get_me'].dist: 'gamma' is not a distribution; "
            "expected 'fixed' or 'lognormal'",
            id="unknown-distribution",
        ),
        pytest.param(
            {"faults": {"get_me": {"rate": 1, "kind": "timeout", "hold_s": 0}}},
            "faults['get_me'].hold_s: 0 is out of range; "
            "expected seconds above 0, up to 600",
            id="no-hold",
        ),
        pytest.param(
            {"error_rate": {"get_me": 0.1}, "faults": {"get_me": {"rate": 0.2}}},
            "error_rate['get_me'] and faults['get_me'] both set the fault of get_me; "
            "give only one",
            id="rate-and-fault",
        ),
        pytest.param(
            {"cognito_quota_per_s": "fast"},
            "cognito_quota_per_s: 'fast' is not a number",
            id="quota-not-a-number",
        ),
        pytest.param(
            {"seed": -1},
            "seed: -1 is out of range; expected an integer from 0 to "
            "9223372036854775807, or null",
            id="negative-seed",
        ),
        pytest.param(
            {"schedule": [{"at": 0, "knobs": {}}]},
            "schedule[0].at: 0 is out of range; expected epoch seconds above 0",
            id="schedule-at-zero",
        ),
        pytest.param(
            {"schedule": {"steps": []}},
            "schedule must be a list of steps, got {'steps': []}",
            id="schedule-not-a-list",
        ),
    ],
)
def test_start_refuses_bad_options_with_exact_messages(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(SandboxError) as caught:
        sandbox.start(tmp_path, **options)  # type: ignore[arg-type]

    assert str(caught.value) == message
    assert not (tmp_path / "state.json").exists()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        pytest.param(
            "SANDBOX_LATENCY",
            "list_rooms=200,get_me",
            "SANDBOX_LATENCY 'get_me': expected KEY=MS, e.g. 'list_rooms=200'",
            id="latency-no-equals",
        ),
        pytest.param(
            "SANDBOX_ERROR_RATE",
            "post_message=2",
            "SANDBOX_ERROR_RATE 'post_message=2': '2' is out of range; "
            "expected a fraction from 0 to 1",
            id="rate-above-one",
        ),
    ],
)
def test_start_refuses_bad_knob_variables(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(SandboxError) as caught:
        sandbox.start(tmp_path, users=1)

    assert str(caught.value) == message
    assert not (tmp_path / "state.json").exists()
    assert not (tmp_path / "moto.log").exists()


@pytest.mark.parametrize(
    ("kind", "items", "expected"),
    [
        ("latency", ["list_rooms=200", "get_me=50"], {"list_rooms": 200, "get_me": 50}),
        ("latency_ms", ["health=0"], {"health": 0}),
        ("error_rate", ["post_message=0.05"], {"post_message": 0.05}),
        ("error_rate", [], {}),
        ("latency", ["get_me=fixed:50"], {"get_me": 50}),
        (
            "latency",
            ["get_me=lognormal:80:0.5"],
            {"get_me": {"dist": "lognormal", "median_ms": 80, "sigma": 0.5}},
        ),
        (
            "fault",
            ["list_messages=0.05:status:429", "get_me=1:timeout:2.5"],
            {
                "list_messages": {
                    "rate": 0.05,
                    "kind": "status",
                    "status": 429,
                    "retry_after_s": 1,
                },
                "get_me": {"rate": 1, "kind": "timeout", "hold_s": 2.5},
            },
        ),
        (
            "faults",
            ["health=0.5:status", "post_message=0.1:echo_auth"],
            {
                "health": {"rate": 0.5, "kind": "status", "status": 500},
                "post_message": {"rate": 0.1, "kind": "echo_auth"},
            },
        ),
    ],
)
def test_parse_knobs_reads_flag_values(
    kind: str, items: list[str], expected: dict[str, float]
) -> None:
    assert sandbox.parse_knobs(kind, items) == expected


@pytest.mark.parametrize(
    ("kind", "items", "message"),
    [
        pytest.param(
            "error_rate",
            ["lobby=0.5"],
            f"--error-rate 'lobby=0.5': unknown endpoint key 'lobby'; expected one of {KEYS}",
            id="unknown-key",
        ),
        pytest.param(
            "latency",
            ["get_me=-3"],
            "--latency 'get_me=-3': '-3' is out of range; "
            "expected milliseconds from 0 to 60000",
            id="negative",
        ),
        pytest.param(
            "delay",
            [],
            "knob kind must be 'latency', 'error_rate' or 'fault', got 'delay'",
            id="unknown-kind",
        ),
    ],
)
def test_parse_knobs_refuses_bad_values(
    kind: str, items: list[str], message: str
) -> None:
    with pytest.raises(SandboxError) as caught:
        sandbox.parse_knobs(kind, items)

    assert str(caught.value) == message


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "cannot read it: No such file or directory", id="missing"),
        pytest.param(
            "{steps: []}",
            "not JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
            id="not-json",
        ),
        pytest.param(
            '[{"after_s": 0}]',
            "a schedule must be a JSON object with only 'steps', a list of steps such "
            'as {"after_s": 15, "knobs": {"latency_ms": {"list_rooms": 400}}}',
            id="bare-list",
        ),
        pytest.param(
            '{"steps": [{"after_s": 0, "at": 5, "outage": {"seconds": 1}}]}',
            "steps[0]: give exactly one of 'after_s' or 'at'",
            id="after-and-at",
        ),
        pytest.param(
            '{"steps": [{"after_s": 1, "outage": {"seconds": 7200}}]}',
            "steps[0].outage.seconds: 7200 is out of range; "
            "expected seconds from 0 to 3600",
            id="outage-too-long",
        ),
        pytest.param(
            '{"steps": [{"after_s": 1, "knobs": {"latency_ms": {"lobby": 5}}}]}',
            "steps[0].knobs.latency_ms['lobby']: unknown endpoint key 'lobby'; "
            f"expected one of {KEYS}",
            id="bad-knob-in-step",
        ),
    ],
)
def test_up_refuses_a_bad_schedule_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    message: str,
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        _write(path, content)

    status = sandbox.main(["up", "--state-dir", str(tmp_path), "--schedule", str(path)])

    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == f"sandbox up: --schedule {str(path)!r}: {message}\n"
    assert not (tmp_path / "moto.log").exists()


def test_up_help_documents_the_knob_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        sandbox.main(["up", "--help"])

    text = capsys.readouterr().out
    assert done.value.code == 0
    for syntax in (
        "KEY=lognormal:MEDIAN_MS:SIGMA",
        "KEY=fixed:MS",
        "KEY=RATE:status[:STATUS]",
        "KEY=RATE:reset",
        "KEY=RATE:timeout:SECONDS",
        "KEY=RATE:echo_auth",
        "--cognito-quota PER_S",
        "--seed SEED",
        "--schedule FILE",
        '"outage" ({"seconds": N})',
    ):
        assert syntax in text, syntax

"""The ``python -m sandbox`` command line and the errors bad options raise."""

from __future__ import annotations

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


def test_up_status_down_from_the_command_line(cli_dir: Path) -> None:
    env = {"SANDBOX_ERROR_RATE": "post_message=1"}

    up = _run(
        "up",
        "--state-dir",
        str(cli_dir),
        "--users",
        "2",
        "--latency",
        "health=100",
        env=env,
    )
    state = sandbox.SandboxState.load(cli_dir)
    knobs = Api(state.api_url).get("/_sandbox/knobs").body
    status = _run("status", "--state-dir", str(cli_dir))
    down = _run("down", "--state-dir", str(cli_dir))
    down_again = _run("down", "--state-dir", str(cli_dir))
    status_after = _run("status", "--state-dir", str(cli_dir))

    assert up.returncode == 0, up.stderr
    assert f"api_url: {state.api_url}\n" in up.stdout
    assert f"cognito_endpoint: {state.cognito_endpoint}\n" in up.stdout
    assert "users: 2 (loadtest-user-0000 .. loadtest-user-0001)" in up.stdout
    assert state.password not in up.stdout + up.stderr + status.stdout
    assert knobs["latency_ms"]["health"] == 100
    assert knobs["error_rate"]["post_message"] == 1
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
            "knob kind must be 'latency' or 'error_rate', got 'delay'",
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

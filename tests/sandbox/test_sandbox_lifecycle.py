"""Starting, describing and stopping sandboxes through the Python API."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
from sandbox_helpers import Api, process_gone, sign_in

import sandbox
from loadgate.errors import SandboxError
from sandbox import SandboxState
from sandbox._cognito import cognito_client

STATE_FIELDS = {
    "api_url",
    "control_url",
    "cognito_endpoint",
    "cognito_upstream",
    "region",
    "user_pool_id",
    "client_id",
    "user_prefix",
    "user_count",
    "password",
    "request_log",
    "pids",
}


def test_public_names_are_pinned() -> None:
    assert sorted(sandbox.__all__) == [
        "ENDPOINT_KEYS",
        "FAULT_KINDS",
        "FAULT_STATUSES",
        "FaultSpec",
        "KnobTable",
        "LatencySpec",
        "OutageStatus",
        "ProxyStats",
        "RequestRecord",
        "SIGN_IN_TARGETS",
        "Sandbox",
        "SandboxControl",
        "SandboxState",
        "ScheduleView",
        "control",
        "main",
        "parse_knobs",
        "read_request_log",
        "running",
        "start",
        "status",
        "stop",
    ]


def test_state_file_is_private_and_complete(
    sandbox_state: SandboxState, sandbox_dir: Path
) -> None:
    path = sandbox_dir / "state.json"

    data = json.loads(path.read_text())

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(data) == STATE_FIELDS
    assert set(data["pids"]) == {"moto", "api"}
    assert data["region"] == "us-east-1"
    urls = [
        data[key]
        for key in ("api_url", "control_url", "cognito_endpoint", "cognito_upstream")
    ]
    assert all(url.startswith("http://127.0.0.1:") for url in urls)
    assert len(set(urls)) == 4
    assert SandboxState.load(sandbox_dir) == sandbox_state


def test_state_written_before_the_control_port_still_loads(
    sandbox_state: SandboxState, tmp_path: Path
) -> None:
    legacy = sandbox_state.to_json()
    del legacy["control_url"], legacy["cognito_upstream"]
    (tmp_path / "state.json").write_text(json.dumps(legacy))

    loaded = SandboxState.load(tmp_path)

    assert loaded.control_url == sandbox_state.api_url
    assert loaded.cognito_upstream == sandbox_state.cognito_endpoint
    assert loaded.pids == sandbox_state.pids


def test_state_repr_hides_the_password(sandbox_state: SandboxState) -> None:
    assert sandbox_state.password not in repr(sandbox_state)


def test_password_satisfies_cognito_default_policy(
    sandbox_state: SandboxState,
) -> None:
    password = sandbox_state.password

    assert len(password) >= 8
    assert any(char.isupper() for char in password)
    assert any(char.islower() for char in password)
    assert any(char.isdigit() for char in password)
    assert any(not char.isalnum() for char in password)


def test_every_test_user_exists_and_signs_in(sandbox_state: SandboxState) -> None:
    client = cognito_client(sandbox_state.cognito_endpoint)
    try:
        listed = client.list_users(UserPoolId=sandbox_state.user_pool_id, Limit=60)
    finally:
        client.close()
    names = sorted(user["Username"] for user in listed["Users"])

    assert sandbox_state.user_count == 20
    assert names == [f"loadtest-user-{index:04d}" for index in range(20)]
    assert all(user["UserStatus"] == "CONFIRMED" for user in listed["Users"])
    assert "IdToken" in sign_in(sandbox_state, "loadtest-user-0019")


def test_app_client_allows_the_sign_in_flows(sandbox_state: SandboxState) -> None:
    client = cognito_client(sandbox_state.cognito_endpoint)
    try:
        described = client.describe_user_pool_client(
            UserPoolId=sandbox_state.user_pool_id, ClientId=sandbox_state.client_id
        )["UserPoolClient"]
    finally:
        client.close()

    assert sorted(described["ExplicitAuthFlows"]) == [
        "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]


def test_status_describes_the_running_sandbox(
    sandbox_state: SandboxState, sandbox_dir: Path
) -> None:
    assert sandbox.status(sandbox_dir) == sandbox_state


def test_start_refuses_a_directory_in_use(
    sandbox_state: SandboxState, sandbox_dir: Path
) -> None:
    with pytest.raises(SandboxError) as caught:
        sandbox.start(sandbox_dir, users=1)

    assert str(caught.value) == (
        f"a sandbox already runs in {str(sandbox_dir)!r} "
        f"(api {sandbox_state.api_url}); stop it with `python -m sandbox down` "
        "or use another --state-dir"
    )


def test_start_applies_knobs_from_arguments_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_LATENCY", "get_me=40,health=999")
    monkeypatch.setenv("SANDBOX_ERROR_RATE", "list_rooms=0.5,list_messages=0.9")

    lognormal = {"dist": "lognormal", "median_ms": 80, "sigma": 0.5}
    late = {"after_s": 3600, "knobs": {"latency_ms": {"health": 0}}}
    fault_503 = {"rate": 1, "kind": "status", "status": 503}

    with sandbox.running(
        tmp_path,
        users=1,
        user_prefix="knob-",
        latency_ms={"health": 150, "list_messages": lognormal},
        error_rate={"post_message": 1.0},
        faults={"list_messages": {"rate": 0.25, "kind": "reset"}},
        cognito_quota_per_s=7,
        seed=99,
        schedule=[{"after_s": 0, "knobs": {"faults": {"get_me": fault_503}}}, late],
    ) as state:
        api = Api(state.api_url)
        table = api.get("/_sandbox/knobs").body
        health = api.get("/health")
        pending = sandbox.control(state).pending()

    assert state.usernames == ["knob-0000"]
    assert table["latency_ms"]["health"] == 150
    assert table["latency_ms"]["get_me"] == 40
    assert table["latency_ms"]["list_messages"] == lognormal
    assert table["error_rate"]["list_rooms"] == 0.5
    # SANDBOX_ERROR_RATE's list_messages gives way to the fault given for it.
    assert table["faults"]["list_messages"] == {"rate": 0.25, "kind": "reset"}
    assert table["error_rate"]["post_message"] == 1.0
    assert table["faults"]["get_me"] == fault_503
    assert table["cognito_quota_per_s"] == 7
    assert table["seed"] == 99
    assert health.elapsed >= 0.15
    assert pending["applied"] == 1
    assert [p["step"] for p in pending["pending"]] == [late]


def test_stop_ends_both_processes_and_is_idempotent(tmp_path: Path) -> None:
    state = sandbox.start(tmp_path, users=1, password="Given-passw0rd")
    pids = dict(state.pids)
    assert state.password == "Given-passw0rd"
    assert not any(process_gone(pid) for pid in pids.values())
    assert sign_in(state, "loadtest-user-0000")["AccessToken"]

    assert sandbox.stop(tmp_path) is True

    assert all(process_gone(pid) for pid in pids.values())
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
    assert not (tmp_path / "state.json").exists()
    assert sandbox.stop(tmp_path) is False
    assert sandbox.stop(tmp_path / "never-used") is False


def test_running_stops_the_sandbox_when_the_block_fails(tmp_path: Path) -> None:
    pids: dict[str, int] = {}

    with pytest.raises(RuntimeError, match="boom"):
        with sandbox.running(tmp_path, users=1) as state:
            pids.update(state.pids)
            raise RuntimeError("boom")

    assert set(pids) == {"moto", "api"}
    assert all(process_gone(pid) for pid in pids.values())
    assert not (tmp_path / "state.json").exists()


def test_refused_schedule_stops_nothing_it_started(tmp_path: Path) -> None:
    with pytest.raises(SandboxError) as caught:
        sandbox.start(tmp_path, users=1, schedule=[{"after_s": 1}])

    assert str(caught.value) == (
        "schedule[0]: nothing to do; give 'knobs' and/or 'outage'"
    )
    assert not (tmp_path / "moto.log").exists()


def test_status_without_a_sandbox_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(SandboxError) as caught:
        sandbox.status(tmp_path)

    assert str(caught.value) == (
        f"no sandbox state in {str(tmp_path)!r}: state.json is missing; "
        "start one with `python -m sandbox up`"
    )


def test_stale_state_is_reported_and_cleaned_by_stop(tmp_path: Path) -> None:
    dead = {"moto": 2**22 + 11, "api": 2**22 + 13}
    state = {field: "x" for field in STATE_FIELDS}
    state.update(user_count=1, pids=dead)
    (tmp_path / "state.json").write_text(json.dumps(state))

    with pytest.raises(SandboxError) as caught:
        sandbox.status(tmp_path)

    assert str(caught.value) == (
        f"sandbox in {str(tmp_path)!r} is broken: moto (pid {dead['moto']}) is not "
        "running; clean up with `python -m sandbox down`"
    )
    assert sandbox.stop(tmp_path) is False
    assert not (tmp_path / "state.json").exists()


def test_malformed_state_names_the_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"api_url": 5}))

    with pytest.raises(SandboxError) as caught:
        sandbox.stop(tmp_path)

    assert str(caught.value) == (
        f"{str(tmp_path / 'state.json')!r}: 'api_url' must be a str, got 5"
    )


def _moto_children() -> set[int]:
    """Pids of live moto servers that are children of this test process."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_text = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat_text.rpartition(")")[2].split()
        if (
            int(fields[1]) == os.getpid()
            and fields[0] != "Z"
            and b"moto.server" in cmdline
        ):
            found.add(int(entry.name))
    return found


def test_failed_start_reports_the_log_tail_and_stops_moto(tmp_path: Path) -> None:
    # A directory where the database file should be makes the chat API exit at once.
    (tmp_path / "chat.sqlite3").mkdir()
    before = _moto_children()

    with pytest.raises(SandboxError) as caught:
        sandbox.start(tmp_path, users=1)

    message = str(caught.value)
    assert message.startswith("chat api (pid ")
    assert f"exited before it was ready; {tmp_path / 'api.log'} ends with: " in message
    assert "cannot open the chat database" in message
    assert "\n" not in message
    assert _moto_children() <= before
    assert not (tmp_path / "state.json").exists()


def test_start_and_stop_log_without_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sandbox")

    with sandbox.running(tmp_path, users=1) as state:
        pass

    messages = [record.getMessage() for record in caplog.records]
    started = (
        f"sandbox started: api {state.api_url}, cognito {state.cognito_endpoint}, "
        f"user count 1; state in {tmp_path}"
    )
    assert started in messages
    assert f"sandbox in {tmp_path} stopped: yes" in messages
    assert not any(state.password in message for message in messages)

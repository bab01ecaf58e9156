"""End to end: ``loadgate run`` with many users, refreshes, throttling and bad passwords.

One sandbox with 100 test users serves the module. Each test writes its own scenarios
file (a copy of scenarios.yaml with one scenario and no thresholds: these runs judge
auth, not latency on a busy two-core machine) and runs the ``loadgate`` command. The
last test searches every artifact of the module's runs for secrets and tokens.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from auth_helpers import FakeClock

import sandbox
from auth import CognitoTokenProvider
from loadgate.errors import AuthError
from loadgate.scenarios import DEFAULT_SCENARIOS_PATH, AuthConfig, TestUsers
from sandbox import RequestRecord, SandboxState, read_request_log

pytestmark = pytest.mark.e2e

POOL_USERS = 100
SCENARIO = "auth-check"
WRONG_PASSWORD = "Wrong-Passw0rd-e2e!"
# The full refresh check of the acceptance: 3 minutes, refresh at 1 % of 60 minutes.
FULL_REFRESH_CHECK = bool(os.environ.get("LOADGATE_FULL_REFRESH_CHECK"))
JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")


@dataclass(frozen=True)
class Finished:
    """A finished ``loadgate run`` and where to find what it wrote."""

    code: int
    stdout: str
    stderr: str
    results: Path
    started: float
    ended: float

    def run_dir(self) -> Path:
        (run_dir,) = [p for p in self.results.iterdir() if p.is_dir()]
        return run_dir

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = json.loads(
            (self.run_dir() / "run.json").read_text(encoding="utf-8")
        )
        return facts

    def rows(self, name: str) -> list[dict[str, str]]:
        with (self.run_dir() / name).open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    def cognito(self, call: str) -> tuple[int, int]:
        """Return (calls, failures) of one Cognito call, summed over the stages."""
        rows = [
            row
            for row in self.rows("loadgate_stages.csv")
            if row["endpoint"] == f"cognito:{call}"
        ]
        return (
            sum(int(row["requests"]) for row in rows),
            sum(int(row["failures"]) for row in rows),
        )

    def peak_users(self) -> int:
        history = self.rows("loadgate_stats_history.csv")
        return max(int(row["User Count"]) for row in history)

    def log(self, name: str = "locust.log") -> str:
        return (self.run_dir() / name).read_text(encoding="utf-8", errors="replace")


Run = Callable[..., Finished]


@pytest.fixture(scope="module")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("auth-sandbox")


@pytest.fixture(scope="module")
def sandbox_state(sandbox_dir: Path) -> Iterator[SandboxState]:
    """One sandbox with 100 test users for the module, stopped at its end."""
    with sandbox.running(sandbox_dir, users=POOL_USERS) as state:
        yield state


@pytest.fixture(scope="module")
def runs() -> list[Finished]:
    """Every run of the module, for the final search for leaked secrets."""
    return []


@pytest.fixture
def run(
    sandbox_state: SandboxState, sandbox_dir: Path, runs: list[Finished], tmp_path: Path
) -> Run:
    """Run one scenario on the sandbox with the given auth and endpoint settings."""

    def run_scenario(
        scenario: Mapping[str, Any],
        *,
        auth: Mapping[str, Any] | None = None,
        endpoints: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        args: tuple[str, ...] = (),
        timeout: float = 240,
    ) -> Finished:
        scenarios = write_scenarios(tmp_path, scenario, auth or {}, endpoints)
        results = tmp_path / "results"
        command = [sys.executable, "-m", "loadgate", "run", "--scenario", SCENARIO]
        command += ["--scenarios-file", str(scenarios), "--sandbox", str(sandbox_dir)]
        command += ["--results", str(results), *args]
        started = time.time()
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            check=False,
        )
        finished = Finished(
            done.returncode, done.stdout, done.stderr, results, started, time.time()
        )
        runs.append(finished)
        return finished

    return run_scenario


@pytest.fixture
def quota(sandbox_state: SandboxState) -> Iterator[sandbox.SandboxControl]:
    """The sandbox's control client; its Cognito quota is lifted after the test."""
    control = sandbox.control(sandbox_state)
    yield control
    control.set_knobs({"cognito_quota_per_s": None})


def write_scenarios(
    tmp_path: Path,
    scenario: Mapping[str, Any],
    auth: Mapping[str, Any],
    endpoints: Mapping[str, Any] | None,
) -> Path:
    data = yaml.safe_load(DEFAULT_SCENARIOS_PATH.read_text(encoding="utf-8"))
    users = {"count": POOL_USERS, **auth.get("users", {})}
    data["auth"].update({k: v for k, v in auth.items() if k != "users"})
    data["auth"]["users"].update(users)
    if endpoints is not None:
        data["endpoints"] = endpoints
    data["thresholds"] = []
    data["scenarios"] = {SCENARIO: {"min_samples": 1, **scenario}}
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def listed(state: SandboxState, done: Finished) -> list[RequestRecord]:
    """Return every /api/ request the sandbox saw during a run."""
    return [
        record
        for record in read_request_log(state.request_log)
        if done.started <= record["ts"] <= done.ended
        and record["path"].startswith("/api/")
    ]


def api_statuses(state: SandboxState, done: Finished) -> list[int]:
    """Return the status of every /api/ request the sandbox saw during a run."""
    return [record["status"] for record in listed(state, done)]


def error_lines(done: Finished) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("error:")]


def test_a_thousand_users_share_a_hundred_sign_ins(
    sandbox_state: SandboxState, run: Run
) -> None:
    done = run(
        {
            "wait_time": {"min": 5, "max": 10},
            "stages": [
                {"name": "Peak", "users": 1000, "spawn_rate": 100, "duration": 25}
            ],
        }
    )

    assert done.code == 0, done.stderr
    assert done.facts()["fatal_error"] is None
    assert done.peak_users() == 1000
    assert done.cognito("AdminInitiateAuth") == (100, 0)
    assert "cognito: 100 sign-ins and 0 refreshes for 100 test users in 100 calls" in (
        done.log()
    )
    records = listed(sandbox_state, done)
    statuses = [record["status"] for record in records]
    assert 401 not in statuses
    assert set(statuses) <= {200, 201}
    # Every user listed the rooms with its token when it started.
    assert sum(record["path"] == "/api/v1/rooms" for record in records) >= 1000


def test_tokens_are_refreshed_before_they_expire(
    sandbox_state: SandboxState, run: Run
) -> None:
    # The emulator's tokens last an hour, so the refresh point is pulled forward:
    # 0.3 % (10.8 s) in a 25 s run here, 1 % (36 s) in the full 3-minute check.
    fraction, duration = (0.01, 180) if FULL_REFRESH_CHECK else (0.003, 25)
    users = 20

    done = run(
        {
            "wait_time": {"min": 0.5, "max": 1.5},
            "stages": [
                {"name": "Peak", "users": users, "spawn_rate": 20, "duration": duration}
            ],
        },
        auth={"refresh_fraction": fraction, "users": {"count": users}},
        timeout=duration + 120,
    )

    assert done.code == 0, done.stderr
    # The last round may fall after the run's end: it is not counted on.
    rounds = int(duration / (3600 * fraction)) - 1
    refreshes, failed = done.cognito("InitiateAuth:refresh")
    assert refreshes >= users * rounds
    assert failed == 0
    assert done.cognito("AdminInitiateAuth") == (users, 0)
    stats = {(row["Type"], row["Name"]) for row in done.rows("loadgate_stats.csv")}
    assert ("cognito", "InitiateAuth:refresh") in stats
    statuses = api_statuses(sandbox_state, done)
    assert len(statuses) > users * duration / 2
    assert 401 not in statuses


def test_throttled_sign_ins_are_retried_until_every_user_is_in(
    sandbox_state: SandboxState, run: Run, quota: sandbox.SandboxControl
) -> None:
    quota.set_knobs({"cognito_quota_per_s": 20})
    before = quota.proxy_stats()["throttled_calls"]

    done = run(
        {
            "wait_time": {"min": 1, "max": 2},
            "stages": [
                {"name": "Peak", "users": 200, "spawn_rate": 200, "duration": 20}
            ],
        }
    )

    throttled = quota.proxy_stats()["throttled_calls"] - before
    assert done.code == 0, done.stderr
    assert done.facts()["fatal_error"] is None
    assert done.peak_users() == 200
    calls, failures = done.cognito("AdminInitiateAuth")
    assert throttled > 0
    assert failures == throttled
    assert calls - failures == POOL_USERS
    summary = re.search(r"(\d+) throttled, (\d+) retried", done.log())
    assert summary is not None
    assert int(summary[1]) == throttled == int(summary[2])
    failures_csv = done.rows("loadgate_failures.csv")
    assert any("TooManyRequestsException" in row["Error"] for row in failures_csv)
    statuses = api_statuses(sandbox_state, done)
    assert 401 not in statuses
    assert len(statuses) >= 200
    assert (
        sum(record["path"] == "/api/v1/rooms" for record in listed(sandbox_state, done))
        >= 200
    )


def test_a_throttled_renewal_keeps_the_valid_token_and_never_an_expired_one(
    sandbox_state: SandboxState, quota: sandbox.SandboxControl
) -> None:
    config = AuthConfig(
        region=sandbox_state.region,
        user_pool_id=sandbox_state.user_pool_id,
        client_id=sandbox_state.client_id,
        flow="USER_PASSWORD_AUTH",
        token="id",
        endpoint_url=sandbox_state.cognito_endpoint,
        users=TestUsers(sandbox_state.user_prefix, POOL_USERS, sandbox_state.password),
        refresh_fraction=0.5,
        max_attempts=3,
    )
    clock = FakeClock()
    tokens = CognitoTokenProvider(config, clock=clock, sleep=clock.sleep)
    first = tokens.bearer_for(7)
    quota.set_knobs({"cognito_quota_per_s": 0})
    before = quota.proxy_stats()["throttled_calls"]

    # Due for refresh, Cognito throttling everything: the valid token stays in use.
    clock.advance(1801)
    assert tokens.bearer_for(7) == first
    assert tokens.counts.throttled == 6
    # Near its expiry it is not handed out any more: the user gets an error instead.
    clock.advance(1800)
    with pytest.raises(AuthError, match="with TooManyRequestsException after 3"):
        tokens.bearer_for(7)
    assert quota.proxy_stats()["throttled_calls"] - before == tokens.counts.throttled

    # Throttling is not fatal: once Cognito lets calls through, tokens flow again.
    quota.set_knobs({"cognito_quota_per_s": None})
    renewed = tokens.bearer_for(7)
    assert renewed != first
    assert (tokens.counts.sign_ins, tokens.counts.refreshes) == (1, 1)


def test_a_wrong_password_stops_the_run_at_once(
    sandbox_state: SandboxState, run: Run
) -> None:
    done = run(
        {
            "wait_time": {"min": 0.5, "max": 1},
            "stages": [{"name": "Peak", "users": 50, "spawn_rate": 50, "duration": 20}],
        },
        env={"LOADGATE_TEST_PASSWORD": WRONG_PASSWORD},
    )

    assert done.code == 2
    (line,) = error_lines(done)
    # One error and nothing else alarming: no traceback per user, no blank lines.
    noisy = [
        text
        for text in done.stderr.splitlines()
        if not text.strip() or "error" in text.lower() or "Traceback" in text
    ]
    assert noisy == [line]
    assert "/ERROR/" not in done.log()
    assert line.startswith(
        "error: Cognito refused AdminInitiateAuth for test user 'loadtest-user-0000' "
        f"in pool {sandbox_state.user_pool_id!r} (client {sandbox_state.client_id!r}, "
        "region us-east-1): NotAuthorizedException"
    )
    facts = done.facts()
    assert facts["ended_at"] - facts["started_at"] < 5
    attempts = sum(
        int(row["requests"])
        for row in done.rows("loadgate_stages.csv")
        if row["endpoint"].startswith("cognito:")
    )
    assert 1 <= attempts < 5
    assert WRONG_PASSWORD not in done.stdout + done.stderr


def test_each_worker_signs_in_only_the_users_it_runs(
    sandbox_state: SandboxState, run: Run
) -> None:
    done = run(
        {
            "wait_time": {"min": 0.5, "max": 1},
            "stages": [{"name": "Peak", "users": 10, "spawn_rate": 10, "duration": 12}],
        },
        args=("--workers", "2"),
    )

    assert done.code == 0, done.stderr
    assert done.cognito("AdminInitiateAuth") == (10, 0)
    for worker in ("worker-1.log", "worker-2.log"):
        assert "cognito: 5 sign-ins and 0 refreshes for 5 test users" in done.log(
            worker
        )
    # The master has no token provider: it never signs in and holds no token.
    assert "cognito: " not in done.log()
    assert 401 not in api_statuses(sandbox_state, done)


def test_make_users_works_on_the_sandbox(
    sandbox_state: SandboxState, sandbox_dir: Path, tmp_path: Path
) -> None:
    data = yaml.safe_load(DEFAULT_SCENARIOS_PATH.read_text(encoding="utf-8"))
    data["auth"]["users"]["prefix"] = "extra-user-"
    scenarios = tmp_path / "scenarios.yaml"
    scenarios.write_text(yaml.safe_dump(data), encoding="utf-8")

    def users(*args: str) -> str:
        options = ["--sandbox", str(sandbox_dir), "--scenarios-file", str(scenarios)]
        done = subprocess.run(
            [sys.executable, "-m", "loadgate", "users", *args, *options],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
        return done.stdout

    created = users("create", "--count", "3")
    again = users("create", "--count", "3")
    deleted = users("delete")

    pool = sandbox_state.user_pool_id
    assert created == (
        f"test users extra-user-0000..extra-user-0002 in pool {pool}: 3 created, "
        "0 already there (password set permanent again)\n"
    )
    assert "0 created, 3 already there" in again
    assert deleted == f"test users extra-user-* in pool {pool}: 3 deleted\n"
    idp = boto3.client(
        "cognito-idp",
        region_name=sandbox_state.region,
        endpoint_url=sandbox_state.cognito_upstream,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    paginator = idp.get_paginator("list_users")
    names = [
        user["Username"]
        for page in paginator.paginate(UserPoolId=pool)
        for user in page["Users"]
    ]
    assert sorted(names) == sandbox_state.usernames


@pytest.fixture(scope="module")
def secret_client(sandbox_state: SandboxState) -> tuple[str, str]:
    """An app client with a secret on the sandbox's pool: (client id, secret)."""
    idp = boto3.client(
        "cognito-idp",
        region_name=sandbox_state.region,
        endpoint_url=sandbox_state.cognito_upstream,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    app = idp.create_user_pool_client(
        UserPoolId=sandbox_state.user_pool_id,
        ClientName="with-secret",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    return app["ClientId"], app["ClientSecret"]


def secret_run(run: Run, client_id: str, client_secret: str, users: int) -> Finished:
    """Run users of the app client with a secret, refreshing every 7.2 s."""
    # The chat API accepts only the sandbox's own client, so this run sends its
    # token to /health, which reads no token, to make the users refresh.
    return run(
        {
            "wait_time": {"min": 0.5, "max": 1},
            "stages": [
                {"name": "Peak", "users": users, "spawn_rate": 10, "duration": 12}
            ],
        },
        auth={
            "flow": "USER_SRP_AUTH",
            "client_id": client_id,
            "client_secret": "${LOADGATE_CLIENT_SECRET}",
            "refresh_fraction": 0.002,
            "users": {"count": users},
        },
        endpoints={
            "signed_health": {"method": "GET", "path": "/health", "weight": 1},
        },
        env={"LOADGATE_CLIENT_SECRET": client_secret},
    )


def test_a_client_with_a_secret_signs_in_and_refreshes_under_load(
    run: Run, secret_client: tuple[str, str]
) -> None:
    done = secret_run(run, *secret_client, users=10)

    assert done.code == 0, done.stderr
    # moto checks SECRET_HASH on the SRP start and on the refresh.
    assert done.cognito("InitiateAuth") == (10, 0)
    assert done.cognito("RespondToAuthChallenge") == (10, 0)
    refreshes, failed = done.cognito("InitiateAuth:refresh")
    assert refreshes >= 10
    assert failed == 0


def issued_tokens(state: SandboxState) -> set[str]:
    """Every ID, access and refresh token the emulator has issued."""
    url = f"{state.cognito_upstream}/moto-api/data.json"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as reply:
        data = json.load(reply)
    tokens: set[str] = set()
    for pool in data["cognitoidp"]["CognitoIdpUserPool"]:
        for kind in ("id_tokens", "access_tokens", "refresh_tokens"):
            tokens |= set(pool.get(kind) or {})
    return tokens


def artifacts(runs: list[Finished], sandbox_dir: Path) -> dict[str, str]:
    """Every output of the module's runs and the sandbox's logs, by name."""
    texts: dict[str, str] = {}
    for number, done in enumerate(runs):
        texts[f"run {number} stdout"] = done.stdout
        texts[f"run {number} stderr"] = done.stderr
        for path in done.results.rglob("*"):
            if path.is_file():
                texts[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    for path in sandbox_dir.rglob("*"):
        # state.json holds the password by design: it is the sandbox's own secret store.
        if path.is_file() and path.name != "state.json":
            texts[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    return texts


def test_no_artifact_holds_a_password_secret_or_token(
    sandbox_state: SandboxState,
    sandbox_dir: Path,
    runs: list[Finished],
    run: Run,
    secret_client: tuple[str, str],
) -> None:
    if not runs:
        # Run on its own: make at least one run with every kind of secret in it.
        secret_run(run, *secret_client, users=5)
    tokens = issued_tokens(sandbox_state)
    secrets = {sandbox_state.password, WRONG_PASSWORD, secret_client[1], *tokens}

    texts = artifacts(runs, sandbox_dir)
    hits = [
        (name, secret[:12] + "...")
        for name, text in texts.items()
        for secret in secrets
        if secret in text
    ]
    shaped = [(name, "JWT") for name, text in texts.items() if JWT.search(text)]

    assert len(tokens) > 3 * len(runs)
    # The JWT pattern matches the emulator's ID and access tokens.
    assert sum(bool(JWT.fullmatch(token)) for token in tokens) > 2 * len(runs)
    assert any(name.endswith("locust.log") for name in texts)
    assert any(name.endswith("report.html") for name in texts)
    assert hits == []
    assert shaped == []

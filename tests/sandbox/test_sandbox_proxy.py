"""The Cognito quota proxy of a running sandbox, spoken to with boto3."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from sandbox_helpers import raw_get

from sandbox import ProxyStats, SandboxControl, SandboxState

ADMIN_AUTH = "AWSCognitoIdentityProviderService.AdminInitiateAuth"
USER_AUTH = "AWSCognitoIdentityProviderService.InitiateAuth"
LIST_USERS = "AWSCognitoIdentityProviderService.ListUsers"


@pytest.fixture
def cognito(sandbox_state: SandboxState) -> Iterator[Any]:
    """A boto3 client of the proxy that never retries, so throttling shows at once."""
    client = boto3.client(
        "cognito-idp",
        region_name=sandbox_state.region,
        endpoint_url=sandbox_state.cognito_endpoint,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
        config=Config(retries={"total_max_attempts": 1}, proxies={}),
    )
    yield client
    client.close()


def _admin_sign_in(cognito: Any, state: SandboxState, user: int = 0) -> Any:
    return cognito.admin_initiate_auth(
        UserPoolId=state.user_pool_id,
        ClientId=state.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": state.usernames[user], "PASSWORD": state.password},
    )


def _user_sign_in(cognito: Any, state: SandboxState, user: int = 0) -> Any:
    return cognito.initiate_auth(
        ClientId=state.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": state.usernames[user], "PASSWORD": state.password},
    )


def _calls(stats: ProxyStats, target: str) -> tuple[int, int]:
    counts = stats["by_target"].get(target, {"calls": 0, "throttled": 0})
    return counts["calls"], counts["throttled"]


def _delta(before: ProxyStats, after: ProxyStats) -> dict[str, int]:
    keys = ("sign_in_calls", "throttled_calls", "forwarded_calls")
    return {key: after[key] - before[key] for key in keys}


def test_cognito_endpoint_is_the_proxy_in_front_of_the_emulator(
    sandbox_state: SandboxState,
) -> None:
    assert sandbox_state.cognito_endpoint != sandbox_state.cognito_upstream
    assert raw_get(sandbox_state.cognito_endpoint, "/_proxy/stats").status == 200
    assert raw_get(sandbox_state.cognito_upstream, "/_proxy/stats").status != 200


def test_sign_ins_pass_through_and_are_counted_per_target(
    ctl: SandboxControl, cognito: Any, sandbox_state: SandboxState
) -> None:
    before = ctl.proxy_stats()

    admin = _admin_sign_in(cognito, sandbox_state, 3)
    user = _user_sign_in(cognito, sandbox_state, 4)
    after = ctl.proxy_stats()

    assert admin["AuthenticationResult"]["IdToken"]
    assert user["AuthenticationResult"]["AccessToken"]
    assert _delta(before, after) == {
        "sign_in_calls": 2,
        "throttled_calls": 0,
        "forwarded_calls": 2,
    }
    assert _calls(after, ADMIN_AUTH)[0] == _calls(before, ADMIN_AUTH)[0] + 1
    assert _calls(after, USER_AUTH)[0] == _calls(before, USER_AUTH)[0] + 1
    assert after["quota_per_s"] is None


def test_sign_ins_over_quota_get_cognitos_throttling_error(
    ctl: SandboxControl, cognito: Any, sandbox_state: SandboxState
) -> None:
    ctl.set_knobs({"cognito_quota_per_s": 0})
    before = ctl.proxy_stats()

    with pytest.raises(ClientError) as admin:
        _admin_sign_in(cognito, sandbox_state)
    with pytest.raises(ClientError) as user:
        _user_sign_in(cognito, sandbox_state)
    listed = cognito.list_users(UserPoolId=sandbox_state.user_pool_id, Limit=1)
    after = ctl.proxy_stats()

    for caught in (admin, user):
        response = caught.value.response
        assert isinstance(caught.value, cognito.exceptions.TooManyRequestsException)
        assert response["Error"] == {
            "Code": "TooManyRequestsException",
            "Message": "Rate exceeded",
        }
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        headers = response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amzn-errortype"] == "TooManyRequestsException:"
    assert len(listed["Users"]) == 1
    assert _delta(before, after) == {
        "sign_in_calls": 2,
        "throttled_calls": 2,
        "forwarded_calls": 1,
    }
    assert _calls(after, ADMIN_AUTH)[1] == _calls(before, ADMIN_AUTH)[1] + 1
    assert _calls(after, LIST_USERS)[1] == _calls(before, LIST_USERS)[1]
    assert after["quota_per_s"] == 0


def test_quota_lets_one_seconds_worth_through_then_refills(
    ctl: SandboxControl, cognito: Any, sandbox_state: SandboxState
) -> None:
    ctl.set_knobs({"cognito_quota_per_s": 2})
    before = ctl.proxy_stats()
    started = time.monotonic()

    outcomes = []
    for user in range(8):
        try:
            _admin_sign_in(cognito, sandbox_state, user)
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])
    elapsed = time.monotonic() - started
    after = ctl.proxy_stats()

    passed = outcomes.count("ok")
    assert outcomes[:2] == ["ok", "ok"]
    assert set(outcomes[2:]) <= {"ok", "TooManyRequestsException"}
    # A full bucket of two, then two more a second at most.
    assert 2 <= passed <= 2 + math.floor(2 * elapsed) + 1
    assert _delta(before, after)["throttled_calls"] == 8 - passed


def test_a_schedule_step_moves_the_quota(ctl: SandboxControl) -> None:
    ctl.schedule([{"after_s": 0, "knobs": {"cognito_quota_per_s": 4.5}}])

    assert ctl.proxy_stats()["quota_per_s"] == 4.5
    assert ctl.knobs()["cognito_quota_per_s"] == 4.5


def test_proxy_port_serves_the_same_counters_as_the_control_port(
    ctl: SandboxControl, sandbox_state: SandboxState
) -> None:
    on_proxy = raw_get(sandbox_state.cognito_endpoint, "/_proxy/stats")

    assert json.loads(on_proxy.body) == ctl.proxy_stats()
    assert set(json.loads(on_proxy.body)) == {
        "quota_per_s",
        "sign_in_calls",
        "throttled_calls",
        "forwarded_calls",
        "by_target",
    }


def test_proxy_logs_no_password(
    cognito: Any, sandbox_state: SandboxState, sandbox_dir: Path
) -> None:
    _admin_sign_in(cognito, sandbox_state)

    for log in ("api.log", "requests.jsonl"):
        assert sandbox_state.password not in (sandbox_dir / log).read_text(), log

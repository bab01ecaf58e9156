"""The ``auth`` section of scenarios.yaml, and the auth package's public names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import auth
from loadgate.errors import ConfigError
from loadgate.scenarios import DEFAULT_SCENARIOS_PATH, load_scenarios

ENV = {"LOADGATE_TEST_PASSWORD": "Config-Passw0rd!", "LOADGATE_CLIENT_SECRET": "cs-1"}


def with_auth(tmp_path: Path, **changes: Any) -> Path:
    data = yaml.safe_load(DEFAULT_SCENARIOS_PATH.read_text(encoding="utf-8"))
    data["auth"].update(changes)
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_the_shipped_file_has_the_documented_defaults() -> None:
    config = load_scenarios(env=ENV).auth

    assert config.flow == "ADMIN_USER_PASSWORD_AUTH"
    assert config.refresh_fraction == 0.75
    assert config.sign_in_rate == 50
    assert config.max_attempts == 8
    assert config.client_secret == "cs-1"
    assert "cs-1" not in repr(config)
    assert "Config-Passw0rd!" not in repr(config)


@pytest.mark.parametrize(
    "flow",
    ["ADMIN_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH", "USER_SRP_AUTH"],
)
def test_every_flow_is_accepted(tmp_path: Path, flow: str) -> None:
    assert load_scenarios(with_auth(tmp_path, flow=flow), env=ENV).auth.flow == flow


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"flow": "CUSTOM_AUTH"},
            "scenarios.yaml: auth.flow: 'CUSTOM_AUTH' is not allowed; expected one of "
            "ADMIN_USER_PASSWORD_AUTH, ADMIN_NO_SRP_AUTH, USER_PASSWORD_AUTH, "
            "USER_SRP_AUTH",
        ),
        (
            {"refresh_fraction": 0},
            "scenarios.yaml: auth.refresh_fraction: 0 is not allowed; expected a "
            "number > 0",
        ),
        (
            {"refresh_fraction": 1.5},
            "scenarios.yaml: auth.refresh_fraction: 1.5 is not allowed; expected a "
            "fraction of the token's lifetime above 0 and at most 1",
        ),
        (
            {"sign_in_rate": 0},
            "scenarios.yaml: auth.sign_in_rate: 0 is not allowed; expected a number > 0",
        ),
        (
            {"max_attempts": 0},
            "scenarios.yaml: auth.max_attempts: 0 is not allowed; expected a whole "
            "number >= 1",
        ),
        (
            {"client_secrett": "x"},
            "scenarios.yaml: auth: unknown key 'client_secrett' (did you mean "
            "'client_secret'?); known keys: region, user_pool_id, client_id, flow, "
            "token, endpoint_url, users, client_secret, refresh_fraction, sign_in_rate, "
            "max_attempts",
        ),
    ],
    ids=[
        "unknown-flow",
        "zero-fraction",
        "fraction-above-one",
        "zero-rate",
        "zero-attempts",
        "misspelt-key",
    ],
)
def test_bad_auth_values_are_named_with_what_is_accepted(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_scenarios(with_auth(tmp_path, **changes), env=ENV)

    assert str(error.value) == message


def test_the_public_names_are_pinned() -> None:
    assert sorted(auth.__all__) == [
        "CallCounts",
        "CallObserver",
        "CognitoTokenProvider",
        "SECRET_SOURCES",
        "SecretSource",
        "SecretStore",
        "Token",
        "TokenProvider",
        "UsersResult",
        "admin_client",
        "check_settings",
        "create_test_users",
        "delete_test_users",
        "make_cognito_client",
        "pool_usernames",
        "secret_hash",
    ]

"""Secret references in scenarios.yaml, read from SSM and Secrets Manager on moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from loadgate.errors import ConfigError
from loadgate.scenarios import DEFAULT_SCENARIOS_PATH, load_scenarios

PASSWORD = "Ssm-Stored-Passw0rd!"
CLIENT_SECRET = "client-secret-from-secrets-manager"
PLAIN_SECRET = "a-plain-string-secret"
TRICKY = "value-with-${LOADGATE_HOST}-inside"


@pytest.fixture(scope="module")
def stored(moto_endpoint: str, _no_real_aws: None) -> dict[str, str]:
    """Parameters and secrets on the moto server; returns their ARNs by name."""
    ssm = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_endpoint)
    ssm.put_parameter(
        Name="/loadgate/test-password", Value=PASSWORD, Type="SecureString"
    )
    ssm.put_parameter(Name="/loadgate/tricky", Value=TRICKY, Type="String")
    manager = boto3.client(
        "secretsmanager", region_name="us-east-1", endpoint_url=moto_endpoint
    )
    data = {"password": PASSWORD, "client_secret": CLIENT_SECRET}
    arn = manager.create_secret(Name="loadgate/test", SecretString=json.dumps(data))
    manager.create_secret(Name="loadgate/plain", SecretString=PLAIN_SECRET)
    return {"loadgate/test": arn["ARN"]}


@pytest.fixture
def env(moto_endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL_SSM": moto_endpoint,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint,
        "AWS_REGION": "us-east-1",
    }


def scenarios_with(tmp_path: Path, **auth: Any) -> Path:
    data = yaml.safe_load(DEFAULT_SCENARIOS_PATH.read_text(encoding="utf-8"))
    users = auth.pop("users", {})
    data["auth"].update(auth)
    data["auth"]["users"].update(users)
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_ssm_and_secrets_manager_references_are_filled_in(
    tmp_path: Path, stored: dict[str, str], env: dict[str, str]
) -> None:
    path = scenarios_with(
        tmp_path,
        client_secret="${secretsmanager:loadgate/test#client_secret}",
        client_id="${secretsmanager:loadgate/plain}",
        users={"password": "${ssm:/loadgate/test-password}"},
    )

    auth = load_scenarios(path, env=env).auth

    assert auth.users.password == PASSWORD
    assert auth.client_secret == CLIENT_SECRET
    assert auth.client_id == PLAIN_SECRET
    assert PASSWORD not in repr(auth)
    assert CLIENT_SECRET not in repr(auth)


def test_a_secret_can_be_named_by_its_arn(
    tmp_path: Path, stored: dict[str, str], env: dict[str, str]
) -> None:
    arn = stored["loadgate/test"]
    path = scenarios_with(
        tmp_path, users={"password": f"${{secretsmanager:{arn}#password}}"}
    )

    assert load_scenarios(path, env=env).auth.users.password == PASSWORD


def test_a_filled_in_value_is_not_read_again(
    tmp_path: Path, stored: dict[str, str], env: dict[str, str]
) -> None:
    path = scenarios_with(tmp_path, users={"password": "${ssm:/loadgate/tricky}"})

    assert load_scenarios(path, env=env).auth.users.password == TRICKY


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "${ssm:/loadgate/missing}",
            "scenarios.yaml: auth.users.password: ssm parameter '/loadgate/missing' "
            "cannot be read: ParameterNotFound: ",
        ),
        (
            "${secretsmanager:loadgate/missing#password}",
            "scenarios.yaml: auth.users.password: secretsmanager secret "
            "'loadgate/missing' cannot be read: ResourceNotFoundException: ",
        ),
        (
            "${secretsmanager:loadgate/test#nope}",
            "scenarios.yaml: auth.users.password: secretsmanager secret "
            "'loadgate/test' has no string at key 'nope'; its keys: client_secret, "
            "password",
        ),
        (
            "${secretsmanager:loadgate/plain#password}",
            "scenarios.yaml: auth.users.password: secretsmanager secret "
            "'loadgate/plain' is not a JSON object, so '#password' cannot be read "
            "from it",
        ),
        (
            "${ssm:/loadgate/test-password#password}",
            "scenarios.yaml: auth.users.password: ssm parameter "
            "'/loadgate/test-password': '#password' is only for Secrets Manager "
            "secrets that hold JSON",
        ),
    ],
    ids=[
        "missing-parameter",
        "missing-secret",
        "missing-key",
        "not-json",
        "key-on-ssm",
    ],
)
def test_an_unreadable_reference_names_it_and_never_the_value(
    tmp_path: Path,
    stored: dict[str, str],
    env: dict[str, str],
    reference: str,
    message: str,
) -> None:
    path = scenarios_with(tmp_path, users={"password": reference})

    with pytest.raises(ConfigError) as error:
        load_scenarios(path, env=env)

    assert str(error.value).startswith(message)
    for secret in (PASSWORD, CLIENT_SECRET, PLAIN_SECRET):
        assert secret not in str(error.value)


def test_environment_references_still_work_beside_secret_ones(
    tmp_path: Path, stored: dict[str, str], env: dict[str, str]
) -> None:
    path = scenarios_with(
        tmp_path,
        user_pool_id="${POOL}",
        users={"password": "${ssm:/loadgate/test-password}"},
    )

    auth = load_scenarios(path, env={**env, "POOL": "us-east-1_abc"}).auth

    assert auth.user_pool_id == "us-east-1_abc"
    assert auth.users.password == PASSWORD

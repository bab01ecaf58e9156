"""Test-user admin: idempotent creation, deletion by prefix, and the ``users`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from auth_helpers import PASSWORD, admin

from auth import create_test_users, delete_test_users, pool_usernames
from loadgate.errors import AuthError
from loadgate.scenarios import DEFAULT_SCENARIOS_PATH


@pytest.fixture
def empty_pool(moto_endpoint: str, request: pytest.FixtureRequest) -> str:
    """A new, empty user pool on the moto server."""
    name = request.node.name[:100]
    pool_id: str = admin(moto_endpoint).create_user_pool(PoolName=name)["UserPool"][
        "Id"
    ]
    return pool_id


def usernames_in(endpoint: str, pool_id: str) -> list[str]:
    users = admin(endpoint).list_users(UserPoolId=pool_id)["Users"]
    return sorted(user["Username"] for user in users)


def signs_in(endpoint: str, pool_id: str, username: str) -> bool:
    idp = admin(endpoint)
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="check",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    reply = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )
    return "AuthenticationResult" in reply


def test_usernames_are_numbered_from_zero() -> None:
    assert pool_usernames("lt-", 3) == ["lt-0000", "lt-0001", "lt-0002"]


def test_creating_twice_creates_once_and_users_sign_in_without_challenge(
    moto_endpoint: str, empty_pool: str
) -> None:
    idp = admin(moto_endpoint)
    names = pool_usernames("lt-", 4)

    first = create_test_users(idp, empty_pool, names, PASSWORD, rate=1000)
    second = create_test_users(idp, empty_pool, names, PASSWORD, rate=1000)

    assert (first.created, first.updated) == (4, 0)
    assert (second.created, second.updated) == (0, 4)
    assert usernames_in(moto_endpoint, empty_pool) == names
    assert all(signs_in(moto_endpoint, empty_pool, name) for name in names)


def test_a_user_waiting_for_a_new_password_gets_a_permanent_one(
    moto_endpoint: str, empty_pool: str
) -> None:
    idp = admin(moto_endpoint)
    idp.admin_create_user(
        UserPoolId=empty_pool,
        Username="lt-0000",
        TemporaryPassword="Temp-Passw0rd!",
        MessageAction="SUPPRESS",
    )

    result = create_test_users(idp, empty_pool, ["lt-0000"], PASSWORD, rate=1000)

    assert result.updated == 1
    assert signs_in(moto_endpoint, empty_pool, "lt-0000")


def test_deleting_removes_only_the_numbered_test_users(
    moto_endpoint: str, empty_pool: str
) -> None:
    idp = admin(moto_endpoint)
    create_test_users(idp, empty_pool, pool_usernames("lt-", 3), PASSWORD, rate=1000)
    create_test_users(idp, empty_pool, ["lt-admin", "other-0001"], PASSWORD, rate=1000)

    first = delete_test_users(idp, empty_pool, "lt-", rate=1000)
    second = delete_test_users(idp, empty_pool, "lt-", rate=1000)

    assert (first.deleted, second.deleted) == (3, 0)
    assert usernames_in(moto_endpoint, empty_pool) == ["lt-admin", "other-0001"]


def test_an_unknown_pool_is_named_in_the_error(moto_endpoint: str) -> None:
    with pytest.raises(AuthError) as error:
        create_test_users(
            admin(moto_endpoint), "us-east-1_nopool", ["lt-0000"], PASSWORD, rate=1000
        )

    assert str(error.value).startswith(
        "cannot create test user 'lt-0000' in pool 'us-east-1_nopool': "
        "ResourceNotFoundException: "
    )
    assert PASSWORD not in str(error.value)


def test_an_empty_password_is_refused(moto_endpoint: str, empty_pool: str) -> None:
    with pytest.raises(AuthError, match="no test password: set LOADGATE_TEST_PASSWORD"):
        create_test_users(admin(moto_endpoint), empty_pool, ["lt-0000"], "")


def test_the_users_command_works_on_a_pool_named_by_the_environment(
    moto_endpoint: str, empty_pool: str, tmp_path: Path
) -> None:
    data = yaml.safe_load(DEFAULT_SCENARIOS_PATH.read_text(encoding="utf-8"))
    data["auth"]["users"]["prefix"] = "cli-user-"
    scenarios = tmp_path / "scenarios.yaml"
    scenarios.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {
        **os.environ,
        "LOADGATE_USER_POOL_ID": empty_pool,
        "LOADGATE_TEST_PASSWORD": PASSWORD,
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": moto_endpoint,
    }

    def loadgate(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "loadgate", "users", *args]
        command += ["--scenarios-file", str(scenarios)]
        return subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=60, check=False
        )

    created = loadgate("create", "--count", "3")
    names = usernames_in(moto_endpoint, empty_pool)
    deleted = loadgate("delete")

    assert (created.returncode, created.stderr) == (0, "")
    assert created.stdout == (
        f"test users cli-user-0000..cli-user-0002 in pool {empty_pool}: 3 created, "
        "0 already there (password set permanent again)\n"
    )
    assert names == ["cli-user-0000", "cli-user-0001", "cli-user-0002"]
    assert deleted.returncode == 0
    assert deleted.stdout == f"test users cli-user-* in pool {empty_pool}: 3 deleted\n"
    assert usernames_in(moto_endpoint, empty_pool) == []
    assert PASSWORD not in created.stdout + created.stderr + deleted.stdout


def test_the_users_command_needs_a_pool(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LOADGATE_USER_POOL_ID"}

    done = subprocess.run(
        [sys.executable, "-m", "loadgate", "users", "create"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr == (
        "error: auth.user_pool_id is empty: set LOADGATE_USER_POOL_ID for a real pool, "
        "or pass --sandbox\n"
    )

"""Fixtures for the auth tests: a moto server on a free port and a user pool on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from auth_helpers import PASSWORD, PREFIX, Pool, admin
from moto.server import ThreadedMotoServer

from auth import create_test_users, pool_usernames

FLOWS = [
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server (Cognito, SSM, Secrets Manager) in this process, on 127.0.0.1."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def _no_real_aws(monkeypatch_session: pytest.MonkeyPatch) -> None:
    """Keep any real AWS credentials of the machine out of reach of the tests."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch_session.delenv(name, raising=False)
    monkeypatch_session.setenv("AWS_ACCESS_KEY_ID", "unit-test")
    monkeypatch_session.setenv("AWS_SECRET_ACCESS_KEY", "unit-test")
    monkeypatch_session.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def monkeypatch_session() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="session")
def pool(moto_endpoint: str, _no_real_aws: None) -> Pool:
    """A pool with a plain app client, one with a secret, and six test users."""
    client = admin(moto_endpoint)
    pool_id = client.create_user_pool(PoolName="unit")["UserPool"]["Id"]
    plain = client.create_user_pool_client(
        UserPoolId=pool_id, ClientName="plain", ExplicitAuthFlows=FLOWS
    )["UserPoolClient"]
    secret = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="secret",
        GenerateSecret=True,
        ExplicitAuthFlows=FLOWS,
    )["UserPoolClient"]
    create_test_users(client, pool_id, pool_usernames(PREFIX, 6), PASSWORD, rate=1000)
    return Pool(
        endpoint=moto_endpoint,
        user_pool_id=pool_id,
        client_id=plain["ClientId"],
        secret_client_id=secret["ClientId"],
        client_secret=secret["ClientSecret"],
        count=6,
    )

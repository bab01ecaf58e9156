"""CognitoTokenProvider against moto's Cognito: sign-in flows, sharing, refresh, failures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
from typing import Any

import jwt
import pytest
from auth_helpers import PASSWORD, PREFIX, FakeClock, Observed, Pool, Sent, admin
from moto.cognitoidp.utils import check_secret_hash
from pycognito.aws_srp import AWSSRP

from auth import CognitoTokenProvider, Token, make_cognito_client, secret_hash
from loadgate.errors import AuthError
from loadgate.scenarios import AuthConfig, TestUsers

FLOWS = ["ADMIN_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH", "USER_SRP_AUTH"]
SIGN_IN_CALLS = {
    "ADMIN_USER_PASSWORD_AUTH": ["AdminInitiateAuth"],
    "USER_PASSWORD_AUTH": ["InitiateAuth"],
    "USER_SRP_AUTH": ["InitiateAuth", "RespondToAuthChallenge"],
}


def provider(
    config: AuthConfig, clock: FakeClock | None = None
) -> tuple[CognitoTokenProvider, Observed, Sent]:
    observed, sent = Observed(), Sent()
    clock = clock or FakeClock()
    tokens = CognitoTokenProvider(
        config,
        observe=observed,
        client=sent.attach(make_cognito_client(config)),
        clock=clock,
        sleep=clock.sleep,
    )
    return tokens, observed, sent


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


@pytest.mark.parametrize("flow", FLOWS)
def test_each_test_user_signs_in_once_for_all_its_virtual_users(
    pool: Pool, flow: str
) -> None:
    tokens, observed, _ = provider(pool.config(flow=flow))

    bearers = {index: tokens.bearer_for(index) for index in range(60)}

    assert observed.names() == SIGN_IN_CALLS[flow] * pool.count
    assert all(error is None for _, _, error in observed.events)
    assert tokens.counts.sign_ins == pool.count
    assert tokens.counts.users == pool.count
    for index, bearer in bearers.items():
        assert bearer == bearers[index % pool.count]
        assert claims(bearer)["cognito:username"] == f"{PREFIX}{index % pool.count:04d}"


@pytest.mark.parametrize("token_use", ["id", "access"])
def test_the_configured_token_is_the_bearer(pool: Pool, token_use: str) -> None:
    tokens, _, _ = provider(pool.config(token=token_use))

    assert claims(tokens.bearer_for(0))["token_use"] == token_use


@pytest.mark.parametrize("flow", FLOWS)
def test_a_token_is_refreshed_at_its_fraction_of_lifetime(
    pool: Pool, flow: str
) -> None:
    clock = FakeClock()
    tokens, observed, _ = provider(pool.config(flow=flow, refresh_fraction=0.5), clock)
    first = tokens.bearer_for(0)

    clock.advance(1799)
    assert tokens.bearer_for(0) == first
    clock.advance(2)
    second = tokens.bearer_for(0)

    assert second != first
    assert claims(second)["cognito:username"] == f"{PREFIX}0000"
    assert observed.names() == [*SIGN_IN_CALLS[flow], "InitiateAuth:refresh"]
    assert tokens.counts.refreshes == 1


def test_no_token_is_handed_out_past_its_safety_margin(pool: Pool) -> None:
    clock = FakeClock()
    tokens, observed, _ = provider(pool.config(refresh_fraction=1.0), clock)
    first = tokens.bearer_for(3)

    # 3600 s tokens are kept out of use for the last 30 s.
    clock.advance(3570)
    renewed = tokens.bearer_for(3)

    assert renewed != first
    assert observed.names() == ["AdminInitiateAuth", "InitiateAuth:refresh"]


def test_a_revoked_refresh_token_leads_to_a_new_sign_in(pool: Pool) -> None:
    clock = FakeClock()
    tokens, observed, _ = provider(pool.config(), clock)
    tokens.bearer_for(1)
    admin(pool.endpoint).admin_user_global_sign_out(
        UserPoolId=pool.user_pool_id, Username=f"{PREFIX}0001"
    )

    clock.advance(3000)
    bearer = tokens.bearer_for(1)

    assert claims(bearer)["cognito:username"] == f"{PREFIX}0001"
    assert observed.names() == [
        "AdminInitiateAuth",
        "InitiateAuth:refresh",
        "AdminInitiateAuth",
    ]
    assert [str(error) for _, _, error in observed.events] == [
        "None",
        "NotAuthorizedException",
        "None",
    ]
    assert tokens.counts.failed_refreshes == 1


def test_virtual_users_keep_a_valid_token_while_its_renewal_is_due(
    pool: Pool,
) -> None:
    clock = FakeClock()
    tokens, observed, _ = provider(pool.config(refresh_fraction=0.5), clock)
    first = tokens.bearer_for(2)
    clock.advance(1900)
    slot = tokens._slots[f"{PREFIX}0002"]

    # Another user's greenlet is renewing: this one goes on with the valid token.
    with slot.lock:
        assert tokens.bearer_for(2) == first
    assert observed.names() == ["AdminInitiateAuth"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"users_password": "Wrong-Passw0rd!"}, "NotAuthorizedException"),
        ({"prefix": "nobody-"}, "UserNotFoundException"),
        ({"user_pool_id": "us-east-1_nopool"}, "ResourceNotFoundException"),
        ({"client_id": "noclient"}, "ResourceNotFoundException"),
    ],
    ids=["wrong-password", "unknown-user", "unknown-pool", "unknown-client"],
)
def test_bad_settings_fail_once_and_for_all(
    pool: Pool, change: dict[str, str], code: str
) -> None:
    base = pool.config()
    users = base.users
    config = pool.config(
        user_pool_id=change.get("user_pool_id", base.user_pool_id),
        client_id=change.get("client_id", base.client_id),
        users=type(users)(
            change.get("prefix", users.prefix),
            users.count,
            change.get("users_password", users.password),
        ),
    )
    tokens, observed, _ = provider(config)

    with pytest.raises(AuthError) as first:
        tokens.bearer_for(0)
    for index in range(1, 20):
        with pytest.raises(AuthError) as later:
            tokens.bearer_for(index)
        assert later.value is first.value

    message = str(first.value)
    assert message.startswith("Cognito refused AdminInitiateAuth for test user ")
    assert repr(config.users.username(0)) in message
    assert repr(config.user_pool_id) in message
    assert repr(config.client_id) in message
    assert f": {code}: " in message
    assert "Passw0rd" not in message
    assert observed.names() == ["AdminInitiateAuth"]


def test_a_challenge_instead_of_tokens_stops_with_a_fix(pool: Pool) -> None:
    idp = admin(pool.endpoint)
    idp.admin_create_user(
        UserPoolId=pool.user_pool_id,
        Username="fresh-user-0000",
        TemporaryPassword=PASSWORD,
        MessageAction="SUPPRESS",
    )
    config = pool.config()
    config = pool.config(users=type(config.users)("fresh-user-", 1, PASSWORD))
    tokens, _, _ = provider(config)

    with pytest.raises(AuthError, match="challenge 'NEW_PASSWORD_REQUIRED'") as error:
        tokens.bearer_for(0)

    assert "make users" in str(error.value)


def test_empty_settings_are_refused_before_any_call(pool: Pool) -> None:
    config = pool.config(user_pool_id="", client_id="")

    with pytest.raises(AuthError) as error:
        CognitoTokenProvider(config, client=object())

    assert str(error.value) == (
        "Cognito settings are empty: auth.user_pool_id, auth.client_id (set "
        "LOADGATE_USER_POOL_ID, LOADGATE_CLIENT_ID and LOADGATE_TEST_PASSWORD, or run "
        "against the sandbox)"
    )


def test_token_repr_shows_no_token() -> None:
    token = Token("eyJ.bearer.value", "refresh-value", "user-1", 10.0, 20.0)

    assert "eyJ" not in repr(token)
    assert "refresh-value" not in repr(token)


# App clients with a secret.


def aws_formula(username: str, client_id: str, client_secret: str) -> str:
    """AWS's documented SECRET_HASH, computed here independently of auth's code."""
    mac = hmac.new(client_secret.encode(), (username + client_id).encode(), "sha256")
    return base64.b64encode(mac.digest()).decode()


@pytest.mark.parametrize(
    ("username", "client_id", "client_secret"),
    [
        ("loadtest-user-0000", "4f1a2b3c4d5e6f7a8b9c0d1e2f", "s3cr3t-value"),
        ("0b7f054c-0c26-489f-a983-0ac2a0d1a8ee", "client", "x" * 52),
        ("usér@example.com", "clïent", "sécret"),
    ],
    ids=["plain", "sub-username", "non-ascii"],
)
def test_secret_hash_matches_the_documented_formula(
    username: str, client_id: str, client_secret: str
) -> None:
    mine = secret_hash(username, client_id, client_secret)

    assert mine == aws_formula(username, client_id, client_secret)
    assert mine == AWSSRP.get_secret_hash(username, client_id, client_secret)
    assert len(base64.b64decode(mine)) == hashlib.sha256().digest_size


@pytest.mark.parametrize("flow", FLOWS)
def test_a_client_with_a_secret_sends_its_hash_on_every_call(
    pool: Pool, flow: str
) -> None:
    clock = FakeClock()
    tokens, observed, sent = provider(
        pool.secret_config(flow=flow, refresh_fraction=0.5), clock
    )
    tokens.bearer_for(4)
    clock.advance(1801)
    tokens.bearer_for(4)

    expected = aws_formula(f"{PREFIX}0004", pool.secret_client_id, pool.client_secret)
    hashes = [
        (params.get("AuthParameters") or params.get("ChallengeResponses"))[
            "SECRET_HASH"
        ]
        for _, params in sent.calls
    ]
    assert sent.names() == [*SIGN_IN_CALLS[flow], "InitiateAuth"]
    assert hashes == [expected] * len(sent.calls)
    # moto checks the hash on the SRP start and on the refresh, and both went through.
    assert all(error is None for _, _, error in observed.events)
    assert check_secret_hash(
        pool.client_secret, pool.secret_client_id, f"{PREFIX}0004", expected
    )


def test_a_wrong_client_secret_is_refused_where_moto_checks_it(pool: Pool) -> None:
    config = pool.secret_config(flow="USER_SRP_AUTH", client_secret="not-the-secret")
    tokens, observed, _ = provider(config)

    with pytest.raises(AuthError) as error:
        tokens.bearer_for(0)

    assert ": NotAuthorizedException: " in str(error.value)
    assert "not-the-secret" not in str(error.value)
    assert observed.names() == ["InitiateAuth"]


class EmailUsers(TestUsers):
    """Test users who sign in by e-mail address."""

    def username(self, index: int) -> str:
        return f"{self.prefix}{index % self.count:04d}@example.com"


def test_the_refresh_hash_uses_the_username_claim_not_the_sign_in_name(
    moto_endpoint: str,
) -> None:
    # In a pool that signs in by e-mail, Cognito's username is the sub.
    idp = admin(moto_endpoint)
    pool_id = idp.create_user_pool(PoolName="by-email", UsernameAttributes=["email"])[
        "UserPool"
    ]["Id"]
    app = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="secret",
        GenerateSecret=True,
        ExplicitAuthFlows=[
            "ALLOW_ADMIN_USER_PASSWORD_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ],
    )["UserPoolClient"]
    users = EmailUsers("load", 1, PASSWORD)
    email = users.username(0)
    idp.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True
    )
    secret, client_id = app["ClientSecret"], app["ClientId"]
    config = AuthConfig(
        region="us-east-1",
        user_pool_id=pool_id,
        client_id=client_id,
        flow="ADMIN_USER_PASSWORD_AUTH",
        token="access",
        endpoint_url=moto_endpoint,
        users=users,
        client_secret=secret,
        refresh_fraction=0.5,
    )
    clock = FakeClock()
    tokens, _, sent = provider(config, clock)
    sub = claims(tokens.bearer_for(0))["username"]
    clock.advance(1801)
    tokens.bearer_for(0)

    sign_in = sent.auth_parameters("ADMIN_USER_PASSWORD_AUTH")[0]
    (refresh,) = sent.auth_parameters("REFRESH_TOKEN_AUTH")
    assert sub != email
    assert sign_in["SECRET_HASH"] == aws_formula(email, client_id, secret)
    assert refresh["SECRET_HASH"] == aws_formula(sub, client_id, secret)


def test_an_unreachable_endpoint_is_retried_then_reported(pool: Pool) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    tokens, observed, _ = provider(pool.config(endpoint_url=closed, max_attempts=2))

    with pytest.raises(AuthError) as error:
        tokens.bearer_for(0)

    assert str(error.value).startswith(
        f"Cognito AdminInitiateAuth for test user '{PREFIX}0000' could not be made "
        "after 2 attempts: Could not connect to the endpoint URL"
    )
    assert [str(error) for _, _, error in observed.events] == [
        "EndpointConnectionError",
        "EndpointConnectionError",
    ]
    assert tokens.counts.retries == 1

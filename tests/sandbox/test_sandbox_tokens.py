"""Token verification against a locally generated key, without any server."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sandbox._tokens import TokenRejectedError, TokenVerifier, bearer_token

POOL = "us-east-1_testpool"
CLIENT = "client-under-test"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"


class StaticKeys:
    """A key source that always answers with one key."""

    def __init__(self, key: jwt.PyJWK) -> None:
        self.key = key

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        return self.key


class UnreachableKeys:
    """A key source whose JWKS endpoint cannot be reached."""

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        raise jwt.PyJWKClientConnectionError("connection refused")


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def verifier(private_key: rsa.RSAPrivateKey) -> TokenVerifier:
    jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    key = jwt.PyJWK({**jwk, "kid": "k1", "alg": "RS256"})
    return TokenVerifier(StaticKeys(key), "us-east-1", POOL, CLIENT)


def _claims(token_use: str, /, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "0f1e2d3c",
        "token_use": token_use,
        "iat": now,
        "exp": now + 3600,
    }
    if token_use == "id":
        claims.update({"aud": CLIENT, "cognito:username": "loadtest-user-0000"})
    else:
        claims.update({"client_id": CLIENT, "username": "loadtest-user-0000"})
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def _sign(key: rsa.RSAPrivateKey, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(_claims("id"), id="id"),
        pytest.param(_claims("access"), id="access"),
        pytest.param(_claims("id", aud=["other", CLIENT]), id="id-audience-list"),
    ],
)
def test_verifier_accepts_tokens_of_its_pool_and_client(
    verifier: TokenVerifier, private_key: rsa.RSAPrivateKey, claims: dict[str, Any]
) -> None:
    assert verifier.verify(_sign(private_key, claims)) == claims


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        pytest.param(
            _claims("id", exp=int(time.time()) - 60), "token has expired", id="expired"
        ),
        pytest.param(
            _claims("access", iss=ISSUER.replace(POOL, "us-east-1_other")),
            "token was not issued by this user pool",
            id="other-pool",
        ),
        pytest.param(
            _claims("id", iss=f"http://127.0.0.1:5000/{POOL}"),
            "token was not issued by this user pool",
            id="emulator-url-issuer",
        ),
        pytest.param(
            _claims("refresh"), "token_use must be 'id' or 'access'", id="refresh"
        ),
        pytest.param(
            _claims("id", token_use=None),
            "token lacks the 'token_use' claim",
            id="no-token-use",
        ),
        pytest.param(
            _claims("id", aud="other-client"),
            "token was issued to another app client",
            id="id-other-audience",
        ),
        pytest.param(
            _claims("access", client_id=None),
            "token was issued to another app client",
            id="access-no-client",
        ),
    ],
)
def test_verifier_rejects_with_a_fixed_reason(
    verifier: TokenVerifier,
    private_key: rsa.RSAPrivateKey,
    claims: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(TokenRejectedError) as caught:
        verifier.verify(_sign(private_key, claims))

    assert str(caught.value) == message
    assert caught.value.status == 401


def test_verifier_rejects_a_symmetric_algorithm(verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims("id"), "s" * 64, algorithm="HS256")

    with pytest.raises(TokenRejectedError, match=r"^token is not signed with RS256$"):
        verifier.verify(token)


def test_unreachable_keys_answer_503(private_key: rsa.RSAPrivateKey) -> None:
    verifier = TokenVerifier(UnreachableKeys(), "us-east-1", POOL, CLIENT)

    with pytest.raises(TokenRejectedError) as caught:
        verifier.verify(_sign(private_key, _claims("id")))

    assert str(caught.value) == "signing keys are unavailable"
    assert caught.value.status == 503


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing Authorization header; expected 'Bearer <token>'"),
        ("   ", "missing Authorization header; expected 'Bearer <token>'"),
        ("Bearer", "Authorization header is not 'Bearer <token>'"),
        ("Token abc.def.ghi", "Authorization header is not 'Bearer <token>'"),
    ],
)
def test_bearer_token_refuses_other_headers(header: str | None, message: str) -> None:
    with pytest.raises(TokenRejectedError) as caught:
        bearer_token(header)

    assert str(caught.value) == message


@pytest.mark.parametrize(
    "header", ["Bearer abc.def", "bearer abc.def", " Bearer  abc.def "]
)
def test_bearer_token_extracts_the_token(header: str) -> None:
    assert bearer_token(header) == "abc.def"

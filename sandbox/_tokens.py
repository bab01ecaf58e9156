"""Verification of Cognito ID and access tokens, the way API Gateway's authorizer does.

A token is accepted when its RS256 signature matches a key of the user pool's JWKS, it
has not expired, its issuer is the AWS form of the pool
(``https://cognito-idp.{region}.amazonaws.com/{pool_id}``), its ``token_use`` is ``id``
or ``access``, and it was issued to the sandbox's app client (``aud`` for an ID token,
``client_id`` for an access token).

Rejection reasons are fixed sentences: they never quote the token or a claim value, so
they are safe to send back to the client.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import jwt
from jwt.types import Options

from loadgate.errors import SandboxError

logger = logging.getLogger(__name__)

Claims = dict[str, Any]

_REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub", "token_use"]


class SigningKeySource(Protocol):
    """Where signing keys come from; :class:`jwt.PyJWKClient` is one."""

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        """Return the key whose ``kid`` the token's header names.

        Args:
            token: The encoded JWT.

        Returns:
            The matching public key.
        """
        ...


class TokenRejectedError(SandboxError):
    """A bearer token the chat API refuses; the message is safe to return to clients.

    Attributes:
        status: The HTTP status to answer with: 401, or 503 when keys are unreachable.
    """

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def issuer_for(region: str, user_pool_id: str) -> str:
    """Return the issuer Cognito writes in the tokens of a user pool.

    Args:
        region: The AWS region, such as ``us-east-1``.
        user_pool_id: The user pool id.

    Returns:
        ``https://cognito-idp.{region}.amazonaws.com/{user_pool_id}``.
    """
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def jwks_url_for(cognito_endpoint: str, user_pool_id: str) -> str:
    """Return where the emulator serves the JWKS of a user pool.

    Args:
        cognito_endpoint: The emulator's base URL.
        user_pool_id: The user pool id.

    Returns:
        ``{cognito_endpoint}/{user_pool_id}/.well-known/jwks.json``.
    """
    return f"{cognito_endpoint.rstrip('/')}/{user_pool_id}/.well-known/jwks.json"


def bearer_token(authorization: str | None) -> str:
    """Extract the token from an ``Authorization`` header value.

    Args:
        authorization: The header value, or None when the header is absent.

    Returns:
        The token after ``Bearer``.

    Raises:
        TokenRejectedError: The header is absent, empty or not a bearer credential.
    """
    if not authorization or not authorization.strip():
        raise TokenRejectedError(
            "missing Authorization header; expected 'Bearer <token>'"
        )

    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejectedError("Authorization header is not 'Bearer <token>'")
    return token.strip()


class TokenVerifier:
    """Checks Cognito tokens for one user pool and one app client.

    Args:
        keys: Where signing keys come from, usually a caching :class:`jwt.PyJWKClient`.
        region: The pool's AWS region.
        user_pool_id: The pool id.
        client_id: The app client whose tokens are accepted.
    """

    def __init__(
        self, keys: SigningKeySource, region: str, user_pool_id: str, client_id: str
    ) -> None:
        self._keys = keys
        self._issuer = issuer_for(region, user_pool_id)
        self._client_id = client_id

    def verify(self, token: str) -> Claims:
        """Verify a token and return its claims.

        Args:
            token: The encoded JWT, without the ``Bearer`` prefix.

        Returns:
            The verified claims.

        Raises:
            TokenRejectedError: The token fails a check; ``status`` says how to answer.
        """
        key = self._signing_key(token)
        claims = self._decode(token, key)

        token_use = claims["token_use"]
        if token_use not in ("id", "access"):
            raise TokenRejectedError("token_use must be 'id' or 'access'")

        client = claims.get("aud") if token_use == "id" else claims.get("client_id")
        clients = client if isinstance(client, list) else [client]
        if self._client_id not in clients:
            raise TokenRejectedError("token was issued to another app client")
        return claims

    def _signing_key(self, token: str) -> jwt.PyJWK:
        """Return the JWKS key the token names, or raise a safe rejection."""
        try:
            return self._keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            logger.warning("JWKS fetch failed: %s; answering 503", type(exc).__name__)
            raise TokenRejectedError("signing keys are unavailable", 503) from None
        except (jwt.PyJWKClientError, jwt.PyJWKError) as exc:
            logger.info("token names no known key: %s", type(exc).__name__)
            raise TokenRejectedError(
                "token is not signed by a key of this pool"
            ) from None
        except jwt.InvalidTokenError:
            raise TokenRejectedError("token is malformed") from None

    def _decode(self, token: str, key: jwt.PyJWK) -> Claims:
        """Check signature, expiry and issuer; return the claims."""
        options: Options = {"require": _REQUIRED_CLAIMS, "verify_aud": False}
        try:
            claims: Claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self._issuer,
                options=options,
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejectedError("token has expired") from None
        except jwt.InvalidIssuerError:
            raise TokenRejectedError("token was not issued by this user pool") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejectedError(f"token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise TokenRejectedError("token signature is invalid") from None
        except jwt.InvalidAlgorithmError:
            raise TokenRejectedError("token is not signed with RS256") from None
        except jwt.InvalidTokenError:
            raise TokenRejectedError("token is malformed") from None
        return claims

"""Cognito sign-in for virtual users, on boto3's ``cognito-idp`` client.

One :class:`CognitoTokenProvider` serves a whole Locust process. Virtual users are spread
over the pool of test users; each test user signs in once per process and its token is
shared by every virtual user mapped onto it, refreshed with ``REFRESH_TOKEN_AUTH`` before
it expires. The first sign-in of a process runs alone: if Cognito refuses it (wrong
password, unknown user, pool or client) the provider fails for good and every later call
raises the same :class:`~loadgate.errors.AuthError` without asking Cognito again, so a
wrong password costs one sign-in, not hundreds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from loadgate.errors import AuthError
from loadgate.scenarios import AuthConfig

__all__ = [
    "CallObserver",
    "CognitoTokenProvider",
    "Token",
    "TokenProvider",
]

logger = logging.getLogger(__name__)

# Cognito answers these when the settings themselves are wrong: retrying cannot help.
_FATAL_CODES = frozenset(
    {
        "NotAuthorizedException",
        "UserNotFoundException",
        "ResourceNotFoundException",
        "InvalidParameterException",
        "UserNotConfirmedException",
        "PasswordResetRequiredException",
        "InvalidUserPoolConfigurationException",
    }
)

CallObserver = Callable[[str, float, BaseException | None], None]
"""Told of every Cognito call: its name, duration in ms and the error, if any."""


class TokenProvider(Protocol):
    """Gives a virtual user the bearer token of the test user it is mapped onto."""

    def bearer_for(self, user_index: int) -> str:
        """Return a valid bearer token for virtual user ``user_index``."""
        ...


@dataclass(frozen=True)
class Token:
    """The tokens of one signed-in test user.

    Attributes:
        bearer: The token sent as ``Authorization: Bearer`` (ID or access token).
        refresh_token: Token for ``REFRESH_TOKEN_AUTH``; empty when Cognito gave none.
        refresh_at: Monotonic time after which the token is renewed.
    """

    bearer: str
    refresh_token: str
    refresh_at: float

    def __repr__(self) -> str:
        return f"Token(refresh_at={self.refresh_at:.0f}, bearer=<redacted>)"


class CognitoTokenProvider:
    """Signs test users in to a Cognito user pool and keeps their tokens fresh.

    Args:
        config: The ``auth`` section of scenarios.yaml.
        observe: Called after every Cognito call (for Locust's stats).
        client: A ``cognito-idp`` client; made from ``config`` when not given.
        clock: Monotonic clock, injectable for tests.
        refresh_fraction: Share of a token's lifetime after which it is refreshed.
    """

    def __init__(
        self,
        config: AuthConfig,
        *,
        observe: CallObserver | None = None,
        client: Any = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_fraction: float = 0.75,
    ) -> None:
        self._check(config)
        self.config = config
        self._observe = observe
        self._client = client if client is not None else _make_client(config)
        self._clock = clock
        self._refresh_fraction = refresh_fraction
        self._tokens: dict[str, Token] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._first_sign_in = threading.Lock()
        self._verified = False
        self._failure: AuthError | None = None

    def bearer_for(self, user_index: int) -> str:
        """Return a valid bearer token for a virtual user.

        Args:
            user_index: The virtual user's number; it maps onto test user
                ``user_index % users.count``.

        Raises:
            AuthError: Cognito refused the credentials or settings (now or before).
        """
        username = self.config.users.username(user_index)
        if self._failure is not None:
            raise self._failure

        # The first sign-in runs alone, so bad credentials fail once, not per user.
        if not self._verified:
            with self._first_sign_in:
                if self._failure is not None:
                    raise self._failure
                token = self._token(username)
                self._verified = True
                return token.bearer
        return self._token(username).bearer

    def _token(self, username: str) -> Token:
        lock = self._locks.setdefault(username, threading.Lock())
        with lock:
            token = self._tokens.get(username)
            if token is not None and self._clock() < token.refresh_at:
                return token
            token = self._renew(username, token)
            self._tokens[username] = token
            return token

    def _renew(self, username: str, old: Token | None) -> Token:
        if old is not None and old.refresh_token:
            try:
                return self._refresh(username, old.refresh_token)
            except AuthError:
                logger.warning(
                    "token refresh failed for %s; signing in again", username
                )
        return self._sign_in(username)

    def _sign_in(self, username: str) -> Token:
        users = self.config.users
        params = {"USERNAME": username, "PASSWORD": users.password}
        if self.config.flow == "ADMIN_USER_PASSWORD_AUTH":
            call = "AdminInitiateAuth"
            request: dict[str, Any] = {"UserPoolId": self.config.user_pool_id}
        else:
            call = "InitiateAuth"
            request = {}
        request.update(
            ClientId=self.config.client_id,
            AuthFlow=self.config.flow,
            AuthParameters=params,
        )
        result = self._call(call, username, request)
        return self._token_from(result, fallback_refresh="")

    def _refresh(self, username: str, refresh_token: str) -> Token:
        request = {
            "ClientId": self.config.client_id,
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": refresh_token},
        }
        result = self._call("InitiateAuth:refresh", username, request)
        return self._token_from(result, fallback_refresh=refresh_token)

    def _call(
        self, call: str, username: str, request: dict[str, Any]
    ) -> dict[str, Any]:
        method = (
            self._client.admin_initiate_auth
            if call == "AdminInitiateAuth"
            else self._client.initiate_auth
        )
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            response: dict[str, Any] = method(**request)
        except ClientError as exc:
            error = exc
            raise self._auth_error(call, username, exc) from None
        except BotoCoreError as exc:
            error = exc
            raise AuthError(
                f"Cognito {call} for user {username!r} could not be made: {exc}"
            ) from None
        finally:
            if self._observe is not None:
                self._observe(call, (time.perf_counter() - started) * 1000, error)
        return response

    def _auth_error(self, call: str, username: str, exc: ClientError) -> AuthError:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        reason = exc.response.get("Error", {}).get("Message", "")
        error = AuthError(
            f"Cognito refused {call} for user {username!r} in pool "
            f"{self.config.user_pool_id!r} (client {self.config.client_id!r}, "
            f"region {self.config.region}): {code}: {_safe(reason, self.config)}"
        )
        if code in _FATAL_CODES:
            self._failure = error
        return error

    def _token_from(self, response: dict[str, Any], fallback_refresh: str) -> Token:
        result = response.get("AuthenticationResult")
        if not result:
            challenge = response.get("ChallengeName", "none")
            self._failure = AuthError(
                f"Cognito asked for challenge {challenge!r} instead of issuing tokens "
                f"in pool {self.config.user_pool_id!r}: set the test users' passwords "
                "permanent (make users does)"
            )
            raise self._failure
        bearer = (
            result["IdToken"] if self.config.token == "id" else result["AccessToken"]
        )
        lifetime = float(result.get("ExpiresIn", 3600))
        return Token(
            bearer=bearer,
            refresh_token=result.get("RefreshToken", fallback_refresh),
            refresh_at=self._clock() + lifetime * self._refresh_fraction,
        )

    @staticmethod
    def _check(config: AuthConfig) -> None:
        missing = [
            name
            for name, value in (
                ("auth.user_pool_id", config.user_pool_id),
                ("auth.client_id", config.client_id),
                ("auth.users.password", config.users.password),
            )
            if not value
        ]
        if missing:
            raise AuthError(
                "Cognito settings are empty: "
                + ", ".join(missing)
                + " (set LOADGATE_USER_POOL_ID, LOADGATE_CLIENT_ID and "
                "LOADGATE_TEST_PASSWORD, or run against the sandbox)"
            )


def _make_client(config: AuthConfig) -> Any:
    # USER_PASSWORD_AUTH is a public call: no AWS credentials are needed to make it.
    signature = UNSIGNED if config.flow == "USER_PASSWORD_AUTH" else None
    botocore_config = Config(
        signature_version=signature,
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=10,
    )
    return boto3.client(
        "cognito-idp",
        region_name=config.region,
        endpoint_url=config.endpoint_url or None,
        config=botocore_config,
    )


def _safe(text: str, config: AuthConfig) -> str:
    """Strip the test password from a message Cognito sent back."""
    password = config.users.password
    return text.replace(password, "<redacted>") if password else text

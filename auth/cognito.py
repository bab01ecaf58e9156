"""Cognito sign-in for virtual users, on boto3's ``cognito-idp`` client.

One :class:`CognitoTokenProvider` serves a whole Locust process. Virtual users are spread
over the pool of test users; each test user signs in once per process and its tokens are
shared by every virtual user mapped onto it. A token is renewed with
``REFRESH_TOKEN_AUTH`` once ``refresh_fraction`` of its own lifetime has passed (signing
in again if the refresh fails), and no token is handed out within a safety margin of its
expiry, so no request carries an expired token.

Every Cognito call waits for its turn at a :class:`~auth._pacing.RateLimiter`; a
throttle (``TooManyRequestsException``) or a network error is retried with exponential
backoff and jitter, and each attempt, failed or not, is reported to the ``observe``
callback (Locust's request event, request type ``cognito``). botocore itself never
retries, so no throttle goes unseen.

The first sign-in of a process runs alone: if Cognito refuses it (wrong password,
unknown user, pool or client) the provider fails for good and every later call raises
the same :class:`~loadgate.errors.AuthError` without asking Cognito again, so a wrong
password costs one sign-in, not hundreds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import boto3
import jwt
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from auth._pacing import Backoff, RateLimiter, Sleep
from loadgate.errors import AuthError
from loadgate.scenarios import AuthConfig

__all__ = [
    "CallCounts",
    "CallObserver",
    "CognitoTokenProvider",
    "Token",
    "TokenProvider",
    "make_cognito_client",
    "secret_hash",
]

logger = logging.getLogger(__name__)

# Cognito answers these to a sign-in when the settings themselves are wrong.
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
_THROTTLE_CODES = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "LimitExceededException"}
)
_RETRYABLE_CODES = _THROTTLE_CODES | {"InternalErrorException", "ServiceUnavailable"}
_RETRYABLE_NETWORK = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)
# Long opaque strings in a message Cognito sent back (tokens, hashes) are cut out.
_OPAQUE = re.compile(r"[A-Za-z0-9+/=_.\-]{40,}")
# How long a token is kept out of use before it expires, at most.
_EXPIRY_MARGIN_S = 30.0
# Pause before a failed renewal of a still-valid token is tried again.
_RETRY_RENEWAL_S = 5.0

CallObserver = Callable[[str, float, BaseException | None], None]
"""Told of every Cognito call attempt: its name, duration in ms and the error, if any."""


class TokenProvider(Protocol):
    """Gives a virtual user the bearer token of the test user it is mapped onto."""

    def bearer_for(self, user_index: int) -> str:
        """Return a valid bearer token for virtual user ``user_index``."""
        ...


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    """Return Cognito's ``SECRET_HASH`` for an app client that has a secret.

    Args:
        username: The user the call is for (for a refresh: the user's Cognito
            username, which is the ``sub`` in pools that sign in by e-mail).
        client_id: The app client id.
        client_secret: The app client secret.

    Returns:
        Base64 of HMAC-SHA256 over ``username + client_id``, keyed with the secret.
    """
    digest = hmac.new(
        client_secret.encode("utf-8"),
        (username + client_id).encode("utf-8"),
        hashlib.sha256,
    ).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class Token:
    """The tokens of one signed-in test user; ``repr`` shows no token.

    Attributes:
        bearer: The token sent as ``Authorization: Bearer`` (ID or access token).
        refresh_token: Token for ``REFRESH_TOKEN_AUTH``; empty when Cognito gave none.
        username: The user's Cognito username (``username`` claim), for SECRET_HASH.
        refresh_at: Monotonic time after which the token is renewed.
        usable_until: Monotonic time after which the token is never handed out.
    """

    bearer: str = field(repr=False)
    refresh_token: str = field(repr=False)
    username: str
    refresh_at: float
    usable_until: float


@dataclass(frozen=True)
class CallCounts:
    """What one provider asked Cognito, for the run's summary and for tests.

    Attributes:
        calls: Every call attempt, failed ones and retries included.
        sign_ins: Sign-ins that returned tokens.
        refreshes: Refreshes that returned tokens.
        throttled: Attempts Cognito answered with a throttle.
        retries: Attempts repeated after a throttle or a network error.
        failed_refreshes: Refreshes that failed, after which the user signed in again.
        users: Test users holding a token now.
    """

    calls: int = 0
    sign_ins: int = 0
    refreshes: int = 0
    throttled: int = 0
    retries: int = 0
    failed_refreshes: int = 0
    users: int = 0


@dataclass
class _Slot:
    """One test user's tokens in this process, and the lock of their renewal."""

    username: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    token: Token | None = None
    retry_at: float = 0.0


class CognitoTokenProvider:
    """Signs test users in to a Cognito user pool and keeps their tokens fresh.

    Args:
        config: The ``auth`` section of scenarios.yaml.
        observe: Called after every Cognito call attempt (for Locust's stats).
        client: A ``cognito-idp`` client; made from ``config`` when not given.
        clock: Monotonic clock, injectable for tests.
        sleep: Waits a number of seconds; ``time.sleep`` (gevent's under Locust).
        rng: Source of the backoff jitter.
        refresh_fraction: Overrides ``config.refresh_fraction`` when given.

    Raises:
        AuthError: The pool id, client id or password is empty.
    """

    def __init__(
        self,
        config: AuthConfig,
        *,
        observe: CallObserver | None = None,
        client: Any = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        refresh_fraction: float | None = None,
    ) -> None:
        check_settings(config)
        self.config = config
        self._observe = observe
        self._client = client if client is not None else make_cognito_client(config)
        self._clock = clock
        self._rng = rng or random.Random()
        self._refresh_fraction = refresh_fraction or config.refresh_fraction
        self._limiter = RateLimiter(config.sign_in_rate, clock=clock, sleep=sleep)
        self._sleep = sleep or _sleep
        self._backoff = Backoff()
        self._slots: dict[str, _Slot] = {}
        self._first_sign_in = threading.Lock()
        self._verified = False
        self._failure: AuthError | None = None
        self._counts = CallCounts()
        self._counts_lock = threading.Lock()

    @property
    def counts(self) -> CallCounts:
        """What this provider has asked Cognito so far."""
        users = sum(1 for slot in self._slots.values() if slot.token is not None)
        return replace(self._counts, users=users)

    def share_rate(self, processes: int) -> None:
        """Split ``auth.sign_in_rate`` evenly between this many Locust processes.

        Args:
            processes: How many processes sign in at the same time (the workers).
        """
        self._limiter.set_ceiling(self.config.sign_in_rate / max(processes, 1))

    def summary(self) -> str:
        """Return one line on this process's Cognito calls, for the run's log."""
        counts = self.counts
        return (
            f"cognito: {counts.sign_ins} sign-ins and {counts.refreshes} refreshes "
            f"for {counts.users} test users in {counts.calls} calls; "
            f"{counts.throttled} throttled, {counts.retries} retried, "
            f"{counts.failed_refreshes} refreshes replaced by a new sign-in"
        )

    def log_summary(self) -> None:
        """Log :meth:`summary` at INFO, for the run's console and log."""
        logger.info("%s", self.summary())

    def bearer_for(self, user_index: int) -> str:
        """Return a valid bearer token for a virtual user.

        Args:
            user_index: The virtual user's number; it maps onto test user
                ``user_index % users.count``.

        Returns:
            A token that is valid for at least the safety margin.

        Raises:
            AuthError: Cognito refused the credentials or settings (now or before),
                or kept failing until no valid token was left.
        """
        if self._failure is not None:
            raise self._failure
        slot = self._slot(self.config.users.username(user_index))
        token = slot.token
        now = self._clock()
        if token is not None and (
            now < token.refresh_at or now < min(slot.retry_at, token.usable_until)
        ):
            return token.bearer

        # The first sign-in runs alone, so bad credentials fail once, not per user.
        if not self._verified:
            with self._first_sign_in:
                if not self._verified:
                    return self._first(slot)

        # Due for renewal but still valid: one caller renews, the others go on.
        if token is not None and now < token.usable_until:
            if slot.lock.acquire(blocking=False):
                try:
                    self._renew_or_keep(slot)
                finally:
                    slot.lock.release()
            return (slot.token or token).bearer
        with slot.lock:
            return self._ensure(slot).bearer

    def _slot(self, username: str) -> _Slot:
        slot = self._slots.get(username)
        if slot is None:
            slot = self._slots.setdefault(username, _Slot(username))
        return slot

    def _first(self, slot: _Slot) -> str:
        if self._failure is not None:
            raise self._failure
        with slot.lock:
            token = self._ensure(slot)
        self._verified = True
        return token.bearer

    def _ensure(self, slot: _Slot) -> Token:
        """Return the slot's token, renewing it first if it is due (lock held)."""
        token = slot.token
        if token is not None and self._clock() < token.refresh_at:
            return token
        if self._failure is not None:
            raise self._failure
        slot.token = self._renew(slot.username, token)
        slot.retry_at = 0.0
        return slot.token

    def _renew_or_keep(self, slot: _Slot) -> None:
        """Renew a still-valid token; on a passing failure keep it and retry later."""
        try:
            self._ensure(slot)
        except AuthError as exc:
            if self._failure is not None:
                raise
            slot.retry_at = self._clock() + _RETRY_RENEWAL_S
            logger.warning(
                "renewing the token of %s failed: %s; its current token stays in "
                "use and renewal is retried in %g s",
                slot.username,
                exc,
                _RETRY_RENEWAL_S,
            )

    def _renew(self, username: str, old: Token | None) -> Token:
        if old is not None and old.refresh_token:
            try:
                return self._refresh(old)
            except AuthError as exc:
                if self._failure is not None:
                    raise
                self._bump(failed_refreshes=1)
                logger.warning(
                    "token refresh for %s failed: %s; signing in again", username, exc
                )
        return self._sign_in(username)

    # Sign-in flows.

    def _sign_in(self, username: str) -> Token:
        flow = self.config.flow
        if flow == "USER_SRP_AUTH":
            response = self._srp_sign_in(username)
        else:
            params = {"USERNAME": username, "PASSWORD": self.config.users.password}
            params |= self._hash_param(username)
            request: dict[str, Any] = {
                "ClientId": self.config.client_id,
                "AuthFlow": flow,
                "AuthParameters": params,
            }
            if flow == "ADMIN_USER_PASSWORD_AUTH":
                request["UserPoolId"] = self.config.user_pool_id
                response = self._call(
                    "AdminInitiateAuth", "admin_initiate_auth", username, request
                )
            else:
                response = self._call(
                    "InitiateAuth", "initiate_auth", username, request
                )
        token = self._token_from(response, username, fallback_refresh="")
        self._bump(sign_ins=1)
        return token

    def _srp_sign_in(self, username: str) -> dict[str, Any]:
        # pycognito does the SRP arithmetic; the calls go through _call like any other.
        from pycognito.aws_srp import AWSSRP

        srp = AWSSRP(
            username=username,
            password=self.config.users.password,
            pool_id=self.config.user_pool_id,
            client_id=self.config.client_id,
            client=self._client,
            client_secret=self.config.client_secret or None,
        )
        auth_params: dict[str, str] = srp.get_auth_params()
        first = self._call(
            "InitiateAuth",
            "initiate_auth",
            username,
            {
                "ClientId": self.config.client_id,
                "AuthFlow": "USER_SRP_AUTH",
                "AuthParameters": auth_params,
            },
        )
        if first.get("ChallengeName") != "PASSWORD_VERIFIER":
            return first
        request: dict[str, Any] = {
            "ClientId": self.config.client_id,
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeResponses": srp.process_challenge(
                first["ChallengeParameters"], auth_params
            ),
        }
        if first.get("Session"):
            request["Session"] = first["Session"]
        return self._call(
            "RespondToAuthChallenge", "respond_to_auth_challenge", username, request
        )

    def _refresh(self, old: Token) -> Token:
        params = {"REFRESH_TOKEN": old.refresh_token} | self._hash_param(old.username)
        request = {
            "ClientId": self.config.client_id,
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": params,
        }
        response = self._call(
            "InitiateAuth:refresh", "initiate_auth", old.username, request, fatal=False
        )
        token = self._token_from(
            response, old.username, fallback_refresh=old.refresh_token
        )
        self._bump(refreshes=1)
        return token

    def _hash_param(self, username: str) -> dict[str, str]:
        secret = self.config.client_secret
        if not secret:
            return {}
        return {"SECRET_HASH": secret_hash(username, self.config.client_id, secret)}

    # One Cognito call, paced and retried.

    def _call(
        self,
        call: str,
        method: str,
        username: str,
        request: Mapping[str, Any],
        *,
        fatal: bool = True,
    ) -> dict[str, Any]:
        attempt = 0
        while True:
            attempt += 1
            turn = self._limiter.acquire()
            started = time.perf_counter()
            try:
                response: dict[str, Any] = getattr(self._client, method)(**request)
            except (ClientError, BotoCoreError) as exc:
                code = _code(exc)
                self._record(call, started, code)
                if code in _THROTTLE_CODES:
                    self._bump(throttled=1)
                    self._limiter.throttled(turn)
                if _retryable(exc) and attempt < self.config.max_attempts:
                    self._back_off(attempt)
                    continue
                raise self._refused(call, username, exc, attempt, fatal) from None

            self._record(call, started, None)
            self._limiter.succeeded()
            return response

    def _record(self, call: str, started: float, code: str | None) -> None:
        self._bump(calls=1)
        if self._observe is not None:
            error = None if code is None else AuthError(code)
            self._observe(call, (time.perf_counter() - started) * 1000, error)

    def _back_off(self, attempt: int) -> None:
        self._bump(retries=1)
        self._sleep(self._backoff.delay(attempt, self._rng))

    def _refused(
        self,
        call: str,
        username: str,
        exc: ClientError | BotoCoreError,
        attempts: int,
        fatal: bool,
    ) -> AuthError:
        if isinstance(exc, BotoCoreError):
            return AuthError(
                f"Cognito {call} for test user {username!r} could not be made after "
                f"{attempts} attempts: {self._redact(str(exc))}"
            )
        code = _code(exc)
        reason = self._redact(exc.response.get("Error", {}).get("Message", ""))
        where = (
            f"in pool {self.config.user_pool_id!r} (client {self.config.client_id!r}, "
            f"region {self.config.region})"
        )
        if code in _RETRYABLE_CODES:
            return AuthError(
                f"Cognito kept answering {call} for test user {username!r} {where} "
                f"with {code} after {attempts} attempts; lower auth.sign_in_rate "
                f"({self.config.sign_in_rate:g}/s) or raise the account's quota"
            )
        error = AuthError(
            f"Cognito refused {call} for test user {username!r} {where}: "
            f"{code}: {reason}"
        )
        if fatal and code in _FATAL_CODES:
            self._failure = error
        return error

    def _token_from(
        self, response: Mapping[str, Any], username: str, fallback_refresh: str
    ) -> Token:
        result = response.get("AuthenticationResult")
        if not result:
            challenge = response.get("ChallengeName", "none")
            self._failure = AuthError(
                f"Cognito asked test user {username!r} for challenge {challenge!r} "
                f"instead of issuing tokens in pool {self.config.user_pool_id!r} "
                f"(client {self.config.client_id!r}): give the test users permanent "
                "passwords (make users does)"
            )
            raise self._failure

        now = self._clock()
        lifetime = float(result.get("ExpiresIn", 3600))
        usable_until = now + lifetime - min(_EXPIRY_MARGIN_S, lifetime * 0.05)
        bearer = (
            result["IdToken"] if self.config.token == "id" else result["AccessToken"]
        )
        return Token(
            bearer=bearer,
            refresh_token=result.get("RefreshToken") or fallback_refresh,
            username=_cognito_username(result) or username,
            refresh_at=min(now + lifetime * self._refresh_fraction, usable_until),
            usable_until=usable_until,
        )

    def _redact(self, text: str) -> str:
        for secret in (self.config.users.password, self.config.client_secret):
            if secret:
                text = text.replace(secret, "<redacted>")
        return _OPAQUE.sub("<redacted>", text)

    def _bump(self, **increments: int) -> None:
        with self._counts_lock:
            counts = self._counts
            self._counts = replace(
                counts, **{k: getattr(counts, k) + v for k, v in increments.items()}
            )


def make_cognito_client(config: AuthConfig) -> Any:
    """Return the ``cognito-idp`` client the provider uses for a configuration.

    botocore's own retries are switched off (one attempt per call), so every
    throttle reaches the provider, which counts it and retries with backoff.

    Args:
        config: The ``auth`` section of scenarios.yaml.

    Returns:
        A boto3 client; unsigned for the public flows, which need no AWS credentials.
    """
    public = config.flow in ("USER_PASSWORD_AUTH", "USER_SRP_AUTH")
    botocore_config = Config(
        signature_version=UNSIGNED if public else None,
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=10,
        max_pool_connections=50,
    )
    return boto3.client(
        "cognito-idp",
        region_name=config.region,
        endpoint_url=config.endpoint_url or None,
        config=botocore_config,
    )


def check_settings(config: AuthConfig) -> None:
    """Refuse Cognito settings that cannot work before any sign-in is tried.

    Raises:
        AuthError: The pool id, client id or test password is empty.
    """
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


def _code(exc: ClientError | BotoCoreError) -> str:
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _retryable(exc: ClientError | BotoCoreError) -> bool:
    """Tell whether a failed call may succeed if made again: throttles, 5xx, network."""
    if isinstance(exc, BotoCoreError):
        return isinstance(exc, _RETRYABLE_NETWORK)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return _code(exc) in _RETRYABLE_CODES or int(status or 0) >= 500


def _cognito_username(result: Mapping[str, Any]) -> str | None:
    """Return the ``username`` claim Cognito put in the access token, if any."""
    for key, claim in (("AccessToken", "username"), ("IdToken", "cognito:username")):
        token = result.get(key)
        if not token:
            continue
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            continue
        value = claims.get(claim)
        if isinstance(value, str) and value:
            return value
    return None


def _sleep(seconds: float) -> None:
    time.sleep(seconds)

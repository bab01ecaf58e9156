"""Creating and deleting the pool of Cognito test users, idempotently.

:func:`create_test_users` makes ``{prefix}0000`` ... ``{prefix}{count-1:04d}`` confirmed
users with a permanent password (so a sign-in returns tokens, never a
``NEW_PASSWORD_REQUIRED`` challenge); users that already exist get the password set
again, so running it twice changes nothing. :func:`delete_test_users` deletes every user
named ``{prefix}`` followed by digits. Both pace their admin calls and retry throttles
with backoff, like the token provider. Works on any ``cognito-idp`` client: the
sandbox's emulator or a real pool with AWS credentials.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from auth._pacing import Backoff, RateLimiter, Sleep
from loadgate.errors import AuthError
from loadgate.scenarios import AuthConfig

__all__ = [
    "UsersResult",
    "admin_client",
    "create_test_users",
    "delete_test_users",
    "pool_usernames",
]

logger = logging.getLogger(__name__)

_THROTTLES = frozenset({"TooManyRequestsException", "ThrottlingException"})
DEFAULT_ADMIN_RATE = 10.0
"""Admin calls per second: below Cognito's user-creation and admin quotas."""


@dataclass(frozen=True)
class UsersResult:
    """What a create or delete did.

    Attributes:
        created: Users that did not exist and were created.
        updated: Users that existed and had their password set permanent again.
        deleted: Users deleted.
        throttled: Calls Cognito throttled (each was retried).
    """

    __test__ = False  # Not a pytest test class, despite the module's name.

    created: int = 0
    updated: int = 0
    deleted: int = 0
    throttled: int = 0


def pool_usernames(prefix: str, count: int) -> list[str]:
    """Return the names of the test users, ``{prefix}{i:04d}`` for i from 0.

    Args:
        prefix: Username prefix, such as ``loadtest-user-``.
        count: How many users.

    Returns:
        The usernames, in order.
    """
    return [f"{prefix}{index:04d}" for index in range(count)]


def admin_client(config: AuthConfig, env: Mapping[str, str]) -> Any:
    """Return a signed ``cognito-idp`` client for the admin calls on a pool.

    Args:
        config: The ``auth`` section (region, endpoint override).
        env: Where the endpoint (``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER``) and
            credentials (``AWS_ACCESS_KEY_ID``...) are read; botocore's own chain
            covers what it does not set.

    Returns:
        The boto3 client; botocore retries nothing (throttles are retried here).
    """
    endpoint = (
        config.endpoint_url
        or env.get("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
        or env.get("AWS_ENDPOINT_URL")
    )
    return boto3.client(
        "cognito-idp",
        region_name=config.region,
        endpoint_url=endpoint or None,
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=5,
            read_timeout=10,
        ),
    )


class _Admin:
    """Paced, retried admin calls on one user pool."""

    def __init__(
        self,
        client: Any,
        user_pool_id: str,
        rate: float,
        sleep: Sleep | None,
        max_attempts: int,
    ) -> None:
        self.client = client
        self.user_pool_id = user_pool_id
        self.limiter = RateLimiter(rate, sleep=sleep)
        self.sleep = sleep or _sleep
        self.backoff = Backoff()
        self.max_attempts = max_attempts
        self.throttled = 0
        self.rng = random.Random()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        attempt = 0
        while True:
            attempt += 1
            turn = self.limiter.acquire()
            try:
                reply: dict[str, Any] = getattr(self.client, method)(
                    UserPoolId=self.user_pool_id, **params
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in _THROTTLES and attempt < self.max_attempts:
                    self.throttled += 1
                    self.limiter.throttled(turn)
                    self.sleep(self.backoff.delay(attempt, self.rng))
                    continue
                raise
            self.limiter.succeeded()
            return reply


def create_test_users(
    client: Any,
    user_pool_id: str,
    usernames: Iterable[str],
    password: str,
    *,
    rate: float = DEFAULT_ADMIN_RATE,
    sleep: Sleep | None = None,
    max_attempts: int = 8,
) -> UsersResult:
    """Create test users with a permanent password; existing ones are updated.

    Args:
        client: A ``cognito-idp`` client with admin rights on the pool.
        user_pool_id: The user pool.
        usernames: The users to have.
        password: Their permanent password (never logged).
        rate: Admin calls per second.
        sleep: Waits a number of seconds; ``time.sleep`` when None.
        max_attempts: Attempts per call when Cognito throttles.

    Returns:
        How many users were created and how many existed already.

    Raises:
        AuthError: Cognito refused a call (unknown pool, password policy, rights).
    """
    if not password:
        raise AuthError(
            "no test password: set LOADGATE_TEST_PASSWORD or auth.users.password"
        )
    admin = _Admin(client, user_pool_id, rate, sleep, max_attempts)
    created = updated = 0
    for username in usernames:
        try:
            if _create(admin, username):
                created += 1
            else:
                updated += 1
            admin.call(
                "admin_set_user_password",
                Username=username,
                Password=password,
                Permanent=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise _error("create", username, user_pool_id, exc, password) from None
    logger.info(
        "test users in pool %s: %d created, %d updated", user_pool_id, created, updated
    )
    return UsersResult(created=created, updated=updated, throttled=admin.throttled)


def delete_test_users(
    client: Any,
    user_pool_id: str,
    prefix: str,
    *,
    rate: float = DEFAULT_ADMIN_RATE,
    sleep: Sleep | None = None,
    max_attempts: int = 8,
) -> UsersResult:
    """Delete every user named ``prefix`` followed by digits; others are left alone.

    Args:
        client: A ``cognito-idp`` client with admin rights on the pool.
        user_pool_id: The user pool.
        prefix: The test users' username prefix.
        rate: Admin calls per second.
        sleep: Waits a number of seconds; ``time.sleep`` when None.
        max_attempts: Attempts per call when Cognito throttles.

    Returns:
        How many users were deleted.

    Raises:
        AuthError: Cognito refused a call.
    """
    admin = _Admin(client, user_pool_id, rate, sleep, max_attempts)
    ours = re.compile(re.escape(prefix) + r"\d+")
    try:
        names = [n for n in _list(admin, prefix) if ours.fullmatch(n)]
    except (ClientError, BotoCoreError) as exc:
        raise _error("list", prefix + "*", user_pool_id, exc, "") from None

    deleted = 0
    for username in names:
        try:
            admin.call("admin_delete_user", Username=username)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "UserNotFoundException":
                continue
            raise _error("delete", username, user_pool_id, exc, "") from None
        except BotoCoreError as exc:
            raise _error("delete", username, user_pool_id, exc, "") from None
        deleted += 1
    logger.info("test users in pool %s: %d deleted", user_pool_id, deleted)
    return UsersResult(deleted=deleted, throttled=admin.throttled)


def _create(admin: _Admin, username: str) -> bool:
    """Create one user without an invitation; return False if it existed."""
    try:
        admin.call("admin_create_user", Username=username, MessageAction="SUPPRESS")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "UsernameExistsException":
            return False
        raise
    return True


def _list(admin: _Admin, prefix: str) -> list[str]:
    names: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"Filter": f'username ^= "{prefix}"', "Limit": 60}
        if token:
            params["PaginationToken"] = token
        reply = admin.call("list_users", **params)
        names += [user["Username"] for user in reply.get("Users", [])]
        token = reply.get("PaginationToken")
        if not token:
            return names


def _error(
    action: str,
    username: str,
    user_pool_id: str,
    exc: ClientError | BotoCoreError,
    password: str,
) -> AuthError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        reason = f"{error.get('Code', 'Unknown')}: {error.get('Message', '')}"
    else:
        reason = str(exc)
    if password:
        reason = reason.replace(password, "<redacted>")
    return AuthError(
        f"cannot {action} test user {username!r} in pool {user_pool_id!r}: {reason}"
    )


def _sleep(seconds: float) -> None:
    time.sleep(seconds)

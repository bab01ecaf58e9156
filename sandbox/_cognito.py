"""Provisioning of the Cognito emulator: one user pool, one app client, N test users.

Users are created with their invitation suppressed and given a permanent password, so a
sign-in returns tokens at once instead of a ``NEW_PASSWORD_REQUIRED`` challenge.
"""

from __future__ import annotations

import logging
import secrets
import string
from dataclasses import dataclass
from typing import Any

from loadgate.errors import SandboxError

logger = logging.getLogger(__name__)

REGION = "us-east-1"
POOL_NAME = "loadgate-sandbox"
CLIENT_NAME = "loadgate-sandbox"
AUTH_FLOWS = (
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
)
# Cognito's own list of characters that count as symbols in a password.
COGNITO_SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-"
# The subset the generator draws from: none of them needs quoting in a shell.
_GENERATED_SYMBOLS = "!#%*+-.:=_^~"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 98
_PASSWORD_POLICY = {
    "MinimumLength": MIN_PASSWORD_LENGTH,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 7,
}
# The emulator ignores credentials, but botocore refuses to sign without some.
_DUMMY_CREDENTIALS = {
    "aws_access_key_id": "sandbox",
    "aws_secret_access_key": "sandbox",
}


@dataclass(frozen=True)
class CognitoPool:
    """What provisioning created.

    Attributes:
        user_pool_id: The user pool id, such as ``us-east-1_...``.
        client_id: The app client id, without a secret.
    """

    user_pool_id: str
    client_id: str


def generate_password(length: int = 20) -> str:
    """Return a random password that satisfies Cognito's default policy.

    Args:
        length: How many characters; at least 8.

    Returns:
        A password with upper- and lower-case letters, digits and a symbol.
    """
    classes = (
        string.ascii_uppercase,
        string.ascii_lowercase,
        string.digits,
        _GENERATED_SYMBOLS,
    )
    alphabet = "".join(classes)
    chars = [secrets.choice(chars) for chars in classes]
    chars += [secrets.choice(alphabet) for _ in range(max(length, 8) - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def check_password(password: str) -> None:
    """Refuse a password Cognito's default policy would refuse.

    The message describes the policy and never quotes the password.

    Args:
        password: The candidate password.

    Raises:
        SandboxError: The password is too short, too long or lacks a character class.
    """
    checks = (
        MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH,
        any(char.isupper() for char in password),
        any(char.islower() for char in password),
        any(char.isdigit() for char in password),
        any(char in COGNITO_SYMBOLS for char in password),
    )
    if not all(checks):
        raise SandboxError(
            "password does not satisfy Cognito's default policy: it needs "
            f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters with an "
            "upper-case letter, a lower-case letter, a digit and a symbol"
        )


def usernames(prefix: str, count: int) -> list[str]:
    """Return the names of the test users, ``{prefix}{i:04d}`` for i from 0.

    Args:
        prefix: The common prefix, such as ``loadtest-user-``.
        count: How many users.

    Returns:
        The usernames in order.
    """
    return [f"{prefix}{index:04d}" for index in range(count)]


def cognito_client(endpoint: str, region: str = REGION) -> Any:
    """Return a boto3 ``cognito-idp`` client talking to the emulator.

    Args:
        endpoint: The emulator's base URL.
        region: The region to sign requests for.

    Returns:
        The boto3 client.
    """
    # boto3 is slow to import; the chat API process never needs it.
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 2, "mode": "standard"}, proxies={})
    return boto3.client(
        "cognito-idp",
        region_name=region,
        endpoint_url=endpoint,
        config=config,
        **_DUMMY_CREDENTIALS,
    )


def provision(
    endpoint: str, *, region: str, users: int, user_prefix: str, password: str
) -> CognitoPool:
    """Create the user pool, the app client and the test users.

    Args:
        endpoint: The emulator's base URL.
        region: The region of the pool.
        users: How many test users to create.
        user_prefix: The prefix of their names.
        password: The permanent password every user gets.

    Returns:
        The ids of the new pool and client.

    Raises:
        SandboxError: The emulator refused a call.
    """
    # botocore's errors all derive from this one; imported late like boto3 itself.
    from botocore.exceptions import BotoCoreError, ClientError

    client = cognito_client(endpoint, region)
    try:
        pool = _create_pool(client)
        for username in usernames(user_prefix, users):
            _create_user(client, pool.user_pool_id, username, password)
    except (BotoCoreError, ClientError) as exc:
        raise SandboxError(f"cannot provision Cognito at {endpoint}: {exc}") from exc
    finally:
        client.close()

    logger.info(
        "cognito provisioned: pool %s, client %s, %s users named %s0000...",
        pool.user_pool_id,
        pool.client_id,
        users,
        user_prefix,
    )
    return pool


def _create_pool(client: Any) -> CognitoPool:
    """Create the user pool and its app client."""
    pool = client.create_user_pool(
        PoolName=POOL_NAME, Policies={"PasswordPolicy": _PASSWORD_POLICY}
    )["UserPool"]
    app_client = client.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName=CLIENT_NAME,
        GenerateSecret=False,
        ExplicitAuthFlows=list(AUTH_FLOWS),
    )["UserPoolClient"]
    return CognitoPool(user_pool_id=pool["Id"], client_id=app_client["ClientId"])


def _create_user(client: Any, user_pool_id: str, username: str, password: str) -> None:
    """Create one confirmed user with a permanent password."""
    client.admin_create_user(
        UserPoolId=user_pool_id, Username=username, MessageAction="SUPPRESS"
    )
    client.admin_set_user_password(
        UserPoolId=user_pool_id, Username=username, Password=password, Permanent=True
    )

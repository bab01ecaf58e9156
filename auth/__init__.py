"""Cognito token fixtures for virtual users, test-user admin and secret references.

:class:`CognitoTokenProvider` signs the pool of test users in (one sign-in per test user
and process), maps virtual users onto them and keeps their tokens fresh, pacing and
retrying its Cognito calls. Anything that satisfies :class:`TokenProvider` can stand in
for it. :func:`create_test_users` and :func:`delete_test_users` manage the pool of test
users (``make users``, ``make users-clean``). :class:`SecretStore` reads the
``${ssm:...}`` and ``${secretsmanager:...}`` references of scenarios.yaml.
"""

from __future__ import annotations

from auth._secrets import SECRET_SOURCES, SecretSource, SecretStore
from auth.cognito import (
    CallCounts,
    CallObserver,
    CognitoTokenProvider,
    Token,
    TokenProvider,
    check_settings,
    make_cognito_client,
    secret_hash,
)
from auth.users import (
    UsersResult,
    admin_client,
    create_test_users,
    delete_test_users,
    pool_usernames,
)

__all__ = [
    "SECRET_SOURCES",
    "CallCounts",
    "CallObserver",
    "CognitoTokenProvider",
    "SecretSource",
    "SecretStore",
    "Token",
    "TokenProvider",
    "UsersResult",
    "admin_client",
    "check_settings",
    "create_test_users",
    "delete_test_users",
    "make_cognito_client",
    "pool_usernames",
    "secret_hash",
]

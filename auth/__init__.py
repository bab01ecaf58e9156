"""Cognito token fixtures for virtual users.

:class:`CognitoTokenProvider` signs the pool of test users in (one sign-in per test user
and process), maps virtual users onto them and keeps their tokens fresh. Anything that
satisfies :class:`TokenProvider` can stand in for it.
"""

from __future__ import annotations

from auth.cognito import CallObserver, CognitoTokenProvider, Token, TokenProvider

__all__ = ["CallObserver", "CognitoTokenProvider", "Token", "TokenProvider"]

"""Helpers for the auth tests: a fake clock, a record of the calls boto3 sent."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

import boto3

from loadgate.scenarios import AuthConfig, TestUsers

PASSWORD = "Unit-Test-Passw0rd!"
PREFIX = "unit-user-"


class FakeClock:
    """A monotonic clock that only moves when told to (or when slept on)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Sent:
    """The operations and parameters a boto3 client sent, in order."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def attach(self, client: Any) -> Any:
        client.meta.events.register("provide-client-params.cognito-idp.*", self._seen)
        return client

    def _seen(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, copy.deepcopy(params)))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def auth_parameters(self, flow: str) -> list[dict[str, str]]:
        return [
            params["AuthParameters"]
            for _, params in self.calls
            if params.get("AuthFlow") == flow
        ]


@dataclass
class Observed:
    """What the provider told its observer: (call, duration in ms, error)."""

    events: list[tuple[str, float, BaseException | None]] = field(default_factory=list)

    def __call__(
        self, call: str, elapsed_ms: float, error: BaseException | None
    ) -> None:
        self.events.append((call, elapsed_ms, error))

    def names(self) -> list[str]:
        return [call for call, _, _ in self.events]


@dataclass(frozen=True)
class Pool:
    """A user pool on the test's moto server, with two app clients and test users."""

    endpoint: str
    user_pool_id: str
    client_id: str
    secret_client_id: str
    client_secret: str = field(repr=False)
    count: int = 6

    def config(self, **changes: Any) -> AuthConfig:
        """Return an ``auth`` section for this pool, with some fields changed."""
        base = AuthConfig(
            region="us-east-1",
            user_pool_id=self.user_pool_id,
            client_id=self.client_id,
            flow="ADMIN_USER_PASSWORD_AUTH",
            token="id",
            endpoint_url=self.endpoint,
            users=TestUsers(PREFIX, self.count, PASSWORD),
        )
        return replace(base, **changes)

    def secret_config(self, **changes: Any) -> AuthConfig:
        """Return an ``auth`` section that uses the app client with a secret."""
        secret = {
            "client_id": self.secret_client_id,
            "client_secret": self.client_secret,
        }
        return self.config(**(secret | changes))


def admin(endpoint: str) -> Any:
    """Return a cognito-idp client on the test's moto server."""
    return boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="unit-test",
        aws_secret_access_key="unit-test",
    )

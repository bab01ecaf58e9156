"""Fixtures for the sandbox tests: one shared running sandbox and an HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_helpers import ZERO_KNOBS, Api, sign_in

import sandbox
from sandbox import SandboxState


@pytest.fixture(scope="session")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox-state")


@pytest.fixture(scope="session")
def sandbox_state(sandbox_dir: Path) -> Iterator[SandboxState]:
    """One sandbox with the default 20 users, shared by the whole session."""
    with sandbox.running(sandbox_dir) as state:
        yield state


@pytest.fixture(scope="session")
def api(sandbox_state: SandboxState) -> Api:
    return Api(sandbox_state.api_url)


@pytest.fixture(scope="session")
def tokens(sandbox_state: SandboxState) -> dict[str, str]:
    """ID and access tokens of the first test user, keyed by token_use."""
    result = sign_in(sandbox_state, sandbox_state.usernames[0])
    return {"id": result["IdToken"], "access": result["AccessToken"]}


@pytest.fixture
def knobs(api: Api) -> Iterator[Api]:
    """The API, with every knob reset to zero after the test."""
    yield api
    reply = api.post("/_sandbox/knobs", ZERO_KNOBS)
    assert reply.status == 200

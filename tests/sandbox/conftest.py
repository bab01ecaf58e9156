"""Fixtures for the sandbox tests: one shared running sandbox and an HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_helpers import Api, sign_in

import sandbox
from sandbox import SandboxControl, SandboxState


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


@pytest.fixture(scope="session")
def control_api(sandbox_state: SandboxState) -> Api:
    """The shared sandbox's control port, spoken to with the raw HTTP client."""
    return Api(sandbox_state.control_url)


@pytest.fixture
def ctl(sandbox_state: SandboxState) -> Iterator[SandboxControl]:
    """The control client of the shared sandbox, reset to no schedule, outage or knob
    after the test, with an unpredictable seed again."""
    client = sandbox.control(sandbox_state)
    yield client
    client.reset()
    client.set_knobs({"seed": None})


@pytest.fixture
def knobs(api: Api, ctl: SandboxControl) -> Api:
    """The API, with every knob reset to zero after the test."""
    return api

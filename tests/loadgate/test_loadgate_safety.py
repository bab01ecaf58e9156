"""Target safety: which hosts a run may send load to."""

from __future__ import annotations

import pytest

from loadgate.errors import TargetError
from loadgate.safety import check_target, origin_of
from loadgate.scenarios import TargetEnvironment

ENVIRONMENTS = {
    "sandbox": TargetEnvironment(
        "sandbox", ("http://127.0.0.1:*", "http://localhost:*")
    ),
    "staging": TargetEnvironment("staging", ("https://api.staging.example.com",)),
    "production": TargetEnvironment("production", ("https://api.example.com",), True),
}


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://api.example.com", "https://api.example.com:443"),
        ("https://API.example.com/v1/", "https://api.example.com:443"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
    ids=["loopback", "default-port", "path-and-case", "ipv6"],
)
def test_origin_of(host: str, origin: str) -> None:
    assert origin_of(host) == origin


@pytest.mark.parametrize(
    ("host", "environment"),
    [
        ("http://127.0.0.1:41234", "sandbox"),
        ("http://localhost:8089", "sandbox"),
        ("https://api.staging.example.com", "staging"),
        ("https://api.staging.example.com:443/", "staging"),
    ],
    ids=["sandbox-ip", "sandbox-name", "staging", "staging-explicit-port"],
)
def test_allowed_hosts(host: str, environment: str) -> None:
    assert check_target(host, ENVIRONMENTS).name == environment


@pytest.mark.parametrize(
    ("host", "kwargs", "message"),
    [
        (
            "http://127.0.0.2:8080",
            {},
            "target host 'http://127.0.0.2:8080' is not allowed: it matches no host of "
            "scenarios.yaml's environments (sandbox: http://127.0.0.1:*, "
            "http://localhost:*; staging: https://api.staging.example.com; production: "
            "https://api.example.com); add it to an environment's hosts to test it",
        ),
        (
            "https://api.example.com",
            {},
            "target host 'https://api.example.com' is in the production environment "
            "'production': confirm with --confirm-production to send load to it",
        ),
        (
            "http://127.0.0.1:80",
            {"environment": "staging"},
            "target host 'http://127.0.0.1:80' is not allowed: it matches no host of "
            "scenarios.yaml's environments (staging: https://api.staging.example.com); "
            "add it to an environment's hosts to test it",
        ),
        (
            "http://127.0.0.1:80",
            {"environment": "qa"},
            "--target-env: 'qa' is not an environment of scenarios.yaml; known: "
            "sandbox, staging, production",
        ),
        (
            "http://127.0.0.1:80",
            {"environment": "staging", "source": "team.yaml"},
            "target host 'http://127.0.0.1:80' is not allowed: it matches no host of "
            "team.yaml's environments (staging: https://api.staging.example.com); "
            "add it to an environment's hosts to test it",
        ),
        (
            "ftp://127.0.0.1",
            {},
            "target host 'ftp://127.0.0.1' is not allowed; expected an http(s) URL such "
            "as 'https://api.example.com'",
        ),
        (
            "http://127.0.0.1.evil.example:80",
            {},
            "target host 'http://127.0.0.1.evil.example:80' is not allowed: it matches no "
            "host of scenarios.yaml's environments (sandbox: http://127.0.0.1:*, "
            "http://localhost:*; staging: https://api.staging.example.com; production: "
            "https://api.example.com); add it to an environment's hosts to test it",
        ),
    ],
    ids=[
        "unknown-host",
        "production-unconfirmed",
        "wrong-env",
        "unknown-env",
        "named-file",
        "ftp",
        "lookalike",
    ],
)
def test_refused_hosts(host: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TargetError) as caught:
        check_target(host, ENVIRONMENTS, **kwargs)  # type: ignore[arg-type]

    assert str(caught.value) == message


def test_production_with_confirmation() -> None:
    chosen = check_target(
        "https://api.example.com", ENVIRONMENTS, confirm_production=True
    )

    assert chosen.name == "production"


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("http://127.0.0.1:1", True),
        ("http://127.9.9.9:1", True),
        ("http://localhost:1", True),
        ("http://[::1]:1", True),
        ("http://127.evil.example:1", False),
        ("http://10.0.0.1:1", False),
    ],
    ids=["127.0.0.1", "127/8", "localhost", "ipv6-loopback", "lookalike", "private"],
)
def test_without_environments_only_loopback(host: str, allowed: bool) -> None:
    if allowed:
        assert check_target(host, {}).name == "loopback"
    else:
        with pytest.raises(TargetError):
            check_target(host, {})

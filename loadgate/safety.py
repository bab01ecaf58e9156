"""Target safety: a run only goes to a host that scenarios.yaml allows.

``environments`` in scenarios.yaml lists, per environment, the origins a run may target
(``scheme://host:port`` patterns with ``*`` wildcards). A host that matches none is
refused before a single request is sent; a host of an environment marked ``production``
needs an explicit confirmation. With no ``environments`` section at all, only loopback
hosts (127.0.0.0/8, ``localhost``, ``::1``) are allowed.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from loadgate.errors import TargetError
from loadgate.scenarios import TargetEnvironment

__all__ = ["LOOPBACK", "check_target", "origin_of"]

LOOPBACK = TargetEnvironment("loopback", ("127.0.0.0/8", "localhost", "::1"))
"""The environment allowed when scenarios.yaml names none: this machine only."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(host: str) -> str:
    """Return a host URL as ``scheme://host:port``, with the port always written.

    Raises:
        TargetError: The host is not an http(s) URL.
    """
    parts = urlsplit(host)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise TargetError(
            f"target host {host!r} is not allowed; expected an http(s) URL such as "
            "'https://api.example.com'"
        )
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise TargetError(f"target host {host!r} has a bad port") from None
    name = parts.hostname
    if ":" in name:
        name = f"[{name}]"
    return f"{parts.scheme}://{name}:{port}"


def check_target(
    host: str,
    environments: Mapping[str, TargetEnvironment],
    *,
    environment: str | None = None,
    confirm_production: bool = False,
    source: str = "scenarios.yaml",
) -> TargetEnvironment:
    """Return the environment a host belongs to, or refuse the host.

    Args:
        host: The target base URL.
        environments: The ``environments`` of scenarios.yaml (may be empty).
        environment: The environment the run names (``--target-env``), if any.
        confirm_production: The user confirmed a production run.
        source: The name of the scenarios file, for the messages.

    Returns:
        The environment whose hosts the target matches.

    Raises:
        TargetError: The host matches no allowed environment (or not the named one),
            or it is production and the run was not confirmed.
    """
    origin = origin_of(host)
    candidates = dict(environments) or {LOOPBACK.name: LOOPBACK}
    if environment is not None:
        if environment not in candidates:
            known = ", ".join(candidates)
            raise TargetError(
                f"--target-env: {environment!r} is not an environment of "
                f"{source}; known: {known}"
            )
        candidates = {environment: candidates[environment]}

    matched = [env for env in candidates.values() if _matches(origin, env)]
    if not matched:
        allowed = "; ".join(
            f"{env.name}: {', '.join(env.hosts)}" for env in candidates.values()
        )
        raise TargetError(
            f"target host {host!r} is not allowed: it matches no host of "
            f"{source}'s environments ({allowed}); add it to an environment's "
            "hosts to test it"
        )
    chosen = matched[0]
    if chosen.production and not confirm_production:
        raise TargetError(
            f"target host {host!r} is in the production environment {chosen.name!r}: "
            "confirm with --confirm-production to send load to it"
        )
    return chosen


def _matches(origin: str, environment: TargetEnvironment) -> bool:
    if environment is LOOPBACK:
        return _is_loopback(origin)
    for pattern in environment.hosts:
        if fnmatch.fnmatchcase(origin, _normalise(pattern)):
            return True
    return False


def _normalise(pattern: str) -> str:
    """Write a pattern's default port out, so ``https://x`` matches ``https://x:443``."""
    scheme, _, rest = pattern.partition("://")
    if scheme in _DEFAULT_PORTS and ":" not in rest.rsplit("]", 1)[-1]:
        return f"{scheme}://{rest.rstrip('/')}:{_DEFAULT_PORTS[scheme]}"
    return pattern.rstrip("/")


def _is_loopback(host: str) -> bool:
    name = urlsplit(host).hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False

"""``state.json``: what a running sandbox is and how to reach and stop it.

The file holds the shared test-user password, so it is written with mode 0600 and only
ever replaced whole. A file written before the control port and the Cognito proxy
existed (no ``control_url`` or ``cognito_upstream``) still loads, so such a sandbox can
be stopped: its API port stands in for the control port, its emulator for the proxy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loadgate.errors import SandboxError
from sandbox._cognito import usernames

STATE_FILE = "state.json"

_TYPES: dict[str, type] = {
    "api_url": str,
    "control_url": str,
    "cognito_endpoint": str,
    "cognito_upstream": str,
    "region": str,
    "user_pool_id": str,
    "client_id": str,
    "user_prefix": str,
    "user_count": int,
    "password": str,
    "request_log": str,
    "pids": dict,
}
_ROLES = ("moto", "api")


@dataclass(frozen=True)
class SandboxState:
    """A running sandbox, as recorded in ``state_dir/state.json``.

    The password is left out of ``repr`` so the state can be logged safely.

    Attributes:
        api_url: Base URL of the chat API, such as ``http://127.0.0.1:5123``.
        control_url: Base URL of the control port (knobs, schedules, outages, proxy
            counters), which stays up while the API is down.
        cognito_endpoint: Base URL every Cognito client uses (boto3 ``endpoint_url``):
            the quota proxy in front of the emulator.
        cognito_upstream: Base URL of the Cognito emulator itself, behind the proxy.
        region: AWS region of the user pool.
        user_pool_id: The user pool id.
        client_id: The app client id; the client has no secret.
        user_prefix: Test users are named ``{user_prefix}{i:04d}``.
        user_count: How many test users exist.
        password: The permanent password of every test user.
        request_log: The chat API's JSON-lines request log.
        pids: Process ids by role: ``moto`` and ``api``.
    """

    api_url: str
    control_url: str
    cognito_endpoint: str
    cognito_upstream: str
    region: str
    user_pool_id: str
    client_id: str
    user_prefix: str
    user_count: int
    password: str = field(repr=False)
    request_log: Path
    pids: Mapping[str, int]

    @property
    def usernames(self) -> list[str]:
        """The names of every test user, in order."""
        return usernames(self.user_prefix, self.user_count)

    @classmethod
    def load(cls, state_dir: Path) -> SandboxState:
        """Read the state of the sandbox recorded in a directory.

        Args:
            state_dir: The sandbox's state directory.

        Returns:
            The recorded state.

        Raises:
            SandboxError: ``state.json`` is missing, unreadable or malformed.
        """
        path = state_dir / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SandboxError(
                f"no sandbox state in {str(state_dir)!r}: {STATE_FILE} is missing; "
                "start one with `python -m sandbox up`"
            ) from None
        except (OSError, ValueError) as exc:
            raise SandboxError(f"cannot read {str(path)!r}: {exc}") from exc
        return cls._from_json(data, path)

    @classmethod
    def _from_json(cls, data: Any, path: Path) -> SandboxState:
        """Check the parsed file field by field and build the state."""
        if not isinstance(data, dict):
            raise SandboxError(f"{str(path)!r}: expected a JSON object")
        data = {
            "control_url": data.get("api_url"),
            "cognito_upstream": data.get("cognito_endpoint"),
            **data,
        }
        for key, kind in _TYPES.items():
            if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
                raise SandboxError(
                    f"{str(path)!r}: {key!r} must be a {kind.__name__}, "
                    f"got {data.get(key)!r}"
                )
        pids = data["pids"]
        for role in _ROLES:
            if not isinstance(pids.get(role), int) or isinstance(pids.get(role), bool):
                raise SandboxError(f"{str(path)!r}: pids[{role!r}] must be an integer")

        fields = {key: data[key] for key in _TYPES}
        fields["request_log"] = Path(data["request_log"])
        fields["pids"] = {role: pids[role] for role in _ROLES}
        return cls(**fields)

    def to_json(self) -> dict[str, Any]:
        """Return the state as the JSON object ``state.json`` holds.

        Returns:
            Every field; paths as strings.
        """
        data = asdict(self)
        data["request_log"] = str(self.request_log)
        data["pids"] = dict(self.pids)
        return data


def write_state(state_dir: Path, state: SandboxState) -> Path:
    """Write ``state.json`` with mode 0600, replacing any previous file whole.

    Args:
        state_dir: The sandbox's state directory.
        state: The state to record.

    Returns:
        The path written.
    """
    path = state_dir / STATE_FILE
    temporary = state_dir / f".{STATE_FILE}.{os.getpid()}"
    # A leftover temporary file could carry wider permissions: start from none.
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(state.to_json(), handle, indent=2)
        handle.write("\n")
    os.replace(temporary, path)
    return path

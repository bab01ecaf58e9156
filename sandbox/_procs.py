"""Child processes of the sandbox: spawning, readiness polling and termination.

Each child leads its own session (hence its own process group), so stopping it signals
the whole group. Children started by this interpreter are remembered so they can be
reaped; a pid from an earlier ``sandbox up`` is checked against its command line before
it is signalled, in case the pid now belongs to something else.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from loadgate.errors import SandboxError

logger = logging.getLogger(__name__)

_POLL_INTERVAL = 0.05
_TAIL_LINES = 8
_TAIL_CHARS = 800

# Popen objects of the children this interpreter started, kept so they can be reaped.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}

# Local endpoints only: never route them through a proxy from the environment.
_LOCAL_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now.

    Returns:
        The port number.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def spawn(command: Sequence[str], log_path: Path, env: Mapping[str, str]) -> int:
    """Start a detached child in its own session, its output appended to a file.

    Args:
        command: The program and its arguments.
        log_path: The file that receives the child's stdout and stderr.
        env: The child's environment.

    Returns:
        The child's pid, which is also its process group id.

    Raises:
        SandboxError: The program cannot be started.
    """
    try:
        with log_path.open("ab") as log:
            child = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=dict(env),
                start_new_session=True,
                close_fds=True,
            )
    except OSError as exc:
        raise SandboxError(f"cannot start {command[0]!r}: {exc}") from exc

    _CHILDREN[child.pid] = child
    logger.debug("started pid %s: %s", child.pid, " ".join(command))
    return child.pid


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """Return the HTTP status a local URL answers GET with, or None if unreachable.

    Args:
        url: An ``http://127.0.0.1`` URL.
        timeout: Seconds to wait for the answer.

    Returns:
        The status, including error statuses; None when nothing answered.
    """
    if not url.startswith("http://"):
        raise SandboxError(f"refusing to probe {url!r}: only http:// URLs are local")
    try:
        with _LOCAL_OPENER.open(url, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code
    except (OSError, ValueError):
        return None


def wait_ready(
    name: str,
    pid: int,
    is_ready: Callable[[], bool],
    log_path: Path,
    timeout: float,
) -> None:
    """Poll until a child is ready, failing fast if it exits first.

    Args:
        name: The child's role, for messages (``"moto"``, ``"chat api"``).
        pid: The child's pid.
        is_ready: Returns True once the child serves.
        log_path: The child's output file, quoted in the error.
        timeout: Seconds to wait before giving up.

    Raises:
        SandboxError: The child exited or was not ready in time; the message ends
            with the tail of its output.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            raise SandboxError(
                f"{name} (pid {pid}) exited before it was ready; "
                f"{log_path} ends with: {tail(log_path)}"
            )
        if is_ready():
            return
        time.sleep(_POLL_INTERVAL)

    raise SandboxError(
        f"{name} (pid {pid}) was not ready within {timeout:g} s; "
        f"{log_path} ends with: {tail(log_path)}"
    )


def tail(path: Path) -> str:
    """Return the last lines of a log file on one line, joined with `` | ``.

    Args:
        path: The log file.

    Returns:
        The tail, shortened to a few hundred characters; ``(empty)`` if nothing.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no output)"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = " | ".join(lines[-_TAIL_LINES:])
    return joined[-_TAIL_CHARS:] or "(no output)"


def is_alive(pid: int) -> bool:
    """Tell whether a process runs; zombies and reaped children count as gone.

    Args:
        pid: The process id.

    Returns:
        True while the process exists and has not exited.
    """
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """Tell whether a process has exited but not been reaped (Linux only)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    # The state letter follows the command name, which is in parentheses.
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def runs_command(pid: int, marker: str) -> bool:
    """Tell whether a pid still runs the program it was started as.

    Args:
        pid: The process id.
        marker: Text its command line contains, such as ``moto.server``.

    Returns:
        True if the command line contains ``marker``, or cannot be read (no /proc).
    """
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return marker.encode() in cmdline.read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return True


def terminate(name: str, pid: int, marker: str, timeout: float) -> bool:
    """Stop a child's process group: SIGTERM, then SIGKILL after ``timeout``.

    Args:
        name: The child's role, for messages.
        pid: The child's pid, which leads its process group.
        marker: Text its command line must contain before it is signalled.
        timeout: Seconds to wait after SIGTERM.

    Returns:
        True if a process was signalled; False if none was running.

    Raises:
        SandboxError: The process survived SIGKILL.
    """
    if not is_alive(pid):
        _forget(pid)
        return False
    if not runs_command(pid, marker):
        logger.warning("pid %s no longer runs %s: left alone", pid, name)
        return False

    _signal_group(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout):
        logger.warning(
            "%s (pid %s) ignored SIGTERM for %s s: killing", name, pid, timeout
        )
        _signal_group(pid, signal.SIGKILL)
        if not _wait_gone(pid, timeout):
            raise SandboxError(f"{name} (pid {pid}) is still running after SIGKILL")

    # Members that outlived their leader would keep the group alive.
    _signal_group(pid, signal.SIGKILL)
    _forget(pid)
    return True


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    """Send a signal to a process group that may already be gone."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, timeout: float) -> bool:
    """Poll until a process has exited; return False if it outlives the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(_POLL_INTERVAL)
    return not is_alive(pid)


def _forget(pid: int) -> None:
    """Reap a child of this interpreter, if it is one, and stop tracking it."""
    child = _CHILDREN.pop(pid, None)
    if child is not None and child.poll() is None:
        child.wait(timeout=1.0)

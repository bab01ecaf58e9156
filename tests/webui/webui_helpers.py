"""Helpers of the web UI tests: a running ``loadgate ui`` and polling with a deadline."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class WebUI:
    """A running ``loadgate ui``: its address, results directory and log."""

    url: str
    results: Path
    log: Path

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as reply:
            return json.load(reply)

    def run_dirs(self, scenario: str) -> list[Path]:
        return sorted(self.results.glob(f"ui-*-{scenario}"))


@contextmanager
def running_ui(
    directory: Path, args: tuple[str, ...], env: Mapping[str, str]
) -> Iterator[WebUI]:
    """Run ``loadgate ui ARGS`` on a free port; stop it as Ctrl-C does, check exit 0."""
    port = free_port()
    ui = WebUI(f"http://127.0.0.1:{port}", directory / "results", directory / "ui.log")
    # A relative --results, as `make ui` gives: the report links must still resolve.
    command = [
        *(sys.executable, "-m", "loadgate", "ui", "--web-port", str(port)),
        *("--results", "results", *args),
    ]
    with ui.log.open("wb") as log:
        child = subprocess.Popen(
            command,
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            start_new_session=True,
        )
    try:
        _wait_until_serving(ui, child)
        yield ui
    finally:
        _stop(child)
    assert child.returncode == 0, ui.log.read_text(errors="replace")[-3000:]


def _wait_until_serving(ui: WebUI, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise AssertionError(ui.log.read_text(errors="replace")[-3000:])
        try:
            with urllib.request.urlopen(ui.url + "/", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"web UI not serving after {START_TIMEOUT_S} s")


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Ctrl-C as from a terminal: SIGINT to the whole process group."""
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGINT)
    try:
        child.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def poll(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")

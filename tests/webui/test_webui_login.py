"""Protecting the web UI: ``--web-login`` and the refusal to serve beyond localhost."""

from __future__ import annotations

import http.cookiejar
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webui_helpers import WebUI, running_ui

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery-staple"
LOGIN_ENV = {"LOADGATE_UI_USERNAME": "tester", "LOADGATE_UI_PASSWORD": PASSWORD}
PROTECTED = ["/", "/loadgate/live", "/loadgate/report", "/loadgate/summary.json"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Client:
    """An HTTP client with a cookie jar that shows redirects instead of following them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect
        )

    def send(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        """Return the status and the Location (redirects) or the body."""
        data = None if form is None else urllib.parse.urlencode(form).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=10) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as reply:
            return reply.code, reply.headers.get("Location") or reply.read().decode()


@pytest.fixture(scope="module")
def protected_ui(
    sandbox_dir: Path, scenarios_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebUI]:
    args = ("--sandbox", str(sandbox_dir), "--scenarios-file", str(scenarios_file))
    directory = tmp_path_factory.mktemp("webui-login")
    with running_ui(directory, (*args, "--web-login"), LOGIN_ENV) as running:
        yield running


@pytest.mark.parametrize("path", PROTECTED, ids=PROTECTED)
def test_without_login_every_page_redirects_to_the_login_page(
    protected_ui: WebUI, path: str
) -> None:
    status, location = Client(protected_ui.url).send(path)

    assert status == 302
    assert urllib.parse.urlsplit(location).path == "/login"


@pytest.mark.parametrize(
    ("username", "password"),
    [
        pytest.param("tester", "wrong", id="wrong-password"),
        pytest.param("loadgate", PASSWORD, id="wrong-user"),
        pytest.param("tester", "", id="empty-password"),
    ],
)
def test_a_wrong_login_is_refused(
    protected_ui: WebUI, username: str, password: str
) -> None:
    client = Client(protected_ui.url)

    status, location = client.send(
        "/loadgate/login", {"username": username, "password": password}
    )

    assert (status, urllib.parse.urlsplit(location).path) == (302, "/login")
    assert client.send("/loadgate/live")[0] == 302


def test_the_right_login_opens_the_ui_and_loadgate_routes(protected_ui: WebUI) -> None:
    client = Client(protected_ui.url)

    status, location = client.send(
        "/loadgate/login", {"username": "tester", "password": PASSWORD}
    )
    live_status, live = client.send("/loadgate/live")

    assert (status, urllib.parse.urlsplit(location).path) == (302, "/")
    assert live_status == 200
    assert '"scenario": "demo"' in live
    assert client.send("/")[0] == 200
    assert PASSWORD not in protected_ui.log.read_text(errors="replace")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        pytest.param(
            ["--web-host", "0.0.0.0"],
            {},
            "error: --web-host: '0.0.0.0' lets other machines reach the web UI, which "
            "starts load; add --web-login (password in LOADGATE_UI_PASSWORD) or keep "
            "127.0.0.1\n",
            id="beyond-localhost-without-login",
        ),
        pytest.param(
            ["--web-login"],
            {"LOADGATE_UI_PASSWORD": ""},
            "error: --web-login: set LOADGATE_UI_PASSWORD to the web UI's password\n",
            id="login-without-password",
        ),
        pytest.param(
            ["--locust-arg=--web-host=0.0.0.0"],
            {},
            "error: --locust-arg: '--web-host=0.0.0.0' is not allowed; loadgate ui "
            "sets --web-host itself: use its own option of that name\n",
            id="web-host-through-locust-arg",
        ),
    ],
)
def test_loadgate_ui_refuses_an_unprotected_or_passwordless_ui(
    args: list[str], env: dict[str, str], message: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadgate", "ui", "--state-dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )

    assert (done.returncode, done.stderr) == (2, message)
    assert list(tmp_path.iterdir()) == []  # no sandbox was started

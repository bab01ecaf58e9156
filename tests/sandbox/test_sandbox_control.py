"""The control port of a running sandbox: knobs, schedules, outages and the client."""

from __future__ import annotations

import http.client
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sandbox_helpers import Api, poll, raw_get

import sandbox
from loadgate.errors import SandboxError
from sandbox import RequestRecord, SandboxControl, SandboxState
from sandbox._procs import free_port


def test_knob_changes_on_either_port_show_on_both(
    ctl: SandboxControl, api: Api, control_api: Api
) -> None:
    ctl.set_knobs({"latency_ms": {"get_me": 15}})
    api.post("/_sandbox/knobs", {"error_rate": {"health": 0.5}})

    on_control = control_api.get("/_sandbox/knobs").body
    on_api = api.get("/_sandbox/knobs").body

    assert on_control == on_api == ctl.knobs()
    assert on_control["latency_ms"]["get_me"] == 15
    assert on_control["error_rate"]["health"] == 0.5


def test_control_port_serves_no_chat_routes(control_api: Api) -> None:
    ready = control_api.get("/_sandbox/ready")
    health = control_api.get("/health")

    assert (ready.status, ready.body) == (200, {"status": "ok", "api": "up"})
    assert (health.status, health.body) == (404, {"error": "not found: GET /health"})


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        pytest.param(
            "/_sandbox/knobs",
            {"faults": {"get_me": {"rate": 1, "kind": "boom"}}},
            "faults['get_me'].kind: 'boom' is not a fault kind; "
            "expected one of status, reset, timeout, echo_auth",
            id="knobs",
        ),
        pytest.param(
            "/_sandbox/schedule",
            {"steps": [{"after_s": 1}]},
            "steps[0]: nothing to do; give 'knobs' and/or 'outage'",
            id="schedule-step",
        ),
        pytest.param(
            "/_sandbox/schedule",
            [],
            "a schedule must be a JSON object with only 'steps', a list of steps such "
            'as {"after_s": 15, "knobs": {"latency_ms": {"list_rooms": 400}}}',
            id="schedule-body",
        ),
        pytest.param(
            "/_sandbox/outage",
            {"seconds": "long"},
            "seconds: 'long' is not a number",
            id="outage",
        ),
    ],
)
def test_control_port_refuses_bad_bodies_with_400_json(
    ctl: SandboxControl, control_api: Api, path: str, body: object, message: str
) -> None:
    before = ctl.knobs()

    reply = control_api.post(path, body)

    assert reply.status == 400
    assert reply.body == {"error": message}
    assert ctl.knobs() == before
    assert ctl.pending()["pending"] == []
    assert ctl.outage_status()["down"] is False


def test_client_raises_the_sandbox_message(ctl: SandboxControl) -> None:
    with pytest.raises(SandboxError) as caught:
        ctl.set_knobs({"latency_ms": {"get_me": {"dist": "lognormal", "sigma": 1}}})

    assert str(caught.value) == "latency_ms['get_me']: missing field 'median_ms'"


def test_client_reports_an_unreachable_control_port() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(SandboxError) as caught:
        SandboxControl(url, timeout=2).knobs()

    assert str(caught.value).startswith(
        f"cannot reach the sandbox control port at {url}: "
    )
    assert str(caught.value).endswith("; check it with `python -m sandbox status`")


def test_client_refuses_a_control_url_that_is_not_local() -> None:
    with pytest.raises(SandboxError) as caught:
        SandboxControl("http://10.0.0.5:8080")

    assert str(caught.value) == (
        "control_url must be http://127.0.0.1:PORT or http://localhost:PORT, "
        "got 'http://10.0.0.5:8080'"
    )


def test_client_from_a_state_directory(
    sandbox_state: SandboxState, sandbox_dir: Path
) -> None:
    assert sandbox.control(sandbox_dir).url == sandbox_state.control_url


def test_schedule_applies_due_steps_at_once_and_later_ones_on_time(
    ctl: SandboxControl,
) -> None:
    steps = [
        {"after_s": 0, "knobs": {"latency_ms": {"health": 50}}},
        {"after_s": 0.5, "knobs": {"latency_ms": {"health": 300}}},
        {"after_s": 3600, "knobs": {"seed": 1}},
    ]

    view = ctl.schedule(steps)
    at_once = ctl.knobs()["latency_ms"]["health"]
    poll(lambda: ctl.knobs()["latency_ms"]["health"] == 300 or None)
    applied_at = time.time()
    later = ctl.pending()

    assert view["applied"] == 1
    assert [p["step"] for p in view["pending"]] == steps[1:]
    posted = view["posted_at"]
    assert posted is not None
    assert [p["due"] for p in view["pending"]] == [posted + 0.5, posted + 3600]
    assert at_once == 50
    assert applied_at >= posted + 0.5
    assert later["applied"] == 2
    assert [p["step"] for p in later["pending"]] == steps[2:]


def test_a_new_schedule_replaces_the_old_one(ctl: SandboxControl) -> None:
    old = [{"after_s": 0.3, "knobs": {"latency_ms": {"get_me": 300}}}]
    new = [{"after_s": 0.6, "knobs": {"latency_ms": {"health": 20}}}]

    ctl.schedule(old)
    replaced = ctl.schedule(new)
    poll(lambda: ctl.knobs()["latency_ms"]["health"] == 20 or None)

    assert [p["step"] for p in replaced["pending"]] == new
    # The old step was due first: had it survived, it would have run by now.
    assert ctl.knobs()["latency_ms"]["get_me"] == 0
    assert ctl.pending() == {
        "posted_at": replaced["posted_at"],
        "applied": 1,
        "pending": [],
    }


def test_schedule_takes_absolute_times(ctl: SandboxControl) -> None:
    now = time.time()
    past = {"at": now - 60, "knobs": {"latency_ms": {"get_me": 5}}}
    soon = {"at": now + 0.3, "knobs": {"latency_ms": {"get_me": 25}}}

    view = ctl.schedule([soon, past])
    poll(lambda: ctl.knobs()["latency_ms"]["get_me"] == 25 or None)

    assert view["applied"] == 1
    assert view["pending"] == [{"due": soon["at"], "step": soon}]
    assert time.time() >= soon["at"]


def test_an_empty_schedule_cancels(ctl: SandboxControl) -> None:
    ctl.schedule([{"after_s": 3600, "outage": {"seconds": 1}}])

    view = ctl.schedule([])

    assert (view["applied"], view["pending"]) == (0, [])


def test_outage_refuses_connections_then_serves_again(
    ctl: SandboxControl,
    api: Api,
    control_api: Api,
    sandbox_state: SandboxState,
    sandbox_dir: Path,
) -> None:
    parts = urllib.parse.urlsplit(sandbox_state.api_url)
    kept = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    kept.request("GET", "/health")
    assert kept.getresponse().read() == b'{"status":"ok"}\n'
    started = time.monotonic()
    posted = time.time()

    status = ctl.outage(1.5)
    refused = raw_get(sandbox_state.api_url, "/health")
    ready = control_api.get("/_sandbox/ready").body
    with pytest.raises((OSError, http.client.HTTPException)):
        kept.request("GET", "/health")
        kept.getresponse()
    kept.close()
    checked = sandbox.status(sandbox_dir)
    back = poll(lambda: raw_get(sandbox_state.api_url, "/health").status)

    assert status["down"] is True
    assert status["until"] is not None
    assert posted + 1.5 <= status["until"] <= posted + 3
    assert isinstance(refused.error, ConnectionRefusedError)
    assert ready == {"status": "ok", "api": "down"}
    assert checked == sandbox_state
    assert back == 200
    assert time.monotonic() - started >= 1.5
    assert ctl.outage_status() == {"down": False, "until": None, "reopen_error": None}
    assert api.get("/health").status == 200


def test_an_answer_held_through_an_outage_is_logged_as_never_sent(
    ctl: SandboxControl, sandbox_state: SandboxState
) -> None:
    ctl.set_knobs({"latency_ms": {"health": 800}})
    sent = time.time()
    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(raw_get, sandbox_state.api_url, "/health")
        time.sleep(0.2)
        ctl.outage(0.3)
        outcome = held.result(timeout=10)

    def logged() -> list[RequestRecord]:
        return [
            record
            for record in sandbox.read_request_log(sandbox_state.request_log)
            if record["path"] == "/health" and record["ts"] >= sent
        ]

    (record,) = poll(lambda: logged() or None)
    assert outcome.status is None
    assert isinstance(outcome.error, (ConnectionError, http.client.HTTPException))
    assert record["status"] == 0
    assert record["duration_ms"] >= 800
    assert poll(lambda: raw_get(sandbox_state.api_url, "/health").status) == 200


def test_outage_of_zero_seconds_ends_one_early(ctl: SandboxControl, api: Api) -> None:
    ctl.outage(600)

    ended = ctl.outage(0)

    assert ended == {"down": False, "until": None, "reopen_error": None}
    assert api.get("/health").status == 200


def test_schedule_step_takes_the_api_down_for_a_window(
    ctl: SandboxControl, sandbox_state: SandboxState
) -> None:
    ctl.schedule([{"after_s": 0.2, "outage": {"seconds": 1.0}}])

    down = poll(lambda: ctl.outage_status()["down"] or None)
    refused = raw_get(sandbox_state.api_url, "/health")
    up = poll(lambda: not ctl.outage_status()["down"] or None)

    assert down is True
    assert isinstance(refused.error, ConnectionRefusedError)
    assert up is True
    assert raw_get(sandbox_state.api_url, "/health").status == 200
    assert ctl.pending()["applied"] == 1

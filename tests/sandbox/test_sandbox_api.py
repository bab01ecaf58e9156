"""The chat API of a running sandbox, spoken to over real HTTP with real tokens."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox_helpers import ZERO_KNOBS, ZERO_TABLE, Api, sign_in

from sandbox import SandboxState, read_request_log
from sandbox._cognito import cognito_client

API_ROUTES = [
    pytest.param("GET", "/api/v1/rooms", id="list_rooms"),
    pytest.param("GET", "/api/v1/users/me", id="get_me"),
    pytest.param("GET", "/api/v1/rooms/general/messages", id="list_messages"),
    pytest.param("POST", "/api/v1/rooms/general/messages", id="post_message"),
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _garbage(token: str) -> str:
    return "not-a-jwt"


def _flip_signature(token: str) -> str:
    head, payload, signature = token.split(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return ".".join(
        [head, payload, signature[:middle] + swapped + signature[middle + 1 :]]
    )


def _other_user_in_payload(token: str) -> str:
    head, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload))
    claims["cognito:username"] = "loadtest-user-0001"
    return ".".join([head, _b64(json.dumps(claims).encode()), signature])


def _unsigned(token: str) -> str:
    _, payload, _ = token.split(".")
    return ".".join([_b64(b'{"alg":"none","typ":"JWT"}'), payload, ""])


def _forged_key(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


def test_health_needs_no_token(api: Api) -> None:
    reply = api.get("/health")

    assert reply.status == 200
    assert reply.body == {"status": "ok"}


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
def test_api_routes_refuse_a_request_without_token(
    api: Api, method: str, path: str
) -> None:
    reply = api.call(method, path, body={"text": "hi"} if method == "POST" else None)

    assert reply.status == 401
    assert reply.body == {
        "error": "missing Authorization header; expected 'Bearer <token>'"
    }
    assert reply.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        pytest.param(_garbage, "token is malformed", id="garbage"),
        pytest.param(_flip_signature, "token signature is invalid", id="signature"),
        pytest.param(
            _other_user_in_payload, "token signature is invalid", id="payload"
        ),
        pytest.param(
            _unsigned, "token is not signed by a key of this pool", id="alg-none"
        ),
        pytest.param(_forged_key, "token signature is invalid", id="forged-key"),
    ],
)
def test_api_refuses_a_bad_token_without_echoing_it(
    api: Api,
    tokens: dict[str, str],
    tamper: Callable[[str], str],
    message: str,
) -> None:
    bad = tamper(tokens["id"])

    reply = api.get("/api/v1/users/me", token=bad)

    assert reply.status == 401
    assert reply.body == {"error": message}
    assert bad not in json.dumps(reply.body)


def test_api_refuses_a_credential_that_is_not_bearer(api: Api) -> None:
    reply = api.get("/api/v1/rooms", authorization="Basic dXNlcjpwYXNz")

    assert reply.status == 401
    assert reply.body == {"error": "Authorization header is not 'Bearer <token>'"}


@pytest.mark.parametrize("token_use", ["id", "access"])
@pytest.mark.parametrize(("method", "path"), API_ROUTES)
def test_api_routes_accept_id_and_access_tokens(
    api: Api, tokens: dict[str, str], token_use: str, method: str, path: str
) -> None:
    body = {"text": f"hello with an {token_use} token"} if method == "POST" else None

    reply = api.call(method, path, token=tokens[token_use], body=body)

    assert reply.status == (201 if method == "POST" else 200)


@pytest.mark.parametrize("token_use", ["id", "access"])
def test_get_me_names_the_signed_in_user(
    api: Api, sandbox_state: SandboxState, tokens: dict[str, str], token_use: str
) -> None:
    reply = api.get("/api/v1/users/me", token=tokens[token_use])

    claims = jwt.decode(tokens[token_use], options={"verify_signature": False})
    assert reply.body == {
        "username": sandbox_state.usernames[0],
        "sub": claims["sub"],
        "token_use": token_use,
    }


def test_list_rooms_returns_the_five_seeded_rooms(
    api: Api, tokens: dict[str, str]
) -> None:
    reply = api.get("/api/v1/rooms", token=tokens["id"])

    assert reply.status == 200
    assert sorted(room["id"] for room in reply.body["rooms"]) == [
        "engineering",
        "general",
        "load-test",
        "random",
        "support",
    ]
    assert all(set(room) == {"id", "name"} for room in reply.body["rooms"])


@pytest.mark.parametrize("token_use", ["id", "access"])
def test_token_of_another_app_client_is_refused(
    api: Api, sandbox_state: SandboxState, token_use: str
) -> None:
    client = cognito_client(sandbox_state.cognito_endpoint)
    try:
        other = client.create_user_pool_client(
            UserPoolId=sandbox_state.user_pool_id,
            ClientName=f"other-{token_use}",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"],
        )["UserPoolClient"]["ClientId"]
    finally:
        client.close()
    result = sign_in(sandbox_state, sandbox_state.usernames[2], client_id=other)
    token = result["IdToken" if token_use == "id" else "AccessToken"]

    reply = api.get("/api/v1/rooms", token=token)

    assert reply.status == 401
    assert reply.body == {"error": "token was issued to another app client"}


def test_posted_message_is_listed_and_stored(
    api: Api, sandbox_state: SandboxState, sandbox_dir: Path, tokens: dict[str, str]
) -> None:
    text = f"round trip {uuid.uuid4()}"

    posted = api.post(
        "/api/v1/rooms/random/messages", {"text": text}, token=tokens["id"]
    )
    listed = api.get("/api/v1/rooms/random/messages", token=tokens["access"])

    assert posted.status == 201
    assert posted.body["text"] == text
    assert posted.body["author"] == sandbox_state.usernames[0]
    assert posted.body["room_id"] == "random"
    assert listed.body["messages"][-1] == posted.body
    with sqlite3.connect(sandbox_dir / "chat.sqlite3") as db:
        rows = db.execute("SELECT id FROM messages WHERE text = ?", (text,)).fetchall()
    assert rows == [(posted.body["id"],)]


def test_list_messages_returns_the_latest_fifty_oldest_first(
    api: Api, tokens: dict[str, str]
) -> None:
    texts = [f"burst {index}" for index in range(55)]
    for text in texts:
        api.post("/api/v1/rooms/load-test/messages", {"text": text}, token=tokens["id"])

    reply = api.get("/api/v1/rooms/load-test/messages", token=tokens["id"])

    assert [message["text"] for message in reply.body["messages"]] == texts[-50:]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_room_is_a_json_404(
    api: Api, tokens: dict[str, str], method: str
) -> None:
    reply = api.call(
        method, "/api/v1/rooms/attic/messages", token=tokens["id"], body={"text": "x"}
    )

    assert reply.status == 404
    assert reply.body == {"error": "unknown room 'attic'"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-text"),
        pytest.param({"text": "   "}, id="blank"),
        pytest.param({"text": 42}, id="not-a-string"),
        pytest.param(["text"], id="not-an-object"),
    ],
)
def test_post_message_refuses_a_bad_body(
    api: Api, tokens: dict[str, str], body: object
) -> None:
    reply = api.post("/api/v1/rooms/general/messages", body, token=tokens["id"])

    assert reply.status == 400
    assert reply.body == {"error": "body must be a JSON object with a non-empty 'text'"}


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/nowhere", 404, "not found: GET /nowhere"),
        ("DELETE", "/health", 405, "method not allowed: DELETE /health"),
    ],
)
def test_http_errors_are_json(
    api: Api, method: str, path: str, status: int, message: str
) -> None:
    reply = api.call(method, path)

    assert reply.status == status
    assert reply.body == {"error": message}


def test_latency_knob_delays_the_endpoint(knobs: Api, tokens: dict[str, str]) -> None:
    knobs.post("/_sandbox/knobs", {"latency_ms": {"list_rooms": 250}})

    slow = knobs.get("/api/v1/rooms", token=tokens["id"])
    other = knobs.get("/api/v1/users/me", token=tokens["id"])

    assert slow.status == 200
    assert slow.elapsed >= 0.25
    assert other.elapsed < 0.25


def test_latency_knob_does_not_block_other_requests(knobs: Api) -> None:
    knobs.post("/_sandbox/knobs", {"latency_ms": {"health": 400}})

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda _: knobs.get("/health"), range(6)))
    elapsed = time.perf_counter() - started

    assert all(reply.elapsed >= 0.4 for reply in replies)
    # Six delays served one after another would take 2.4 s.
    assert elapsed < 1.2


@pytest.mark.parametrize(("rate", "status"), [(1.0, 500), (0.0, 200)])
def test_error_knob_sets_the_share_of_500s(
    knobs: Api, tokens: dict[str, str], rate: float, status: int
) -> None:
    knobs.post("/_sandbox/knobs", {"error_rate": {"get_me": rate}})

    replies = [knobs.get("/api/v1/users/me", token=tokens["id"]) for _ in range(5)]

    assert [reply.status for reply in replies] == [status] * 5
    if status == 500:
        assert replies[0].body == {"error": "injected error on get_me"}


def test_knobs_are_merged_at_runtime_and_readable(knobs: Api) -> None:
    first = knobs.post("/_sandbox/knobs", {"latency_ms": {"get_me": 10}})
    second = knobs.post("/_sandbox/knobs", {"error_rate": {"post_message": 0.25}})
    read = knobs.get("/_sandbox/knobs")

    assert first.status == second.status == 200
    assert read.body == second.body
    assert read.body["latency_ms"] == {**ZERO_KNOBS["latency_ms"], "get_me": 10}
    assert read.body["error_rate"] == {**ZERO_KNOBS["error_rate"], "post_message": 0.25}


KNOB_KEYS = "health, list_rooms, get_me, list_messages, post_message"
KNOB_FIELDS = "'latency_ms', 'error_rate', 'faults', 'cognito_quota_per_s', 'seed'"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"latency_ms": {"foo": 1}},
            f"latency_ms['foo']: unknown endpoint key 'foo'; expected one of {KNOB_KEYS}",
            id="unknown-key",
        ),
        pytest.param(
            {"latency_ms": {"get_me": -1}},
            "latency_ms['get_me']: -1 is out of range; "
            "expected milliseconds from 0 to 60000",
            id="negative-latency",
        ),
        pytest.param(
            {"error_rate": {"get_me": 1.5}},
            "error_rate['get_me']: 1.5 is out of range; expected a fraction from 0 to 1",
            id="rate-above-one",
        ),
        pytest.param(
            {"latency_ms": {"get_me": "slow"}},
            "latency_ms['get_me']: 'slow' is not a number",
            id="not-a-number",
        ),
        pytest.param(
            {"error_rate": {"get_me": True}},
            "error_rate['get_me']: True is not a number",
            id="boolean",
        ),
        pytest.param(
            {"latency": {}},
            f"unknown field 'latency'; expected any of {KNOB_FIELDS}",
            id="unknown-field",
        ),
        pytest.param(
            {"error_rate": 0.5},
            "'error_rate' must be an object of endpoint keys to numbers",
            id="section-not-object",
        ),
        pytest.param(
            [],
            f"body must be a JSON object with any of {KNOB_FIELDS}",
            id="not-an-object",
        ),
    ],
)
def test_knob_update_refuses_bad_values(knobs: Api, body: object, message: str) -> None:
    reply = knobs.post("/_sandbox/knobs", body)

    assert reply.status == 400
    assert reply.body == {"error": message}


def test_knob_update_is_all_or_nothing(knobs: Api) -> None:
    body = {"latency_ms": {"get_me": 10}, "error_rate": {"get_me": 2}}

    reply = knobs.post("/_sandbox/knobs", body)

    assert reply.status == 400
    assert knobs.get("/_sandbox/knobs").body == ZERO_TABLE


def test_request_log_has_one_line_per_request(
    api: Api, sandbox_state: SandboxState, tokens: dict[str, str]
) -> None:
    before = len(read_request_log(sandbox_state.request_log))
    started = time.time()

    api.get("/health")
    api.get("/api/v1/rooms", token=tokens["id"])
    api.get("/_sandbox/knobs")
    api.get("/api/v1/users/me", token="forged.token.value")
    api.post(
        "/api/v1/rooms/general/messages", {"text": "log me"}, token=tokens["access"]
    )
    api.get("/no/such/path")
    finished = time.time()

    records = read_request_log(sandbox_state.request_log)[before:]
    assert [(r["method"], r["endpoint"], r["path"], r["status"]) for r in records] == [
        ("GET", "health", "/health", 200),
        ("GET", "list_rooms", "/api/v1/rooms", 200),
        ("GET", "get_me", "/api/v1/users/me", 401),
        ("POST", "post_message", "/api/v1/rooms/general/messages", 201),
        ("GET", None, "/no/such/path", 404),
    ]
    for record in records:
        assert set(record) == {
            "ts",
            "method",
            "endpoint",
            "path",
            "status",
            "duration_ms",
        }
        assert started <= record["ts"] <= finished
        assert 0 <= record["duration_ms"] <= (finished - started) * 1000


def test_request_log_holds_no_token(
    api: Api, sandbox_state: SandboxState, tokens: dict[str, str]
) -> None:
    api.get("/api/v1/rooms", token=tokens["id"])
    api.get("/api/v1/rooms", token=tokens["access"])

    text = sandbox_state.request_log.read_text()
    assert tokens["id"] not in text
    assert tokens["access"] not in text
    assert "Bearer" not in text

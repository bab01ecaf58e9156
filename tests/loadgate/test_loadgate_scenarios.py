"""The scenarios loader: the shipped file, interpolation, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from loadgate.errors import ConfigError
from loadgate.scenarios import (
    DEFAULT_SCENARIOS_PATH,
    TOTAL,
    Stage,
    Threshold,
    load_scenarios,
)

ENV = {"LOADGATE_TEST_PASSWORD": "Secret-1!", "LOADGATE_USER_POOL_ID": "pool-1"}


@pytest.fixture
def base() -> dict[str, object]:
    """The shipped scenarios file, parsed, for tests to break one key at a time."""
    loaded = yaml.safe_load(DEFAULT_SCENARIOS_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_shipped_file_has_the_seed_stages() -> None:
    staged = load_scenarios(env=ENV).scenario("staged")

    assert staged.stages == (
        Stage("Light", 10, 5, 60),
        Stage("Medium", 50, 10, 120),
        Stage("Heavy", 100, 20, 180),
        Stage("Peak", 200, 40, 300, rate_per_s=10000 / 60),
    )
    assert [t.label for t in staged.thresholds] == [
        "mean_ms < 500",
        "p95_ms < 1000",
        "availability_pct >= 99.9",
        "throughput_rpm >= 10000",
    ]


def test_demo_has_the_same_users_about_15_s_a_stage() -> None:
    scenarios = load_scenarios(env=ENV)
    demo = scenarios.scenario("demo")

    assert [s.users for s in demo.stages] == [10, 50, 100, 200]
    assert all(s.duration_s == 15 for s in demo.stages)


def test_environment_references_are_filled_in() -> None:
    scenarios = load_scenarios(env=ENV)

    assert scenarios.auth.users.password == "Secret-1!"
    assert scenarios.auth.user_pool_id == "pool-1"
    assert scenarios.auth.client_id == ""


def test_password_never_shows_in_repr() -> None:
    scenarios = load_scenarios(env=ENV)

    assert "Secret-1!" not in repr(scenarios)


def test_legacy_flow_name_is_an_alias(tmp_path: Path, base: dict[str, object]) -> None:
    base["auth"]["flow"] = "ADMIN_NO_SRP_AUTH"  # type: ignore[index]

    scenarios = load_scenarios(write(tmp_path, base), env=ENV)

    assert scenarios.auth.flow == "ADMIN_USER_PASSWORD_AUTH"


@pytest.mark.parametrize(
    ("op", "limit", "value", "expected"),
    [
        ("below", 500, 499.9, True),
        ("below", 500, 500, False),
        ("at_least", 99.9, 99.9, True),
        ("at_least", 99.9, 99.89, False),
    ],
    ids=["below-under", "below-equal", "at-least-equal", "at-least-under"],
)
def test_threshold_passes(op: str, limit: float, value: float, expected: bool) -> None:
    threshold = Threshold.from_dict({"metric": "mean_ms", "op": op, "limit": limit})

    assert threshold.passes(value) is expected


def test_threshold_scope() -> None:
    threshold = Threshold("p95_ms", "below", 1000, stages=("Peak",), endpoints=(TOTAL,))

    assert threshold.applies_to("Peak", TOTAL)
    assert not threshold.applies_to("Light", TOTAL)
    assert not threshold.applies_to("Peak", "get_me")


def scenario_stage(data: dict[str, object], index: int) -> dict[str, object]:
    stage = data["scenarios"]["demo"]["stages"][index]  # type: ignore[index]
    assert isinstance(stage, dict)
    return stage


def test_unknown_scenario_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        load_scenarios(env=ENV).scenario("dmeo")

    assert str(caught.value) == (
        "scenarios.yaml: scenarios: no scenario 'dmeo' (did you mean 'demo'?); "
        "known scenarios: capacity, demo, smoke, staged"
    )


def test_negative_users(tmp_path: Path, base: dict[str, object]) -> None:
    scenario_stage(base, 1)["users"] = -5

    with pytest.raises(ConfigError) as caught:
        load_scenarios(write(tmp_path, base), env=ENV)

    assert str(caught.value) == (
        "scenarios.yaml: scenarios.demo.stages[1].users: -5 is not allowed; "
        "expected a whole number >= 1"
    )


def test_unknown_metric(tmp_path: Path, base: dict[str, object]) -> None:
    base["thresholds"][1]["metric"] = "p95ms"  # type: ignore[index]

    with pytest.raises(ConfigError) as caught:
        load_scenarios(write(tmp_path, base), env=ENV)

    message = str(caught.value)
    assert message.startswith(
        "scenarios.yaml: thresholds[1].metric: 'p95ms' is not allowed; expected one of "
    )
    assert message.endswith("(did you mean 'p95_ms'?)")


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.yaml"
    path.write_text("version: 1\nscenarios:\n  demo: [unclosed\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_scenarios(path, env=ENV)

    assert str(caught.value).startswith(
        "scenarios.yaml:4:1: YAML syntax error in scenarios.demo: "
    )


def test_syntax_error_names_the_key_path_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.yaml"
    path.write_text(
        "scenarios:\n  demo:\n    stages:\n      - {name: Light, users: 1}\n"
        "      - {name: Peak, users: 2 duration: 5}\n",
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as caught:
        load_scenarios(path, env=ENV)

    assert str(caught.value) == (
        "scenarios.yaml:5:39: YAML syntax error in scenarios.demo.stages[1]: expected "
        "',' or '}', but got ':'; the line reads '- {name: Peak, users: 2 duration: 5}'"
    )


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.yaml"
    path.write_text(
        "scenarios:\n  demo: {}\n  smoke: {}\n  demo: {}\n", encoding="utf-8"
    )

    with pytest.raises(ConfigError) as caught:
        load_scenarios(path, env=ENV)

    assert str(caught.value) == (
        "scenarios.yaml:4: key 'demo' is given twice (first on line 2); expected each "
        "key once per mapping"
    )


def test_an_empty_file_says_what_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_scenarios(path, env=ENV)

    assert str(caught.value) == (
        "scenarios.yaml: the file is empty; expected the sections endpoints, "
        "thresholds and scenarios (see the shipped scenarios.yaml)"
    )


def test_ramp_longer_than_stage_is_refused(
    tmp_path: Path, base: dict[str, object]
) -> None:
    base["scenarios"]["demo"]["stages"] = [  # type: ignore[index]
        {"name": "Light", "users": 10, "spawn_rate": 10, "duration": 30},
        {"name": "Peak", "users": 200, "spawn_rate": 1, "duration": 30},
    ]

    with pytest.raises(ConfigError) as caught:
        load_scenarios(write(tmp_path, base), env=ENV)

    assert str(caught.value) == (
        "scenarios.yaml: scenarios.demo.stages[1]: ramp from 10 to 200 users at "
        "spawn_rate 1/s takes 190 s, longer than the stage's duration 30 s; raise "
        "spawn_rate to at least 6.33 or duration to at least 190"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["scenarios"]["demo"].update(stages=[]),
            "scenarios.demo.stages: [] is not allowed; expected a list of at least one "
            "stage",
        ),
        (
            lambda d: d["scenarios"]["demo"]["stages"][0].update(duration=0),
            "scenarios.demo.stages[0].duration: 0 is not allowed; expected a number > 0",
        ),
        (
            lambda d: d["scenarios"]["demo"]["stages"][0].update(users="many"),
            "scenarios.demo.stages[0].users: 'many' is not allowed; expected a number",
        ),
        (
            lambda d: d["scenarios"]["demo"].update(stagse=[]),
            "scenarios.demo: unknown key 'stagse' (did you mean 'stages'?); known keys: "
            "description, wait_time, stages, thresholds, min_samples, request_timeout",
        ),
        (
            lambda d: d["thresholds"].append(
                {"metric": "p95_ms", "below": 1, "endpoints": ["rooms"]}
            ),
            "thresholds[3].endpoints: 'rooms' is not allowed; expected 'total' or an "
            "endpoint: health, list_rooms, get_me, list_messages, post_message (did you "
            "mean 'list_rooms'?)",
        ),
        (
            lambda d: d["auth"].update(token="refresh"),
            "auth.token: 'refresh' is not allowed; expected 'id' or 'access'",
        ),
        (
            lambda d: d["scenarios"]["staged"]["thresholds"][0].update(stages=["Pek"]),
            "scenarios.staged.thresholds[0].stages: 'Pek' is not allowed; expected a "
            "stage of this scenario: Light, Medium, Heavy, Peak (did you mean 'Peak'?)",
        ),
    ],
    ids=[
        "empty-stages",
        "zero-duration",
        "users-not-a-number",
        "unknown-key",
        "unknown-endpoint",
        "bad-token-kind",
        "unknown-stage",
    ],
)
def test_bad_values_name_file_path_and_value(
    tmp_path: Path, base: dict[str, object], change: object, expected: str
) -> None:
    change(base)  # type: ignore[operator]

    with pytest.raises(ConfigError) as caught:
        load_scenarios(write(tmp_path, base), env=ENV)

    assert str(caught.value) == f"scenarios.yaml: {expected}"


def test_missing_environment_variable(tmp_path: Path, base: dict[str, object]) -> None:
    base["auth"]["client_id"] = "${NOT_SET_ANYWHERE}"  # type: ignore[index]

    with pytest.raises(ConfigError) as caught:
        load_scenarios(write(tmp_path, base), env=ENV)

    assert str(caught.value) == (
        "scenarios.yaml: auth.client_id: environment variable NOT_SET_ANYWHERE is not "
        "set (write ${NOT_SET_ANYWHERE:-default} to give a default)"
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_scenarios(tmp_path / "nope.yaml")

    assert str(caught.value) == (
        f"{tmp_path / 'nope.yaml'}: cannot read the scenarios file: No such file or "
        "directory"
    )

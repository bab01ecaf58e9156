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
        Stage("Peak", 200, 40, 300, rate_per_s=10500 / 60),
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


def test_an_integer_too_long_to_read_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.yaml"
    path.write_text("min_samples: " + "9" * 5000 + "\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_scenarios(path, env=ENV)

    assert str(caught.value).startswith(
        "scenarios.yaml: a value cannot be read: Exceeds the limit (4300 digits)"
    )


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


def put(data: object, path: tuple[str | int, ...], value: object) -> None:
    """Set the value at a key path of parsed YAML, in place."""
    *parents, last = path
    for key in parents:
        data = data[key]  # type: ignore[index]
    data[last] = value  # type: ignore[index]


def key_path(path: tuple[str | int, ...]) -> str:
    """The key path as messages write it, e.g. ``scenarios.demo.stages[0].users``."""
    return "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path)[1:]


NAN, INF = float("nan"), float("inf")
DEMO = ("scenarios", "demo")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("min_samples",), NAN),
        ((*DEMO, "min_samples"), INF),
        ((*DEMO, "stages", 0, "users"), INF),
        ((*DEMO, "stages", 0, "users"), -INF),
        ((*DEMO, "stages", 0, "spawn_rate"), NAN),
        ((*DEMO, "stages", 0, "duration"), NAN),
        ((*DEMO, "stages", 0, "rate"), NAN),
        ((*DEMO, "stages", 0, "rate"), "1e400/min"),
        ((*DEMO, "wait_time", "min"), NAN),
        ((*DEMO, "wait_time", "max"), INF),
        ((*DEMO, "request_timeout"), NAN),
        (("thresholds", 0, "below"), NAN),
        (("thresholds", 2, "at_least"), NAN),
        (("endpoints", "health", "weight"), NAN),
        (("endpoints", "health", "apdex_t_ms"), INF),
        (("auth", "sign_in_rate"), NAN),
        (("auth", "refresh_fraction"), NAN),
        (("auth", "max_attempts"), INF),
        (("auth", "users", "count"), NAN),
        (("limits", "max_users"), INF),
        (("limits", "max_duration"), NAN),
        (("target_profile", "api_gateway", "rate_rps"), NAN),
        (("target_profile", "waf", "window_s"), INF),
        (("target_profile", "generator_ips"), INF),
    ],
    ids=lambda param: key_path(param) if isinstance(param, tuple) else repr(param),
)
def test_every_number_must_be_finite(
    tmp_path: Path, base: dict[str, object], path: tuple[str | int, ...], value: object
) -> None:
    """NaN and infinities, written ``.nan``, ``.inf`` and ``-.inf`` in the YAML."""
    put(base, path, value)

    with pytest.raises(ConfigError) as caught:
        load_scenarios(write(tmp_path, base), env=ENV)

    assert str(caught.value) == (
        f"scenarios.yaml: {key_path(path)}: {value!r} is not allowed; expected a "
        "finite number"
    )


@pytest.mark.parametrize(
    ("smoke_dur", "expected"),
    [
        (
            "nan",
            "'nan' (from '${SMOKE_DUR:-5}') is not allowed; expected a finite number",
        ),
        (
            "-inf",
            "'-inf' (from '${SMOKE_DUR:-5}') is not allowed; expected a finite number",
        ),
        ("0", "'0' (from '${SMOKE_DUR:-5}') is not allowed; expected a number > 0"),
        # Text that is no number could be a secret set in the wrong variable.
        ("abc", "'${SMOKE_DUR:-5}' is not allowed; expected a number"),
    ],
    ids=["nan", "minus-inf", "zero", "not-a-number-keeps-the-template"],
)
def test_a_refused_environment_value_is_shown_with_its_template(
    tmp_path: Path, base: dict[str, object], smoke_dur: str, expected: str
) -> None:
    put(base, ("scenarios", "smoke", "stages", 0, "duration"), "${SMOKE_DUR:-5}")

    with pytest.raises(ConfigError) as caught:
        load_scenarios(write(tmp_path, base), env={**ENV, "SMOKE_DUR": smoke_dur})

    assert str(caught.value) == (
        f"scenarios.yaml: scenarios.smoke.stages[0].duration: {expected}"
    )


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (
            {"metric": "p95_ms", "below": 900, "stages": ["Peek"]},
            "thresholds[3].stages: 'Peek' is not allowed; expected a stage of at least "
            "one scenario: Light, Medium, Heavy, Peak (did you mean 'Peak'?)",
        ),
        (
            {"metric": "availability_pct", "at_least": 150},
            "thresholds[3].at_least: 150 is not allowed; expected a percentage >= 0 and "
            "<= 100",
        ),
        (
            {"metric": "error_rate_pct", "below": -1},
            "thresholds[3].below: -1 is not allowed; expected a percentage > 0 and <= "
            "100",
        ),
        (
            {"metric": "error_rate_pct", "below": 0},
            "thresholds[3].below: 0 is not allowed; expected a percentage > 0 and <= 100",
        ),
        (
            {"metric": "p99_ms", "below": -5},
            "thresholds[3].below: -5 is not allowed; expected a number > 0",
        ),
        (
            {"metric": "throughput_rps", "at_least": -1},
            "thresholds[3].at_least: -1 is not allowed; expected a number >= 0",
        ),
        (
            {"metric": "p95_ms", "below": 900, "endpoints": []},
            "thresholds[3].endpoints: [] is not allowed; expected at least one name; "
            "omit the key to mean every endpoint and the total",
        ),
        (
            {"metric": "p95_ms", "below": 900, "stages": []},
            "thresholds[3].stages: [] is not allowed; expected at least one name; omit "
            "the key to mean every stage",
        ),
        (
            {"metric": "p95_ms", "below": 900, "stages": None},
            "thresholds[3].stages: None is not allowed; expected at least one name; "
            "omit the key to mean every stage",
        ),
    ],
    ids=[
        "common-unknown-stage",
        "percentage-above-100",
        "negative-percentage",
        "below-zero-never-passes",
        "negative-latency",
        "negative-throughput",
        "empty-endpoints",
        "empty-stages",
        "null-stages",
    ],
)
def test_bad_common_thresholds(
    tmp_path: Path,
    base: dict[str, object],
    threshold: dict[str, object],
    expected: str,
) -> None:
    base["thresholds"].append(threshold)  # type: ignore[attr-defined]

    with pytest.raises(ConfigError) as caught:
        load_scenarios(write(tmp_path, base), env=ENV)

    assert str(caught.value) == f"scenarios.yaml: {expected}"


def test_threshold_limits_at_the_edges_and_stages_of_one_scenario_are_accepted(
    tmp_path: Path, base: dict[str, object]
) -> None:
    base["thresholds"] += [  # type: ignore[operator]
        {"metric": "availability_pct", "at_least": 100},
        {"metric": "error_rate_pct", "below": 100, "stages": ["Medium"]},
        {"metric": "throughput_rps", "at_least": 0, "endpoints": [TOTAL]},
    ]

    smoke = load_scenarios(write(tmp_path, base), env=ENV).scenario("smoke")

    assert [t.label for t in smoke.thresholds][-3:] == [
        "availability_pct >= 100",
        "error_rate_pct < 100",
        "throughput_rps >= 0",
    ]

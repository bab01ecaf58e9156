"""Fuzzing: any scenarios file or CSV gives a result or a loadgate error, nothing else.

Hypothesis runs with a fixed seed and a bounded number of examples, so the suite stays
deterministic and quick.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import reporting
from loadgate.errors import ConfigError, InputDataError
from loadgate.scenarios import DEFAULT_SCENARIOS_PATH, load_scenarios

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
SHIPPED = yaml.safe_load(DEFAULT_SCENARIOS_PATH.read_text(encoding="utf-8"))
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "locust-csv-corpus"
ENV = {"LOADGATE_TEST_PASSWORD": "fuzz", "LOADGATE_USER_POOL_ID": "pool"}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=12), inner, max_size=4),
    ),
    max_leaves=12,
)


def paths_of(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a parsed YAML document."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths_of(value, (*prefix, index))
    return found


PATHS = [path for path in paths_of(SHIPPED) if path]


def replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``data`` with the value at ``path`` replaced."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: replaced(data[head], rest, value)}
    copy = list(data)
    copy[head] = replaced(copy[head], rest, value)
    return copy


def load_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scenarios.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_scenarios(path, env=ENV)
        except ConfigError:
            pass


@seed(20261203)
@FUZZ
@given(st.text(max_size=300))
def test_any_text_loads_or_is_a_config_error(text: str) -> None:
    load_text(text)


@seed(20261203)
@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_load_or_are_a_config_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scenarios.yaml"
        path.write_bytes(raw)
        try:
            load_scenarios(path, env=ENV)
        except ConfigError:
            pass


@seed(20261203)
@FUZZ
@given(st.sampled_from(PATHS), values)
def test_any_value_anywhere_loads_or_is_a_config_error(
    path: tuple[Any, ...], value: Any
) -> None:
    load_text(yaml.safe_dump(replaced(SHIPPED, path, value), sort_keys=False))


@seed(20261203)
@FUZZ
@given(st.sampled_from(sorted(CORPUS.glob("*_stats.csv"))), st.data())
def test_damaged_stats_csv_reads_or_is_an_input_error(
    source: Path, data: st.DataObject
) -> None:
    raw = source.read_bytes()
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)), label="cut")
    noise = data.draw(st.binary(max_size=40), label="noise")
    where = data.draw(st.integers(min_value=0, max_value=cut), label="where")
    damaged = raw[:where] + noise + raw[where:cut]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run_stats.csv"
        path.write_bytes(damaged)
        try:
            reporting.read_stats(path)
        except InputDataError:
            pass


@seed(20261203)
@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_as_history_read_or_are_an_input_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run_stats_history.csv"
        path.write_bytes(raw)
        try:
            reporting.read_stats_history(path)
        except InputDataError:
            pass

"""Per-stage statistics and run facts, collected through Locust's own events.

Attribution rule: a request belongs to the stage that was in force when the request was
*sent* (its ``start_time``), i.e. the last stage the load shape announced before that
moment. Requests sent before the first stage (during start-up) count towards the first
stage. Each stage keeps one :class:`locust.stats.RequestStats`, so its percentiles use
Locust's own response-time buckets.

In a distributed run the shape ticks on the master, which tells every worker when a
stage starts (message ``loadgate_stage``); each worker attributes its requests itself and
ships its per-stage entries with Locust's regular worker report, where the master merges
them exactly as Locust merges its own stats. Only the master (or a local runner) writes
files: ``<prefix>_stages.csv`` and ``run.json`` beside Locust's CSVs.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import locust
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import RequestStats, StatsEntry

import loadgate
from loadgate.scenarios import AUTH_REQUEST_TYPE, TOTAL, Scenario
from locustfiles._fleet import FleetMonitor

__all__ = ["AUTH_REQUEST_TYPE", "STAGES_COLUMNS", "StageRecorder", "StageWindow"]

logger = logging.getLogger(__name__)

STAGES_COLUMNS = (
    "stage_index",
    "stage",
    "stage_start",
    "stage_end",
    "endpoint",
    "method",
    "name",
    "requests",
    "failures",
    "min_ms",
    "mean_ms",
    "max_ms",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "throughput_rps",
    "users",
    "target_rps",
    "late_sends",
    "co_p50_ms",
    "co_p95_ms",
    "co_p99_ms",
)
_PERCENTILES = (("p50_ms", 0.5), ("p90_ms", 0.9), ("p95_ms", 0.95), ("p99_ms", 0.99))
_STAGE_MESSAGE = "loadgate_stage"
_FATAL_MESSAGE = "loadgate_fatal"
_REPORT_KEY = "loadgate_stages"


@dataclass
class StageWindow:
    """When one stage of the scenario actually ran.

    Attributes:
        index: Position of the stage in the scenario.
        start: Epoch seconds when the shape announced the stage, or None if never.
        end: Epoch seconds when the next stage began or the test stopped.
    """

    index: int
    start: float | None = None
    end: float | None = None


@dataclass
class StageRecorder:
    """Collects per-stage stats in one Locust process and writes them on the master.

    Args:
        environment: The Locust environment of this process.
        scenario: The scenario being run.
        clock: Wall clock (epoch seconds), injectable for tests.
    """

    environment: Environment
    scenario: Scenario
    clock: Any = time.time
    windows: list[StageWindow] = field(init=False)
    stats: dict[int, RequestStats] = field(init=False)
    corrected: dict[int, RequestStats] = field(init=False)
    late_sends: dict[int, int] = field(init=False)
    fatal_error: str | None = None
    fleet: FleetMonitor | None = None
    started_at: float | None = None
    ended_at: float | None = None
    finished: bool = False
    _starts: list[float] = field(init=False, default_factory=list)
    _opened: list[int] = field(init=False, default_factory=list)
    _endpoint_keys: dict[tuple[str, str], str] = field(init=False)

    def __post_init__(self) -> None:
        self.windows = [StageWindow(i) for i in range(len(self.scenario.stages))]
        indices = range(len(self.windows))
        self.stats = {i: RequestStats(use_response_times_cache=False) for i in indices}
        self.corrected = {
            i: RequestStats(use_response_times_cache=False) for i in indices
        }
        self.late_sends = dict.fromkeys(indices, 0)
        self._endpoint_keys = {
            (endpoint.method, endpoint.path): key
            for key, endpoint in self.scenario.endpoints.items()
        }

    def attach(self) -> None:
        """Subscribe to the Locust events this recorder needs."""
        events = self.environment.events
        events.request.add_listener(self.on_request)
        events.test_start.add_listener(self._on_test_start)
        events.report_to_master.add_listener(self._on_report_to_master)
        events.worker_report.add_listener(self._on_worker_report)
        events.quit.add_listener(self._on_quit)
        runner = self.environment.runner
        if isinstance(runner, WorkerRunner):
            runner.register_message(_STAGE_MESSAGE, self._on_stage_message)
        if isinstance(runner, MasterRunner):
            runner.register_message(_FATAL_MESSAGE, self._on_fatal_message)

    # Stage boundaries.

    def enter_stage(self, index: int) -> None:
        """Mark stage ``index`` as started now (called by the shape on the master)."""
        now = float(self.clock())
        self._open(index, now)
        stage = self.scenario.stages[index]
        logger.info(
            "stage %s started: %d users at %g/s for %gs",
            stage.name,
            stage.users,
            stage.spawn_rate,
            stage.duration_s,
        )
        runner = self.environment.runner
        if isinstance(runner, MasterRunner):
            runner.send_message(_STAGE_MESSAGE, {"index": index, "start": now})

    def finish(self) -> None:
        """Mark the scenario as completed (every stage ran its full duration)."""
        self.finished = True
        self._close(float(self.clock()))

    def stop(self) -> None:
        """Mark the test as stopped now: the stage still open ends here."""
        self.ended_at = float(self.clock())
        self._close(self.ended_at)

    def reset(self, scenario: Scenario) -> None:
        """Start over for a new run of ``scenario`` in the same process (web UI)."""
        self.scenario = scenario
        self.fatal_error = None
        self.started_at = self.ended_at = None
        self.finished = False
        self._starts, self._opened = [], []
        self.__post_init__()

    def _open(self, index: int, start: float) -> None:
        self._close(start)
        self.windows[index].start = start
        self._starts.append(start)
        self._opened.append(index)
        if self.started_at is None:
            self.started_at = start

    def _close(self, end: float) -> None:
        for window in self.windows:
            if window.start is not None and window.end is None:
                window.end = end

    def _current_index(self, sent_at: float) -> int:
        if not self._opened:
            return 0
        position = bisect.bisect_right(self._starts, sent_at) - 1
        return self._opened[max(position, 0)]

    def current_stage(self) -> int | None:
        """Return the index of the stage in force now, or None before the first."""
        return self._opened[-1] if self._opened else None

    # Locust events.

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float | None,
        response_length: int,
        exception: BaseException | None = None,
        start_time: float | None = None,
        context: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> None:
        """Attribute one finished request to the stage in force when it was sent.

        Requests a paced user sends carry their intended send time in
        ``context["loadgate_intended"]``; for them the latency from that moment
        (coordinated-omission corrected) is recorded too, and a send that started
        more than its lateness allowance after it counts as late.
        """
        if start_time is None:
            start_time = float(self.clock()) - (response_time or 0) / 1000
        index = self._current_index(start_time)
        _log(
            self.stats[index],
            request_type,
            name,
            response_time,
            response_length,
            exception,
        )

        intended = (context or {}).get("loadgate_intended")
        if intended is None or response_time is None:
            return
        lateness = start_time - intended[0]
        if lateness > intended[1]:
            self.late_sends[index] += 1
        corrected = response_time + max(lateness, 0.0) * 1000
        _log(self.corrected[index], request_type, name, corrected, 0, exception)

    def fail(self, message: str) -> None:
        """Stop the whole test because of an error that retrying cannot fix.

        On a worker the master is told, so that the whole fleet stops. Under the web
        UI only the test stops (its report says why); the UI stays up for the next.
        """
        if self.fatal_error is not None:
            return
        self.fatal_error = message
        runner = self.environment.runner
        if isinstance(runner, WorkerRunner):
            runner.send_message(_FATAL_MESSAGE, {"message": message})
        elif runner is not None and self.environment.web_ui is not None:
            logger.error("%s; the test is stopped", message)
            gevent.spawn(runner.stop)
        elif runner is not None:
            self.environment.process_exit_code = 2
            # Quitting from inside a user's greenlet would kill the caller mid-way.
            gevent.spawn(runner.quit)

    def _on_test_start(self, **_: Any) -> None:
        if self.started_at is None:
            self.started_at = float(self.clock())

    def _on_stage_message(self, environment: Environment, msg: Any, **_: Any) -> None:
        self._open(int(msg.data["index"]), float(msg.data["start"]))

    def _on_fatal_message(self, environment: Environment, msg: Any, **_: Any) -> None:
        self.fail(str(msg.data["message"]))

    def _on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        report = {}
        for index in self.stats:
            raw = self.stats[index].serialize_stats()
            corrected = self.corrected[index].serialize_stats()
            late, self.late_sends[index] = self.late_sends[index], 0
            if raw or corrected or late:
                report[str(index)] = {"raw": raw, "corrected": corrected, "late": late}
        data[_REPORT_KEY] = report

    def _on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        for index, part in data.get(_REPORT_KEY, {}).items():
            stage = int(index)
            _merge(self.stats[stage], part["raw"])
            _merge(self.corrected[stage], part["corrected"])
            self.late_sends[stage] += int(part["late"])

    def _on_quit(self, exit_code: int, **_: Any) -> None:
        if isinstance(self.environment.runner, WorkerRunner):
            return
        self.stop()
        try:
            self.write()
        except OSError as exc:
            logger.error("could not write the stage statistics: %s", exc)

    # Output.

    def output_dir(self) -> Path | None:
        """Return where the run's files go: beside ``--csv``'s files, if given."""
        prefix = getattr(self.environment.parsed_options, "csv_prefix", None)
        return Path(prefix).parent if prefix else None

    def write(self, prefix: str | None = None) -> None:
        """Write ``<prefix>_stages.csv`` and ``run.json`` beside Locust's CSVs.

        Args:
            prefix: The CSV prefix; ``--csv``'s when None (no ``--csv``: no files).
        """
        prefix = prefix or getattr(self.environment.parsed_options, "csv_prefix", None)
        if not prefix:
            return
        out = Path(prefix)
        out.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(Path(f"{prefix}_stages.csv"), self._stages_csv())
        _write_atomically(
            out.parent / "run.json", json.dumps(self.run_facts(), indent=2)
        )

    def stage_rows(self) -> list[dict[str, Any]]:
        """Return one row per stage x endpoint, then the stage's total row."""
        rows = []
        for window in self.windows:
            stage = self.scenario.stages[window.index]
            stats = self.stats[window.index]
            corrected = self.corrected[window.index]
            wall = (window.end or 0) - (window.start or 0)
            base: dict[str, Any] = {
                "stage_index": window.index,
                "stage": stage.name,
                "stage_start": _fmt(window.start),
                "stage_end": _fmt(window.end),
                "users": stage.users,
                "target_rps": _fmt(stage.rate_per_s),
            }
            for (name, method), entry in sorted(stats.entries.items()):
                endpoint = self._endpoint_key(method, name)
                row = _entry_row(entry, endpoint, method, name, wall)
                paced = corrected.entries.get((name, method))
                rows.append(base | row | _corrected_row(paced) | {"late_sends": ""})
            total = _entry_row(stats.total, TOTAL, "", "Aggregated", wall)
            late = self.late_sends[window.index] if stage.rate_per_s else ""
            has_paced = corrected.total.num_requests > 0
            paced_total = _corrected_row(corrected.total if has_paced else None)
            rows.append(base | total | paced_total | {"late_sends": late})
        return rows

    def _endpoint_key(self, method: str, name: str) -> str:
        if method == AUTH_REQUEST_TYPE:
            return f"cognito:{name}"
        return self._endpoint_keys.get((method, name), f"{method} {name}")

    def _stages_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=STAGES_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.stage_rows())
        return buffer.getvalue()

    def run_facts(self) -> dict[str, Any]:
        """Return what ``run.json`` holds: the scenario, its stages and how it ran."""
        options = self.environment.parsed_options
        runner = self.environment.runner
        workers = runner.worker_count if isinstance(runner, MasterRunner) else 0
        facts: dict[str, Any] = {
            "scenario": self.scenario.name,
            "host": self.environment.host or getattr(options, "host", ""),
            "locust_version": locust.__version__,
            "loadgate_version": loadgate.__version__,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "workers": workers,
            "degraded": False,
            "lost_workers": [],
            "cpu_warnings": [],
            "stopped_early": not self.finished,
            "fatal_error": self.fatal_error,
            "stages": [
                {
                    "name": stage.name,
                    "users": stage.users,
                    "spawn_rate": stage.spawn_rate,
                    "duration_s": stage.duration_s,
                    "start": window.start,
                    "end": window.end,
                }
                for stage, window in zip(
                    self.scenario.stages, self.windows, strict=True
                )
            ],
            "thresholds": [
                threshold.to_dict() for threshold in self.scenario.thresholds
            ],
            "min_samples": self.scenario.min_samples,
            "apdex_t_ms": {
                key: endpoint.apdex_t_ms
                for key, endpoint in self.scenario.endpoints.items()
            },
            "target_profile": self.scenario.target_profile.to_dict(),
        }
        if self.fleet is not None:
            facts |= self.fleet.facts()
        return facts


def _entry_row(
    entry: StatsEntry, endpoint: str, method: str, name: str, wall_s: float
) -> dict[str, Any]:
    requests = entry.num_requests
    timed = requests - entry.num_none_requests
    row: dict[str, Any] = {
        "endpoint": endpoint,
        "method": method,
        "name": name,
        "requests": requests,
        "failures": entry.num_failures,
        "throughput_rps": _fmt(requests / wall_s if wall_s > 0 else None),
    }
    if timed <= 0:
        return (
            row
            | {c: "" for c in ("min_ms", "mean_ms", "max_ms", "p999_ms")}
            | {column: "" for column, _ in _PERCENTILES}
        )
    row["min_ms"] = entry.min_response_time
    row["mean_ms"] = _fmt(entry.total_response_time / timed)
    row["max_ms"] = entry.max_response_time
    for column, fraction in _PERCENTILES:
        row[column] = entry.get_response_time_percentile(fraction)
    row["p999_ms"] = entry.get_response_time_percentile(0.999)
    return row


def _corrected_row(entry: StatsEntry | None) -> dict[str, Any]:
    if entry is None or entry.num_requests == 0:
        return {"co_p50_ms": "", "co_p95_ms": "", "co_p99_ms": ""}
    return {
        "co_p50_ms": entry.get_response_time_percentile(0.5),
        "co_p95_ms": entry.get_response_time_percentile(0.95),
        "co_p99_ms": entry.get_response_time_percentile(0.99),
    }


def _log(
    stats: RequestStats,
    request_type: str,
    name: str,
    response_time: float | None,
    response_length: int | None,
    exception: BaseException | None,
) -> None:
    """Log one request like Locust does, but keep Cognito calls out of the total."""
    rounded: Any = None if response_time is None else round(response_time)
    entry = stats.entries[(name, request_type)]
    entry.log(rounded, response_length or 0)
    if exception is not None:
        entry.log_error(_as_error(exception))
    if request_type != AUTH_REQUEST_TYPE:
        stats.total.log(rounded, response_length or 0)
        if exception is not None:
            stats.total.log_error(_as_error(exception))


def _merge(stats: RequestStats, serialized: list[Any]) -> None:
    """Add a worker's serialized entries to the master's stats (Locust's own way)."""
    for data in serialized:
        incoming = StatsEntry.unserialize(data, stats)
        stats.get(incoming.name, incoming.method).extend(incoming)
        if incoming.method != AUTH_REQUEST_TYPE:
            stats.total.extend(incoming)


def _as_error(exception: BaseException) -> Exception | str:
    return exception if isinstance(exception, Exception) else repr(exception)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)

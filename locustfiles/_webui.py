"""loadgate in Locust's web UI: a live tab of stages and verdicts, and a report per run.

:func:`install` (called by ``chat.py``'s init listener when the web UI runs) uses Locust's
own extension points, nothing forked:

* a **loadgate tab** (``template_args``: ``extended_tabs`` and ``extended_tables``): one
  row per stage x threshold with the stage's state (its time left while it runs) and a
  live verdict. The rows travel with Locust's ``/stats/requests`` answer as
  ``extended_stats``, so the tab refreshes with Locust's own statistics;
* **Download Data** links (``extended_csv_files``) to the last run's ``report.html`` and
  ``summary.json``;
* a Flask Blueprint under ``/loadgate/``: ``live`` (the tab's data as JSON),
  ``runs/<run-id>/<file>``, ``report`` and ``summary.json`` (the last run's), ``login``
  (with ``--web-login``) and ``static/tab.js``, a small script added to Locust's page
  that puts the current stage and the report links at the top of the loadgate tab (a
  tab table's cells hold text only, not links).

Every start from the form begins a run: the scenario named in the form is loaded (an
unknown one is refused in the form), the recorder starts clean, and
``<results>/ui-<timestamp>-<scenario>/`` receives Locust's CSVs while the run goes. When
it stops (its last stage ended, or Stop was pressed) loadgate's stage table and
``run.json`` are written there, then ``report.html`` and ``summary.json`` are made in a
greenlet of their own, after the users have stopped.

Live verdicts follow :mod:`reporting.verdicts` on the numbers so far: a threshold's
checks over the endpoints of a stage are judged with reporting's precision band and
combined with :func:`reporting.verdicts.threshold_status`; ``pass`` reads *passing*,
``fail`` *failing*, ``inconclusive`` *inconclusive*, and a stage not started or with
fewer requests than ``min_samples`` *pending*.

This module imports neither locust nor pandas when loaded (both are imported where the
web UI needs them), so that every Locust process can load it cheaply and its verdict
rules can be tested in plain Python.
"""

from __future__ import annotations

import csv
import dataclasses
import hmac
import importlib
import ipaddress
import logging
import math
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import gevent
from flask import (
    Blueprint,
    Response,
    jsonify,
    make_response,
    redirect,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import (  # type: ignore[import-untyped]
    UserMixin,
    current_user,
    login_user,
)

from loadgate.errors import ConfigError, LoadgateError
from loadgate.runner import CSV_PREFIX
from loadgate.scenarios import TOTAL, Scenario, ScenarioFile, Threshold, load_scenarios

if TYPE_CHECKING:
    from locust.env import Environment

    from locustfiles._recorder import StageRecorder
    from reporting.verdicts import Verdict

__all__ = [
    "DEFAULT_RESULTS",
    "PASSWORD_VARIABLE",
    "USERNAME_VARIABLE",
    "LiveCheck",
    "LiveStatus",
    "LoadgateWebUI",
    "StageTimes",
    "UiRun",
    "add_arguments",
    "install",
    "live_checks",
    "stage_state",
]

logger = logging.getLogger(__name__)

LiveStatus = Literal["pending", "passing", "failing", "inconclusive"]
"""A live verdict of one stage x threshold."""

DEFAULT_RESULTS = "results"
_TAB_KEY = "loadgate"
PASSWORD_VARIABLE = "LOADGATE_UI_PASSWORD"
USERNAME_VARIABLE = "LOADGATE_UI_USERNAME"

_STATIC = Path(__file__).resolve().parent / "webui"
_COGNITO_PREFIX = "cognito:"
_LIVE_STATUS: Mapping[str, LiveStatus] = {
    "pass": "passing",
    "fail": "failing",
    "inconclusive": "inconclusive",
}
_COLUMNS = (
    ("stage", "Stage"),
    ("state", "Stage state"),
    ("threshold", "Threshold"),
    ("verdict", "Verdict (live)"),
    ("detail", "Detail"),
    ("requests", "Requests"),
)
_SERVED = frozenset({"report.html", "summary.json", "summary.md", "junit.xml"})
_REPORT_JOIN_S = 120.0


def add_arguments(parser: Any) -> None:
    """Add the web UI's own option to Locust's command line."""
    parser.add_argument(
        "--ui-results",
        default=DEFAULT_RESULTS,
        include_in_web_ui=False,
        help="Web UI: where each run's directory ui-<timestamp>-<scenario> is made.",
    )


# The live verdicts, in plain Python.


@dataclass(frozen=True)
class StageTimes:
    """When a stage ran: epoch seconds, None for not yet."""

    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class LiveCheck:
    """The live verdict of one threshold in one stage.

    Attributes:
        stage: Stage name.
        state: The stage's state, e.g. ``running, 12 s left`` or ``done``.
        threshold: The threshold's label, e.g. ``p95_ms < 1000``.
        verdict: pending, passing, failing or inconclusive.
        detail: The figure behind the verdict, e.g. ``list_rooms 1,200``.
        requests: Requests of the whole stage so far.
    """

    stage: str
    state: str
    threshold: str
    verdict: LiveStatus
    detail: str
    requests: int

    def row(self) -> dict[str, str | int]:
        """Return the row of the loadgate tab's table."""
        return {
            "stage": self.stage,
            "state": self.state,
            "threshold": self.threshold,
            "verdict": self.verdict,
            "detail": self.detail,
            "requests": self.requests,
        }


def stage_state(
    times: StageTimes, duration_s: float, now: float, *, over: bool, last: bool
) -> str:
    """Describe how far a stage has got.

    Args:
        times: When the stage started and ended.
        duration_s: The stage's planned length.
        now: Epoch seconds now.
        over: Whether the run has ended (finished or stopped).
        last: Whether the run stopped early while this stage ran.

    Returns:
        ``waiting``, ``running, N s left``, ``done``, ``stopped early`` or ``not run``.
    """
    if times.start is None:
        return "not run" if over else "waiting"
    if times.end is None:
        left = max(0, math.ceil(times.start + duration_s - now))
        return f"running, {left} s left"
    return "stopped early" if last else "done"


def live_checks(
    scenario: Scenario,
    times: Sequence[StageTimes],
    rows: Sequence[Mapping[str, Any]],
    now: float,
    *,
    over: bool = False,
    finished: bool = False,
) -> list[LiveCheck]:
    """Judge every stage x threshold of a run on its numbers so far.

    Args:
        scenario: The scenario being run (stages, thresholds, ``min_samples``).
        times: When each stage ran, in stage order.
        rows: The recorder's stage table rows (``loadgate_stages.csv`` columns).
        now: Epoch seconds now; a running stage's throughput counts up to it.
        over: Whether the run has ended.
        finished: Whether it ended with its last stage (not stopped early).

    Returns:
        One check per stage and threshold that applies to the stage, in stage order,
        then threshold order.
    """
    started = [i for i, t in enumerate(times) if t.start is not None]
    stopped = started[-1] if over and not finished and started else None
    checks = []
    for index, stage in enumerate(scenario.stages):
        state = stage_state(
            times[index], stage.duration_s, now, over=over, last=index == stopped
        )
        by_endpoint = {
            str(row["endpoint"]): row
            for row in rows
            if int(row["stage_index"]) == index
            and not str(row["endpoint"]).startswith(_COGNITO_PREFIX)
        }
        checks += _stage_checks(scenario, index, state, times[index], by_endpoint, now)
    return checks


def _stage_checks(
    scenario: Scenario,
    index: int,
    state: str,
    window: StageTimes,
    rows: Mapping[str, Mapping[str, Any]],
    now: float,
) -> list[LiveCheck]:
    """Return the live checks of one stage, given its rows by endpoint key."""
    stage = scenario.stages[index]
    total = rows.get(TOTAL)
    requests = int(total["requests"] or 0) if total else 0
    elapsed = None
    if window.start is not None:
        elapsed = (window.end if window.end is not None else now) - window.start

    checks = []
    for threshold in scenario.thresholds:
        if threshold.stages and stage.name not in threshold.stages:
            continue
        verdict, detail = _judge_stage(
            threshold, stage.name, window, rows, elapsed, scenario
        )
        checks.append(
            LiveCheck(stage.name, state, threshold.label, verdict, detail, requests)
        )
    return checks


def _judge_stage(
    threshold: Threshold,
    stage: str,
    window: StageTimes,
    rows: Mapping[str, Mapping[str, Any]],
    elapsed_s: float | None,
    scenario: Scenario,
) -> tuple[LiveStatus, str]:
    """Return one threshold's live verdict in one stage, and the figure behind it."""
    if window.start is None:
        return "pending", "stage not started"
    from reporting.verdicts import threshold_status

    named = [e for e in threshold.endpoints if not e.startswith(_COGNITO_PREFIX)]
    endpoints = [*dict.fromkeys([*rows, *named, TOTAL])]
    checks = [
        _check(threshold, stage, endpoint, rows.get(endpoint), elapsed_s, scenario)
        for endpoint in endpoints
        if threshold.applies_to(stage, endpoint)
    ]
    status = threshold_status(checks)
    if status in _LIVE_STATUS:
        deciding = [c for c in checks if c.status == status]
        return _LIVE_STATUS[status], _detail(threshold, deciding)
    most = max((c.samples for c in checks), default=0)
    if most == 0:
        return "pending", "no requests yet"
    return "pending", f"{most} of {scenario.min_samples} requests needed"


def _check(
    threshold: Threshold,
    stage: str,
    endpoint: str,
    row: Mapping[str, Any] | None,
    elapsed_s: float | None,
    scenario: Scenario,
) -> Verdict:
    """Judge one endpoint as :mod:`reporting.verdicts` does."""
    from reporting.verdicts import judge

    samples = int(row["requests"] or 0) if row is not None else 0
    measured = _measure(threshold.metric, row, elapsed_s)
    return judge(threshold, stage, endpoint, measured, samples, scenario.min_samples)


def _measure(
    metric: str, row: Mapping[str, Any] | None, elapsed_s: float | None
) -> float | None:
    """Return a stage-table row's value of a threshold metric; None without data."""
    requests = int(row["requests"] or 0) if row is not None else 0
    if row is None or requests == 0:
        return None
    failures = int(row["failures"] or 0)
    if metric == "availability_pct":
        return 100.0 * (requests - failures) / requests
    if metric == "error_rate_pct":
        return 100.0 * failures / requests
    if metric in ("throughput_rps", "throughput_rpm"):
        if not elapsed_s or elapsed_s <= 0:
            return None
        return requests / elapsed_s * (60.0 if metric == "throughput_rpm" else 1.0)
    value = row.get(metric)
    return None if value in (None, "") else float(value)


def _detail(threshold: Threshold, checks: Sequence[Verdict]) -> str:
    """Name the endpoint that decides a verdict: the one nearest failing, or failing most."""
    measured = [c for c in checks if c.measured is not None]
    if not measured:
        return ""
    worst = max if threshold.op == "below" else min
    check = worst(measured, key=lambda c: c.measured or 0.0)
    if check.status == "inconclusive":
        return f"{check.endpoint} {_number(check.low)} to {_number(check.high)}"
    return f"{check.endpoint} {_number(check.measured)}"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".")


# The web UI.


@dataclass
class UiRun:
    """One run started from the web UI, and where its report stands.

    Attributes:
        run_id: The run directory's name, ``ui-<timestamp>-<scenario>``.
        run_dir: The run directory.
        scenario: Scenario name.
        status: ``running``, ``writing`` (the report), ``ready`` or ``failed``.
        verdict: The report's overall status (``pass`` or ``fail``) once ready.
        error: Why the report could not be made, once failed.
    """

    run_id: str
    run_dir: Path
    scenario: str
    status: Literal["running", "writing", "ready", "failed"] = "running"
    verdict: str | None = None
    error: str | None = None
    csv_writer: Any = field(default=None, repr=False)
    csv_greenlet: Any = field(default=None, repr=False)
    report_greenlet: Any = field(default=None, repr=False)

    def links(self) -> dict[str, str]:
        """Return the web UI paths of the run's report files (relative to the UI)."""
        base = f"./loadgate/runs/{self.run_id}"
        return {
            "report_url": f"{base}/report.html",
            "summary_url": f"{base}/summary.json",
        }


@dataclass
class LoadgateWebUI:
    """loadgate's part of one Locust web UI: the tab, the runs and their reports.

    Args:
        environment: The Locust environment of the web UI's process.
        recorder: The process's stage recorder.
        switch_scenario: Makes the locustfile run another scenario from the next start.
        results: Where the run directories are made.
        clock: Wall clock (epoch seconds), injectable for tests.
    """

    environment: Environment
    recorder: StageRecorder
    switch_scenario: Callable[[Scenario], None]
    results: Path
    clock: Callable[[], float] = time.time
    runs: dict[str, UiRun] = field(default_factory=dict)
    current: UiRun | None = None

    def install(self) -> None:
        """Register the tab, the routes and the run listeners with Locust."""
        web_ui = self.environment.web_ui
        if web_ui is None or web_ui.app is None:
            raise ConfigError("loadgate's web UI needs Locust's web UI")
        try:
            self.results.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"--ui-results: cannot make {str(self.results)!r}: {exc.strerror}; "
                "give a writable directory"
            ) from exc
        _warm_up_reporting()

        args = web_ui.template_args
        args.setdefault("extended_tabs", []).append(
            {"title": "loadgate", "key": _TAB_KEY}
        )
        args.setdefault("extended_tables", []).append(
            {
                "key": _TAB_KEY,
                "structure": [{"key": k, "title": t} for k, t in _COLUMNS],
            }
        )
        args.setdefault("extended_csv_files", []).extend(
            [
                {
                    "href": "./loadgate/report",
                    "title": "loadgate report of the last run",
                },
                {
                    "href": "./loadgate/summary.json",
                    "title": "loadgate summary.json of the last run",
                },
            ]
        )

        app = web_ui.app
        app.register_blueprint(self._blueprint(web_ui))
        app.before_request(self._before_request)
        app.after_request(self._after_request)
        events = self.environment.events
        events.test_start.add_listener(self._on_test_start)
        events.test_stop.add_listener(self._on_test_stop)
        events.quit.add_listener(self._on_quit)

    # Starting a run.

    def _before_request(self) -> Response | None:
        """Check the start form's scenario, and start the recorder over for it."""
        if request.endpoint != "locust.swarm" or request.method != "POST":
            return None
        if self._login_required() or self._running():
            return None
        web_ui = self.environment.web_ui
        picker = web_ui is not None and web_ui.userclass_picker_is_active
        if picker and request.form.get("shape_class", "Default") == "Default":
            return self._refuse(
                "Shape Class: pick StagedShape; loadgate's stages and verdicts come "
                "from it ('Default' runs a fixed user count without stages)"
            )

        options = self._options()
        name = request.form.get("scenario") or options.scenario
        try:
            scenario = load_scenarios(options.scenarios_file).scenario(name)
        except LoadgateError as exc:
            return self._refuse(f"Scenario: {exc}")
        self.recorder.reset(scenario)
        self.switch_scenario(scenario)
        fleet = self.recorder.fleet
        if fleet is not None:
            fleet.lost.clear()
            fleet.cpu_warnings.clear()
        logger.info("web UI: next run is scenario %s", scenario.name)
        return None

    def _options(self) -> Any:
        options = self.environment.parsed_options
        if options is None:
            raise ConfigError("loadgate's web UI runs under the locust command only")
        return options

    def _refuse(self, message: str) -> Response:
        logger.warning("web UI: start refused: %s", message)
        return jsonify(
            {"success": False, "message": message, "host": self.environment.host}
        )

    def _login_required(self) -> bool:
        web_ui = self.environment.web_ui
        return bool(web_ui and web_ui.web_login and not current_user.is_authenticated)

    def _running(self) -> bool:
        runner = self.environment.runner
        return runner is not None and runner.state in ("running", "spawning")

    def _on_test_start(self, **_: Any) -> None:
        from locust.stats import PERCENTILES_TO_REPORT, StatsCSVFileWriter

        scenario = self.recorder.scenario.name
        try:
            run_dir = _new_run_dir(self.results, scenario, self.clock())
        except OSError as exc:
            self.current = None
            logger.error("web UI run not recorded: %s; no report for it", exc)
            return
        run = UiRun(run_dir.name, run_dir, scenario)
        run.csv_writer = StatsCSVFileWriter(
            self.environment,
            PERCENTILES_TO_REPORT,
            str(run_dir / CSV_PREFIX),
            full_history=True,
        )
        run.csv_greenlet = gevent.spawn(run.csv_writer.stats_writer)
        self.runs[run.run_id] = run
        self.current = run
        logger.info("web UI run %s started; results in %s", run.run_id, run_dir)

    # Stopping a run.

    def _on_test_stop(self, **_: Any) -> None:
        run = self.current
        if run is None or run.status != "running":
            return
        self.recorder.stop()
        try:
            self._write_run_files(run)
        except OSError as exc:
            run.status, run.error = "failed", f"could not write the run's files: {exc}"
            logger.error("web UI run %s: %s", run.run_id, run.error)
            return
        run.status = "writing"
        # pandas and matplotlib take a moment: not in the greenlet that stops the test.
        run.report_greenlet = gevent.spawn(self._write_report, run)

    def _write_run_files(self, run: UiRun) -> None:
        """Write Locust's CSVs, loadgate's stage table, run.json and locust.html."""
        from locust.html import get_html_report
        from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

        run.csv_greenlet.kill(block=True)
        run.csv_writer.close_files()
        prefix = run.run_dir / CSV_PREFIX
        history = Path(run.csv_writer.stats_history_file_name())
        if history.stat().st_size == 0:
            # Stopped before the writer's first pass: a history with no rows yet.
            with history.open("w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow(run.csv_writer.stats_history_csv_columns)

        # The periodic writer may be a second behind: the whole-run tables once more.
        final = StatsCSV(self.environment, PERCENTILES_TO_REPORT)
        for suffix, write in (
            ("stats", final.requests_csv),
            ("failures", final.failures_csv),
            ("exceptions", final.exceptions_csv),
        ):
            with open(f"{prefix}_{suffix}.csv", "w", newline="", encoding="utf-8") as f:
                write(csv.writer(f))
        self.recorder.write(str(prefix))
        html = get_html_report(self.environment, show_download_link=False)
        (run.run_dir / "locust.html").write_text(html, encoding="utf-8")

    def _write_report(self, run: UiRun) -> None:
        """Make report.html and summary.json of a stopped run (in its own greenlet)."""
        import reporting

        try:
            made = reporting.generate(run.run_dir, scenarios=self._scenarios())
        except Exception as exc:  # a background task: its failure goes to the UI
            run.status, run.error = "failed", str(exc)
            logger.exception("web UI run %s: report not written", run.run_id)
            return
        run.verdict = reporting.overall_status(made.verdicts)
        run.status = "ready"
        logger.info(
            "web UI run %s: %s, report %s",
            run.run_id,
            run.verdict,
            made.paths.report_html,
        )

    def _scenarios(self) -> ScenarioFile | None:
        try:
            return load_scenarios(self._options().scenarios_file)
        except LoadgateError as exc:
            logger.warning("scenarios file not used for the report: %s", exc)
            return None

    def _on_quit(self, **_: Any) -> None:
        writing = [
            run.report_greenlet for run in self.runs.values() if run.report_greenlet
        ]
        gevent.joinall(writing, timeout=_REPORT_JOIN_S)

    # What the tab shows.

    def checks(self) -> list[LiveCheck]:
        """Return the live verdict of every stage x threshold of the current run."""
        run = self.current
        return live_checks(
            self.recorder.scenario,
            self._times(),
            self.recorder.stage_rows(),
            self.clock(),
            over=run is not None and run.status != "running",
            finished=self.recorder.finished,
        )

    def live(self) -> dict[str, Any]:
        """Return the tab's data: the run, its current stage, checks and report."""
        scenario = self.recorder.scenario
        run = self.current
        runner = self.environment.runner
        return {
            "scenario": scenario.name,
            "state": runner.state if runner is not None else "missing",
            "stage": self._stage_now(),
            "checks": [dataclasses.asdict(check) for check in self.checks()],
            "run": None if run is None else _run_json(run),
        }

    def _times(self) -> list[StageTimes]:
        return [StageTimes(w.start, w.end) for w in self.recorder.windows]

    def _stage_now(self) -> dict[str, Any] | None:
        """Return the stage that runs now and its time left, or None between runs."""
        index = self.recorder.current_stage()
        run = self.current
        if index is None or run is None or run.status != "running":
            return None
        times = self._times()[index]
        planned = self.recorder.scenario.stages[index]
        if times.start is None or times.end is not None:
            return None
        left = times.start + planned.duration_s - self.clock()
        return {
            "index": index,
            "name": planned.name,
            "count": len(self.recorder.scenario.stages),
            "time_left_s": round(max(0.0, left), 1),
        }

    def _after_request(self, response: Response) -> Response:
        """Add the tab's rows to Locust's stats, and tab.js to Locust's page."""
        if request.endpoint == "locust.request_stats" and response.is_json:
            data = response.get_json()
            rows = [check.row() for check in self.checks()]
            extended = [
                item
                for item in data.get("extended_stats", [])
                if item["key"] != _TAB_KEY
            ]
            data["extended_stats"] = [*extended, {"key": _TAB_KEY, "data": rows}]
            response.set_data(jsonify(data).get_data())
        elif request.endpoint == "locust.index" and response.mimetype == "text/html":
            page = response.get_data(as_text=True)
            tag = '<script src="./loadgate/static/tab.js" defer></script>'
            response.set_data(page.replace("</body>", f"{tag}\n</body>", 1))
        return response

    # Routes.

    def _blueprint(self, web_ui: Any) -> Blueprint:
        base = self._options().web_base_path or ""
        blueprint = Blueprint(
            "loadgate",
            __name__,
            url_prefix=f"{base}/loadgate",
            static_folder=str(_STATIC),
            static_url_path="/static",
        )
        protect = web_ui.auth_required_if_enabled
        blueprint.add_url_rule("/live", "live", protect(lambda: jsonify(self.live())))
        blueprint.add_url_rule(
            "/runs/<run_id>/<name>", "run_file", protect(self._run_file)
        )
        blueprint.add_url_rule("/report", "report", protect(self._last_report))
        blueprint.add_url_rule("/summary.json", "summary", protect(self._last_summary))
        if web_ui.web_login:
            _install_login(web_ui, blueprint, base)
        return blueprint

    def _run_file(self, run_id: str, name: str) -> Response:
        run = self.runs.get(run_id)
        if run is None or name not in _SERVED or run.status != "ready":
            return _not_found(f"no {name} of a web UI run {run_id!r} (yet)")
        attachment = name != "report.html"
        return send_from_directory(
            run.run_dir,
            name,
            as_attachment=attachment,
            download_name=f"{run_id}-{name}" if attachment else None,
            max_age=0,
        )

    def _last_ready(self) -> UiRun | None:
        ready = [run for run in self.runs.values() if run.status == "ready"]
        return ready[-1] if ready else None

    def _last_report(self) -> Response:
        run = self._last_ready()
        if run is None:
            return _not_found("no report yet: a run's report is made when it stops")
        return _redirect(f"runs/{run.run_id}/report.html")

    def _last_summary(self) -> Response:
        run = self._last_ready()
        if run is None:
            return _not_found("no summary yet: a run's summary is made when it stops")
        return self._run_file(run.run_id, "summary.json")


def install(
    environment: Environment,
    recorder: StageRecorder,
    switch_scenario: Callable[[Scenario], None],
) -> LoadgateWebUI:
    """Add loadgate's tab, routes and per-run reports to Locust's web UI.

    Args:
        environment: The environment of the process that serves the web UI.
        recorder: Its stage recorder (started over for each run).
        switch_scenario: Makes the locustfile run another scenario from the next start.

    Returns:
        The installed extension.

    Raises:
        ConfigError: ``--web-login`` without a password in ``LOADGATE_UI_PASSWORD``.
    """
    options = environment.parsed_options
    extension = LoadgateWebUI(
        environment,
        recorder,
        switch_scenario,
        # Absolute: Flask serves files relative to its own root, not the working dir.
        Path(getattr(options, "ui_results", DEFAULT_RESULTS)).resolve(),
    )
    extension.install()
    host = getattr(options, "web_host", "")
    if not getattr(options, "web_login", False) and not _is_loopback(host):
        logger.warning(
            "web UI bound to %r without --web-login: anyone who reaches it can start "
            "load; set %s and add --web-login to protect it",
            host or "*",
            PASSWORD_VARIABLE,
        )
    return extension


class _UiUser(UserMixin):  # type: ignore[misc]
    """The one user of a web UI protected with ``--web-login``."""

    def __init__(self, username: str) -> None:
        self.id = username


def _install_login(web_ui: Any, blueprint: Blueprint, base: str) -> None:
    """Protect the web UI with a login page: one user, password from the environment."""
    username = os.environ.get(USERNAME_VARIABLE) or "loadgate"
    password = os.environ.get(PASSWORD_VARIABLE, "")
    if not password:
        raise ConfigError(
            f"--web-login: set {PASSWORD_VARIABLE} to the web UI's password (and "
            f"{USERNAME_VARIABLE} to its user name, default 'loadgate')"
        )
    app = web_ui.app
    app.secret_key = os.environ.get("FLASK_SECRET_KEY") or secrets.token_hex(32)
    web_ui.login_manager.user_loader(
        lambda user_id: _UiUser(user_id) if user_id == username else None
    )
    web_ui.auth_args = {"username_password_callback": f"{base}/loadgate/login"}

    def submit() -> ResponseReturnValue:
        given = (request.form.get("username", ""), request.form.get("password", ""))
        known = hmac.compare_digest(given[0].encode(), username.encode())
        right = hmac.compare_digest(given[1].encode(), password.encode())
        if known and right:
            login_user(_UiUser(username))
            return redirect(url_for("locust.index"))
        session["auth_error"] = "Wrong user name or password"
        logger.warning("web UI: login refused: wrong user name or password")
        return redirect(url_for("locust.login"))

    blueprint.add_url_rule("/login", "login", submit, methods=["POST"])


def _warm_up_reporting() -> None:
    """Import reporting and its charts now, so that a run's stop does not wait for them."""
    importlib.import_module("reporting.charts")


def _run_json(run: UiRun) -> dict[str, Any]:
    data: dict[str, Any] = {
        "run_id": run.run_id,
        "scenario": run.scenario,
        "report": run.status,
        "verdict": run.verdict,
        "error": run.error,
    }
    if run.status == "ready":
        data |= run.links()
    return data


def _new_run_dir(results: Path, scenario: str, now: float) -> Path:
    """Create and return ``results/ui-<timestamp>-<scenario>`` (never an existing one)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    run_dir = results / f"ui-{stamp}-{scenario}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = results / f"ui-{stamp}-{scenario}-{suffix}"
    run_dir.mkdir(parents=True)
    return run_dir


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _not_found(message: str) -> Response:
    response = make_response(message + "\n", 404)
    response.mimetype = "text/plain"
    return response


def _redirect(location: str) -> Response:
    # Relative, so that it holds behind --web-base-path and any proxy in front.
    response = make_response("", 302)
    response.headers["Location"] = location
    return response

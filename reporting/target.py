"""Relate a load to the production limits of ``target_profile`` in scenarios.yaml.

Four limits can be known (see :class:`loadgate.scenarios.TargetProfile`): API
Gateway's rate, AWS WAF's rate-based rule (requests per IP per window), Lambda's
reserved concurrency and Aurora's connection limit. Each stage's load is compared with
them: its request rate, the most requests one generator IP sent within any WAF window,
and the concurrency the API needed, estimated by Little's law (rate x mean latency).

:func:`preflight` does the same from a scenario's plan, before a run, with the highest
rate each stage can reach (every user sending as soon as its think time allows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loadgate.scenarios import Scenario, TargetProfile

__all__ = ["Crossing", "StageLoad", "crossings", "preflight", "window_peaks"]


@dataclass(frozen=True)
class StageLoad:
    """How much load one stage put on the target.

    Attributes:
        stage: Stage name.
        start: Epoch seconds (or seconds from the start of a plan) the stage began.
        end: When it ended.
        rps: Requests per second to the API.
        users: Concurrent virtual users.
        concurrency: Requests in flight at once (rate x mean latency), or None.
    """

    stage: str
    start: float
    end: float
    rps: float
    users: float
    concurrency: float | None = None


@dataclass(frozen=True)
class Crossing:
    """A stage whose load passed a production limit.

    Attributes:
        limit: Which limit: ``api_rate``, ``api_burst``, ``waf``, ``lambda`` or
            ``aurora``.
        stage: The first stage that passed it.
        value: The load that passed it (in the limit's unit).
        allowed: The limit.
        text: One sentence quoting both, for reports and warnings.
    """

    limit: str
    stage: str
    value: float
    allowed: float
    text: str


def window_peaks(loads: Sequence[StageLoad], window_s: float) -> list[float]:
    """Return, per stage, the most requests sent within any window ending in it.

    The rate is taken as constant within each stage, so the count over a sliding
    window is piecewise linear and peaks where the window's start or end meets a stage
    boundary; only those points are evaluated.

    Args:
        loads: The stages in order.
        window_s: The window's length in seconds.

    Returns:
        One count per stage (all sources together; divide by the number of IPs).
    """
    bounds = sorted({load.start for load in loads} | {load.end for load in loads})
    candidates = sorted({*bounds, *(bound + window_s for bound in bounds)})
    peaks = []
    for load in loads:
        inside = [t for t in candidates if load.start < t <= load.end] or [load.end]
        peaks.append(max(_sent_between(loads, t - window_s, t) for t in inside))
    return peaks


def crossings(loads: Sequence[StageLoad], profile: TargetProfile) -> list[Crossing]:
    """Return each limit of the profile that a stage's measured load passed.

    Args:
        loads: The stages in order, with measured rates (and concurrency if known).
        profile: The production limits.

    Returns:
        At most one crossing per limit: the first stage that passed it.
    """
    found: list[Crossing] = []
    if profile.api_rate_rps is not None:
        found += _first(
            "api_rate",
            [(load.stage, load.rps) for load in loads],
            profile.api_rate_rps,
            "{stage} sent {value:,.0f} requests/s, over API Gateway's rate limit of "
            "{allowed:,.0f}/s",
        )
    if profile.waf_limit is not None:
        peaks = window_peaks(loads, profile.waf_window_s)
        per_ip = [peak / profile.generator_ips for peak in peaks]
        found += _first(
            "waf",
            [(load.stage, count) for load, count in zip(loads, per_ip, strict=True)],
            profile.waf_limit,
            "{stage}: one generator IP sent {value:,.0f} requests within "
            f"{profile.waf_window_s:g} s, over the WAF rate-based rule's limit of "
            "{allowed:,.0f}",
        )
    concurrency = [
        (load.stage, load.concurrency) for load in loads if load.concurrency is not None
    ]
    if profile.lambda_concurrency is not None:
        found += _first(
            "lambda",
            [(stage, value) for stage, value in concurrency if value is not None],
            profile.lambda_concurrency,
            "{stage} kept about {value:,.0f} requests in flight (rate x mean latency), "
            "over Lambda's reserved concurrency of {allowed:,.0f}",
        )
    if profile.aurora_max_connections is not None:
        found += _first(
            "aurora",
            [(stage, value) for stage, value in concurrency if value is not None],
            profile.aurora_max_connections,
            "{stage} kept about {value:,.0f} requests in flight, more than Aurora's "
            "{allowed:,.0f} connections if each Lambda holds one",
        )
    return found


def preflight(scenario: Scenario, profile: TargetProfile) -> list[str]:
    """Warn about limits a scenario would pass, from its plan alone.

    A think-time stage's rate is bounded by ``users / mean wait time`` (a user never
    sends faster); a rate stage's rate is its target. Requests in flight never exceed
    the users.

    Args:
        scenario: The scenario about to run.
        profile: The production limits.

    Returns:
        One line per limit the plan may pass; empty when none (or nothing is known).
    """
    if profile.empty:
        return []
    mean_wait = (scenario.wait_time.min_s + scenario.wait_time.max_s) / 2
    loads: list[StageLoad] = []
    elapsed = 0.0
    for stage in scenario.stages:
        rate = stage.rate_per_s
        if rate is None:
            rate = stage.users / mean_wait if mean_wait > 0 else float("inf")
        loads.append(
            StageLoad(
                stage.name,
                elapsed,
                elapsed + stage.duration_s,
                rate,
                stage.users,
                float(stage.users),
            )
        )
        elapsed += stage.duration_s

    warnings = [f"up to: {crossing.text}" for crossing in crossings(loads, profile)]
    if profile.api_burst is not None:
        busiest = max(loads, key=lambda load: load.users)
        if busiest.users > profile.api_burst:
            warnings.append(
                f"{busiest.stage} runs {busiest.users:,.0f} users, more than API "
                f"Gateway's burst of {profile.api_burst:,.0f} if they send at once"
            )
    return warnings


def _first(
    limit: str, values: Sequence[tuple[str, float]], allowed: float, template: str
) -> list[Crossing]:
    """Return the first stage whose value passes ``allowed``, as a one-item list."""
    for stage, value in values:
        if value > allowed:
            text = template.format(stage=stage, value=value, allowed=allowed)
            return [Crossing(limit, stage, value, allowed, text)]
    return []


def _sent_between(loads: Sequence[StageLoad], start: float, end: float) -> float:
    """Return the requests sent between two moments, at each stage's constant rate."""
    return sum(
        load.rps * max(0.0, min(end, load.end) - max(start, load.start))
        for load in loads
    )

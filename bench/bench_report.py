"""Benchmark: the report of a 24-hour run against a bare ``pandas.read_csv`` of its history.

A synthetic run directory is written first (cached under ``--work``): four 6-hour
stages, 20 endpoints, and a ``--csv-full-history`` file with one row per endpoint and
one ``Aggregated`` row every second for 86,400 s (1,814,400 rows, about 220 MB). Then,
each in a fresh process so that memory is measured alone:

* ``read_csv``: ``pandas.read_csv`` of the history file, defaults only;
* ``report``: :func:`reporting.generate` of the run directory (read, judge, analyse,
  chart, write every output).

Targets: the report takes at most twice the read's time, and at most 1.5 GB of peak
memory. Prints one line per measurement and exits 1 when a target is missed::

    .venv/bin/python bench/bench_report.py [--work DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SECONDS = 86_400
ENDPOINTS = 20
STAGES = (("Light", 50), ("Medium", 100), ("Heavy", 200), ("Peak", 400))
T0 = 1_767_225_600
TIME_RATIO = 2.0
MEMORY_MB = 1536.0
PERCENTILES = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%")
PERCENTILES += ("99.99%", "100%")
FACTORS = (1.0, 1.1, 1.2, 1.3, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0)


def main() -> int:
    """Write the run if needed, measure both ways, print, and check the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "loadgate-bench-report",
        help="Where the synthetic run is written and kept between runs.",
    )
    parser.add_argument("--repeat", type=int, default=3, help="Best of N (default 3).")
    args = parser.parse_args()

    run_dir = args.work / "run-24h"
    started = time.perf_counter()
    if write_run(run_dir):
        print(f"wrote {run_dir} in {time.perf_counter() - started:.0f} s", flush=True)

    history = run_dir / "loadgate_stats_history.csv"
    size_mb = history.stat().st_size / 1e6
    read = min((measure("read_csv", history) for _ in range(args.repeat)), key=_secs)
    report = min((measure("report", run_dir) for _ in range(args.repeat)), key=_secs)

    ratio = report["seconds"] / read["seconds"]
    print(f"history: {size_mb:.0f} MB, {SECONDS * (ENDPOINTS + 1):,} rows")
    for name, figures in (("pandas.read_csv", read), ("loadgate report", report)):
        print(
            f"{name:<16} {figures['seconds']:6.2f} s  peak {figures['peak_mb']:6.0f} MB"
        )
    print(f"report / read_csv: {ratio:.2f}x (target <= {TIME_RATIO:g}x)")
    ok = ratio <= TIME_RATIO and report["peak_mb"] <= MEMORY_MB
    print("PASS" if ok else "FAIL: a target was missed")
    return 0 if ok else 1


def _secs(figures: dict[str, float]) -> float:
    return figures["seconds"]


def measure(kind: str, path: Path) -> dict[str, float]:
    """Time one job in a fresh Python process and return its seconds and peak MB."""
    done = subprocess.run(
        [sys.executable, __file__, "--job", kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def job(kind: str, path: Path) -> None:
    """Run one measured job in this process and print its figures as JSON."""
    started = time.perf_counter()
    if kind == "read_csv":
        import pandas as pd

        frame = pd.read_csv(path)
        rows = len(frame)
    else:
        import reporting

        made = reporting.generate(path, path / "report")
        rows = len(made.run.history)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "rows": rows}))


def write_run(run_dir: Path) -> bool:
    """Write a consistent synthetic 24-hour run directory.

    The history (223 MB, the slow part) is kept from an earlier run when it is
    there; the small tables are written every time, so they always match this
    version of loadgate.

    Returns:
        Whether the history had to be written.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    stage_s = SECONDS // len(STAGES)
    names = [f"/api/v1/endpoint_{index:02d}" for index in range(ENDPOINTS)]
    history = run_dir / "loadgate_stats_history.csv"
    missing = not history.exists()
    if missing:
        _write_history(history, np.random.default_rng(7), names, stage_s)
    _write_tables(run_dir, names, stage_s)
    return missing


def _write_history(
    path: Path, rng: np.random.Generator, names: list[str], stage_s: int
) -> None:
    header = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s"]
    header += list(PERCENTILES)
    header += [
        "Total Request Count",
        "Total Failure Count",
        "Total Median Response Time",
        "Total Average Response Time",
        "Total Min Response Time",
        "Total Max Response Time",
        "Total Average Content Size",
    ]
    chunk = 3600
    with path.open("w", newline="", encoding="utf-8") as out:
        out.write(",".join(header) + "\r\n")
        for start in range(0, SECONDS, chunk):
            seconds = np.arange(start, start + chunk)
            users = np.array([STAGES[min(s // stage_s, 3)][1] for s in seconds])
            base = (
                rng.lognormal(3.5, 0.3, (chunk, ENDPOINTS + 1)) * (users / 100)[:, None]
            )
            lines = []
            for i, second in enumerate(seconds):
                rps = users[i] / 2
                for k in range(ENDPOINTS + 1):
                    kind, name = (
                        ("GET", names[k]) if k < ENDPOINTS else ("", "Aggregated")
                    )
                    share = rps / ENDPOINTS if k < ENDPOINTS else rps
                    cells = ",".join(f"{base[i, k] * f:.0f}" for f in FACTORS)
                    total = int(share * (second + 1))
                    lines.append(
                        f"{T0 + second},{users[i]},{kind},{name},{share:.6f},0.000000,"
                        f"{cells},{total},0,{base[i, k]:.0f},{base[i, k]:.1f},2,900,120"
                    )
            out.write("\r\n".join(lines) + "\r\n")


def _write_tables(run_dir: Path, names: list[str], stage_s: int) -> None:
    columns = (
        "stage_index,stage,stage_start,stage_end,endpoint,method,name,requests,failures,"
        "min_ms,mean_ms,max_ms,p50_ms,p90_ms,p95_ms,p99_ms,p999_ms,throughput_rps"
    )
    rows = [columns]
    stages = []
    for index, (stage, users) in enumerate(STAGES):
        start, end = T0 + index * stage_s, T0 + (index + 1) * stage_s
        per = int(users / 2 / ENDPOINTS * stage_s)
        for key, name in enumerate(names):
            rows.append(
                f"{index},{stage},{start},{end},ep{key:02d},GET,{name},{per},0,2,"
                f"{33 * users / 100:.1f},900,33,50,66,99,130,{per / stage_s:.4f}"
            )
        total = per * ENDPOINTS
        rows.append(
            f"{index},{stage},{start},{end},total,,Aggregated,{total},0,2,"
            f"{33 * users / 100:.1f},900,33,50,66,99,130,{total / stage_s:.4f}"
        )
        stages.append(
            {
                "name": stage,
                "users": users,
                "spawn_rate": 10.0,
                "duration_s": float(stage_s),
                "start": float(start),
                "end": float(end),
            }
        )
    (run_dir / "loadgate_stages.csv").write_text("\n".join(rows) + "\n")
    stats = [
        "Type,Name,Request Count,Failure Count,Median Response Time,"
        "Average Response Time,Min Response Time,Max Response Time,"
        "Average Content Size,Requests/s,Failures/s," + ",".join(PERCENTILES)
    ]
    for name in names:
        stats.append(
            f"GET,{name},100000,0,33,40.0,2,900,120,1.1,0.0," + ",".join(["50"] * 11)
        )
    stats.append(
        f",Aggregated,{100000 * ENDPOINTS},0,33,40.0,2,900,120,23.1,0.0,"
        + ",".join(["50"] * 11)
    )
    (run_dir / "loadgate_stats.csv").write_text("\r\n".join(stats) + "\r\n")
    # A healthy day: Locust's failure and exception tables hold their headers only.
    (run_dir / "loadgate_failures.csv").write_text(
        "Method,Name,Error,Occurrences,First Seen,Last Seen\r\n"
    )
    (run_dir / "loadgate_exceptions.csv").write_text(
        "Count,Message,Traceback,Nodes\r\n"
    )
    (run_dir / "run.json").write_text(
        json.dumps(
            {
                "scenario": "soak-24h",
                "host": "http://127.0.0.1:8080",
                "locust_version": "2.47.0",
                "loadgate_version": "0.1.0",
                "started_at": float(T0),
                "ended_at": float(T0 + SECONDS),
                "workers": 4,
                "stopped_early": False,
                "fatal_error": None,
                "stages": stages,
                "thresholds": [
                    {"metric": "p95_ms", "op": "below", "limit": 1000},
                    {"metric": "availability_pct", "op": "at_least", "limit": 99.9},
                ],
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--job":
        job(sys.argv[2], Path(sys.argv[3]))
        sys.exit(0)
    sys.exit(main())

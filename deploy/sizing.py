"""Measure what a loadgate worker process carries, to size a fleet from.

Starts the sandbox on 127.0.0.1, runs ``loadgate run --workers W`` with one flat stage of
U users at the ``staged`` scenario's think time (1-3 s between requests) and, once every
user is running, samples the CPU time and memory of the master and of each worker
(psutil) while counting the requests the sandbox received. Prints, per worker process:
requests per second, CPU share, CPU milliseconds per request and memory; and the
master's. The sandbox, the master and the workers share this machine's cores, so the
CPU per request, not the total rate, is the figure that carries over to a fleet.

Usage: ``.venv/bin/python deploy/sizing.py [--workers 2] [--users 300] [--seconds 40]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

import sandbox
from loadgate.scenarios import DEFAULT_SCENARIOS_PATH

RAMP_S = 10.0
"""Seconds the users take to start; the measurement begins after them."""


@dataclass
class Sample:
    """CPU seconds and resident memory of one process at one moment."""

    cpu_s: float
    rss_mb: float


def sample(process: psutil.Process) -> Sample:
    """Return the process's CPU time so far and its memory now."""
    times = process.cpu_times()
    return Sample(times.user + times.system, process.memory_info().rss / 2**20)


def scenario_file(directory: Path, users: int, seconds: float) -> Path:
    """Write a scenarios file with one flat stage, ``sizing``, at staged's think time."""
    data = yaml.safe_load(DEFAULT_SCENARIOS_PATH.read_text(encoding="utf-8"))
    think = data["scenarios"]["staged"]["wait_time"]
    stage = {
        "name": "Flat",
        "users": users,
        "spawn_rate": users / RAMP_S,
        "duration": RAMP_S + seconds + 5,
    }
    data["scenarios"] = {"sizing": {"wait_time": think, "stages": [stage]}}
    path = directory / "scenarios.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def find_processes(
    run: subprocess.Popen[bytes], results: Path, workers: int, deadline: float
) -> tuple[psutil.Process, list[psutil.Process]]:
    """Return the Locust master and workers of the run, once they have started."""
    while time.monotonic() < deadline:
        started = list(results.glob("*/workers.json"))
        if started:
            pids = json.loads(started[0].read_text(encoding="utf-8"))["workers"]
            children = psutil.Process(run.pid).children()
            masters = [p for p in children if "--master" in p.cmdline()]
            if len(pids) == workers and masters:
                return masters[0], [psutil.Process(pid) for pid in pids]
        time.sleep(0.2)
    raise TimeoutError("the run's master and workers did not start")


def count_requests(request_log: Path, start: float, end: float) -> int:
    """Return how many requests the sandbox received between two moments."""
    records = sandbox.read_request_log(request_log)
    return sum(1 for record in records if start <= record["ts"] < end)


def main() -> int:
    """Run the measurement and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        path = scenario_file(work, args.users, args.seconds)
        with sandbox.running(work / "sandbox") as state:
            command = [
                sys.executable,
                "-m",
                "loadgate",
                "run",
                "--scenario",
                "sizing",
                "--scenarios-file",
                str(path),
                "--sandbox",
                str(work / "sandbox"),
                "--workers",
                str(args.workers),
                "--results",
                str(work / "results"),
            ]
            with subprocess.Popen(command, stdout=subprocess.DEVNULL) as run:
                deadline = time.monotonic() + 60
                master, workers = find_processes(
                    run, work / "results", args.workers, deadline
                )
                time.sleep(RAMP_S + 3)
                start = time.time()
                before = [sample(p) for p in (master, *workers)]
                time.sleep(args.seconds)
                after = [sample(p) for p in (master, *workers)]
                end = time.time()
                run.wait(timeout=120)
            requests = count_requests(Path(state.request_log), start, end)

    wall = end - start
    rate = requests / wall
    print(
        f"{args.users} users on {args.workers} workers, think time 1-3 s, "
        f"{wall:.0f} s measured: {rate:.0f} req/s in all"
    )
    names = ["master", *(f"worker {n + 1}" for n in range(args.workers))]
    for name, first, last in zip(names, before, after, strict=True):
        cpu = last.cpu_s - first.cpu_s
        share = rate / args.workers if name != "master" else rate
        print(
            f"{name:<9} {share:6.0f} req/s  CPU {100 * cpu / wall:5.1f} %  "
            f"{1000 * cpu / (share * wall):5.2f} ms CPU/request  RSS {last.rss_mb:5.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: what loadgate's user class and stage recorder cost in requests per second.

One process runs, in turn, a bare ``FastHttpUser`` and loadgate's ``ChatUser`` (with its
stage recorder attached) against a trivial local HTTP server, each with no think time,
for the same number of seconds; the rounds alternate to even out drift. It prints the
median requests per second of each and their ratio (goal: >= 0.9).

Usage: ``python bench/bench_collector.py [--seconds 8] [--rounds 3] [--users 10]``
"""

# locust first: gevent must patch the standard library before anything else loads.
from locust import FastHttpUser, constant, task  # isort: skip

import argparse
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import gevent
from locust.env import Environment

from loadgate.scenarios import Endpoint, Scenario, Stage, WaitTime
from locustfiles import chat
from locustfiles._recorder import StageRecorder

HERE = Path(__file__).resolve().parent


class BareUser(FastHttpUser):
    """The baseline: one GET, no think time, nothing else."""

    wait_time = constant(0)

    @task
    def ping(self) -> None:
        """Send the request."""
        self.client.get("/ping")


class StaticTokens:
    """A token provider for the benchmark: the trivial server checks nothing."""

    def bearer_for(self, user_index: int) -> str:
        """Return the same opaque token for every user."""
        return "benchmark"

    def share_rate(self, processes: int) -> None:
        """Sign-in pacing does not apply: nothing signs in."""


SCENARIO = Scenario(
    name="bench",
    description="one endpoint, no think time",
    stages=(Stage("Flat", 10, 10, 3600),),
    wait_time=WaitTime(0, 0),
    thresholds=(),
    endpoints={"ping": Endpoint("ping", "GET", "/ping", 1.0)},
)


def measure(
    user_class: type[FastHttpUser], host: str, users: int, seconds: float
) -> float:
    """Run one user class alone and return its requests per second."""
    env = Environment(user_classes=[user_class], host=host)
    if user_class is chat.ChatUser:
        recorder = StageRecorder(env, SCENARIO)
        recorder.attach()
        chat._process = chat._Process(SCENARIO, recorder, StaticTokens())
        recorder.enter_stage(0)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users)
    gevent.sleep(1)  # let every user start before counting
    before, started = env.stats.total.num_requests, time.perf_counter()
    gevent.sleep(seconds)
    done, elapsed = env.stats.total.num_requests - before, time.perf_counter() - started
    runner.quit()
    return done / elapsed


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, str(HERE / "_trivial_server.py"), str(port)]
    )
    try:
        gevent.sleep(1)
        host = f"http://127.0.0.1:{port}"
        bare, loadgate = [], []
        for _ in range(args.rounds):
            bare.append(measure(BareUser, host, args.users, args.seconds))
            loadgate.append(measure(chat.ChatUser, host, args.users, args.seconds))
    finally:
        server.terminate()
        server.wait()

    ratio = statistics.median(loadgate) / statistics.median(bare)
    print(f"bare FastHttpUser      {statistics.median(bare):8.0f} req/s  {bare}")
    print(
        f"loadgate ChatUser      {statistics.median(loadgate):8.0f} req/s  {loadgate}"
    )
    print(f"ratio (goal >= 0.9)    {ratio:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

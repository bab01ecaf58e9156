"""Helpers shared by reporting tests: modified copies of the demo run."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

DEMO_DIR = Path(__file__).parent / "data" / "run_demo"
LATENCIES = ("min_ms", "mean_ms", "max_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms")


def shifted_copy(
    target: Path, endpoint: str, added_ms: float, extra_failures: int = 0
) -> Path:
    """Copy the demo run with ``added_ms`` on every latency of one endpoint.

    ``extra_failures`` more of its requests failed in Heavy.
    """
    shutil.copytree(DEMO_DIR, target)
    path = target / "loadgate_stages.csv"
    with path.open(newline="", encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    for row in rows:
        if row["endpoint"] != endpoint:
            continue
        for column in (*LATENCIES, "p999_ms"):
            row[column] = f"{float(row[column]) + added_ms:g}"
        if row["stage"] == "Heavy":
            row["failures"] = str(int(row["failures"]) + extra_failures)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target


def rewrite_cells(path: Path, replacements: dict[str, str]) -> None:
    """Replace whole cells of a CSV file, quoting them properly."""
    with path.open(newline="", encoding="utf-8") as source:
        rows = list(csv.reader(source))
    with path.open("w", newline="", encoding="utf-8") as target:
        csv.writer(target).writerows(
            [[replacements.get(cell, cell) for cell in row] for row in rows]
        )


def stopped_copy(target: Path, medium_s: float = 5.6) -> Path:
    """Copy the demo run as if it had been stopped ``medium_s`` seconds into Medium.

    Light ran in full, Medium in part; Heavy and Peak never ran (their rows are gone).
    """
    shutil.copytree(DEMO_DIR, target)
    path = target / "run.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    medium = document["stages"][1]
    medium["end"] = medium["start"] + medium_s
    for stage in document["stages"][2:]:
        stage.update(start=None, end=None)
    document.update(stopped_early=True, ended_at=medium["end"])
    path.write_text(json.dumps(document), encoding="utf-8")

    table = target / "loadgate_stages.csv"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if ",Heavy," not in line and ",Peak," not in line]
    table.write_text("".join(kept), encoding="utf-8")
    return target

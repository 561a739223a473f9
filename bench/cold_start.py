"""Cold start: the wall time of one `podkb` command from a new process, as a user runs it.

    .venv/bin/python bench/cold_start.py [--kb KB] [--runs 7]

On the sample knowledge base (built from transcripts/ into a temporary folder unless --kb is
given). Baselines in the same run: the interpreter alone (`python -c pass`), and `podkb search`
with the query embedded by sentence-transformers on torch (PODKB_ONNX=0), as every search was
before the ONNX copy. Each command runs --runs times after one warm-up run (the OS file cache
warm, as on a machine in use); the table gives the median and the slowest.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PODKB = [sys.executable, "-c", "from podkb.ui.cli import main; main()"]


def timed(command: list[str], runs: int, env: dict | None = None) -> tuple[float, float]:
    env = {**os.environ, **(env or {})}
    subprocess.run(command, capture_output=True, env=env, check=True)
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, check=True)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls), max(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", help="a knowledge base of the samples (default: build one)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    kb = args.kb or str(Path(tempfile.mkdtemp(prefix="podkb-cold-")) / "kb")
    subprocess.run([*PODKB, "add", str(ROOT / "transcripts"), "--kb", kb], capture_output=True, check=True)
    subprocess.run([*PODKB, "quote", "add", "Rest", "--episode", "chai", "--start", "27:31", "--kb", kb],
                   capture_output=True, check=True)
    question = "how to avoid burnout"
    rows = [
        ("python -c pass (the interpreter alone: baseline)", [sys.executable, "-c", "pass"], None),
        (f'podkb search "{question}" (torch, PODKB_ONNX=0: baseline)', [*PODKB, "search", question, "--kb", kb],
         {"PODKB_ONNX": "0"}),
        (f'podkb search "{question}"', [*PODKB, "search", question, "--kb", kb], None),
        (f'podkb ask "{question}"', [*PODKB, "ask", question, "--kb", kb], None),
        ("podkb episodes", [*PODKB, "episodes", "--kb", kb], None),
        ("podkb show chai", [*PODKB, "show", "chai", "--kb", kb], None),
        ("podkb collections", [*PODKB, "collections", "--kb", kb], None),
        ("podkb export Rest --format csv", [*PODKB, "export", "Rest", "--format", "csv", "--kb", kb], None),
        ("podkb info", [*PODKB, "info", "--kb", kb], None),
    ]
    print(f"# podkb cold start, {date.today()}, {platform.node()} {platform.machine()}, {os.cpu_count()} cores; "
          f"the sample knowledge base; {args.runs} runs each")
    print()
    print("| command | median s | slowest s |")
    print("|---|---|---|")
    for label, command, env in rows:
        median, slowest = timed(command, args.runs, env)
        print(f"| {label} | {median:.2f} | {slowest:.2f} |", flush=True)


if __name__ == "__main__":
    main()

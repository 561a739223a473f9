"""Peak memory of `podkb add` on a long Whisper JSON transcript, beside an empty run as the baseline.

    .venv/bin/python bench/import_memory.py [--segments 1000000] [--tree DIR]

Each run is a fresh process; its peak is VmHWM (ru_maxrss would count the parent's memory at the
fork). --tree runs the same against another checkout, e.g. an older commit, for comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEAK = ("import atexit, re, sys; atexit.register(lambda: sys.stderr.write('peak-kb ' + re.search("
        "r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1] + '\\n')); from podkb.ui.cli import main; main()")


def run(tree: Path, *args: str) -> tuple[float, float]:
    """(peak MB, seconds) of one podkb command in a fresh process."""
    began = time.monotonic()
    result = subprocess.run([sys.executable, "-c", PEAK, *args], cwd=tree, capture_output=True, text=True,
                            env=dict(os.environ, PODKB_MODEL="py:tests.fake_embedder:HashEmbedder"))
    if result.returncode:
        sys.exit(result.stderr)
    peak = next(int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("peak-kb"))
    return peak / 1024, time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--segments", type=int, default=1_000_000)
    parser.add_argument("--tree", type=Path, default=ROOT)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.json"
        segments = [{"start": i * 2.0, "end": i * 2.0 + 1.5, "text": f"seg {i} w{i % 977}."}
                    for i in range(options.segments)]
        path.write_text(json.dumps({"segments": segments}))
        del segments
        size = path.stat().st_size / 2**20
        baseline, _ = run(options.tree, "episodes", "--kb", f"{tmp}/empty")
        peak, seconds = run(options.tree, "add", str(path), "--kb", f"{tmp}/kb", "--no-index")
    print(f"{options.segments:,} segments, {size:.1f} MB of JSON: peak {peak:.0f} MB, "
          f"{peak - baseline:.0f} MB above an empty run's {baseline:.0f} MB = {(peak - baseline) / size:.1f}x the file; "
          f"{seconds:.1f} s")


if __name__ == "__main__":
    main()

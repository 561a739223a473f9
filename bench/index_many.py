"""Indexing many small episodes: the whole `KnowledgeBase.sync` after `add --no-index`, batched across
episodes (now) against one episode at a time (before, the baseline), and against the floor, a bare
`encode` of the same passages and sentences in one call each. Each run in a fresh process, with
its peak memory.

    .venv/bin/python bench/index_many.py [--episodes 1000] [--baseline-episodes 1000] [--model NAME]

Episodes are one-line transcripts of real sample sentences, as a folder of short clips or a feed
of one-minute notes gives them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sentences(n: int) -> list[str]:
    """n distinct sentences of 8 to 40 words from the samples."""
    found = []
    for path in sorted((ROOT / "transcripts").glob("*.txt")):
        text = " ".join(path.read_text(encoding="utf-8").split())
        found += [s for s in re.split(r"(?<=[.!?])\s+", text) if 8 <= len(s.split()) <= 40]
    found = list(dict.fromkeys(found))
    return [f"{found[i % len(found)]} (note {i})" for i in range(n)]


def run_one(episodes: int, batch: int, model: str | None) -> dict:
    """In this process: add ``episodes`` one-line files without indexing, then time the sync."""
    from podkb import KnowledgeBase
    from podkb.index import load

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "notes"
        folder.mkdir()
        for n, text in enumerate(sentences(episodes)):
            (folder / f"note-{n:05d}.txt").write_text(text + "\n", encoding="utf-8")
        os.environ["PODKB_BATCH_PASSAGES"] = str(batch)
        embedder = load(model)
        embedder.encode(["warm up"])  # the model's load is not what is measured
        with KnowledgeBase(Path(tmp) / "kb", embedder=embedder) as kb:
            kb.add([str(folder)], index=False)
            began = time.perf_counter()
            report = kb.sync()
            took = time.perf_counter() - began
            assert kb.search("note 7", k=1), "the index answers nothing"
    return {"episodes": report.episodes, "passages": report.passages, "seconds": took,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def floor(episodes: int, model: str | None) -> dict:
    """A bare encode of what the sync embeds (each passage, then each sentence), one call each."""
    from podkb.index.embed import load

    texts = sentences(episodes)
    embedder = load(model)
    embedder.encode(["warm up"])
    began = time.perf_counter()
    embedder.encode(texts)
    embedder.encode(texts)  # a one-sentence passage's sentence is its own text
    return {"episodes": episodes, "passages": len(texts), "seconds": time.perf_counter() - began,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_process(kind: str, episodes: int, batch: int, model: str | None) -> dict:
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); import index_many as b; "
            f"print(json.dumps(b.{kind}({episodes}, {batch}, {model!r}) if {kind!r} == 'run_one' "
            f"else b.floor({episodes}, {model!r})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--baseline-episodes", type=int, default=1000,
                        help="episodes for the one-at-a-time baseline (it is slow)")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    from podkb.index.store import BATCH_PASSAGES

    print(f"# Indexing many small episodes; {platform.node()} ({platform.machine()}, {os.cpu_count()} cores), "
          f"{date.today()}")
    print()
    print("| run | episodes | seconds | episodes/s | × the floor | peak memory |")
    print("|---|---|---|---|---|---|")
    rows = [("floor: bare encode of passages + sentences", in_process("floor", args.episodes, 0, args.model)),
            (f"now: batched across episodes ({BATCH_PASSAGES} passages)",
             in_process("run_one", args.episodes, BATCH_PASSAGES, args.model)),
            ("baseline: one episode at a time (before)",
             in_process("run_one", args.baseline_episodes, 1, args.model))]
    floor_rate = rows[0][1]["episodes"] / rows[0][1]["seconds"]
    for name, r in rows:
        rate = r["episodes"] / r["seconds"]
        print(f"| {name} | {r['episodes']} | {r['seconds']:.1f} | {rate:.1f} | {floor_rate / rate:.2f} | "
              f"{r['peak_mb']:.0f} MB |")


if __name__ == "__main__":
    main()

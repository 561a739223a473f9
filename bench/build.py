"""What building the sample knowledge base costs: embedding throughput and a first run, each beside a baseline.

    .venv/bin/python bench/build.py [--model NAME] [--tree DIR]

Throughput: the model embeds the sample passages as indexing does now (each passage, then each of
its sentences) and, as the baseline, the passages alone (what indexing did before sentences were
stored), in passages per second. First run: `podkb add transcripts/` into a new knowledge base in
a fresh process (model load included), as the first `make run` does; --tree also times another
checkout (e.g. an older commit) the same way, as its baseline.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sample_passages() -> list:
    from podkb import KnowledgeBase
    from podkb.index import passages

    with tempfile.TemporaryDirectory() as tmp, KnowledgeBase(tmp) as kb:
        kb.add([str(ROOT / "transcripts")], index=False)
        return [p for e in kb.episodes() for p in passages.build(e.id, kb.segments(e.id))
                if p.words >= passages.INDEX_MIN_WORDS]


def first_run(tree: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        env = {k: v for k, v in os.environ.items() if k != "PODKB_MODEL"}
        subprocess.run([sys.executable, "-c", "from podkb.ui.cli import main; main()", "add", str(ROOT / "transcripts"),
                        "--kb", tmp], cwd=tree, check=True, capture_output=True, env=env)
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="embedding model (default: the default model)")
    parser.add_argument("--tree", type=Path, help="another checkout to time a first run of, as a baseline")
    args = parser.parse_args()
    from podkb.index.embed import encode_passages, load

    built = sample_passages()
    model = load(args.model)
    model.encode(["warm up"])
    texts, spans = [p.text for p in built], [p.spans for p in built]
    began = time.perf_counter()
    model.encode(texts)
    alone = time.perf_counter() - began
    began = time.perf_counter()
    encode_passages(model, texts, spans)
    both = time.perf_counter() - began
    print(f"| {model.name} | {len(texts)} passages, {sum(map(len, spans))} sentences | "
          f"passages alone (baseline): {len(texts) / alone:.1f}/s | with their sentences (now): {len(texts) / both:.1f}/s |")
    print(f"| first run, this tree: podkb add transcripts/ | {first_run(ROOT):.1f} s |")
    if args.tree:
        print(f"| first run, {args.tree}: podkb add transcripts/ | {first_run(args.tree):.1f} s |")


if __name__ == "__main__":
    main()

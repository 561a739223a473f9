"""Search quality on tests/eval/questions.toml: hit@1, hit@5 and MRR@10 for keyword, dense and hybrid.

    .venv/bin/python bench/quality.py [--kb DIR] [--model NAME]

Without --kb it builds a knowledge base of transcripts/ in a temporary folder.
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

from ingest import Library, add_paths
from index import Index
from index.evaluate import evaluate, load_questions

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", help="an existing knowledge base of transcripts/ (default: build one)")
    parser.add_argument("--model", help="embedding model (default: all-MiniLM-L6-v2)")
    parser.add_argument("--misses", action="store_true", help="list the questions each mode missed")
    args = parser.parse_args()
    questions = load_questions(ROOT / "tests" / "eval" / "questions.toml")
    kb = Path(args.kb) if args.kb else Path(tempfile.mkdtemp(prefix="podkb-quality-"))
    with Library(kb) as library:
        if not args.kb:
            list(add_paths(library, [str(ROOT / "transcripts")]))
        index = Index(library, model=args.model)
        started = time.perf_counter()
        index.sync()
        built = time.perf_counter() - started
        print(f"# Search quality, {len(questions)} questions, model {index.model}")
        print(f"# {platform.node()} ({platform.machine()}, {platform.processor() or 'cpu'}), {date.today()}, "
              f"index built in {built:.1f} s")
        print()
        print("| mode | hit@1 | hit@5 | MRR@10 |")
        print("|---|---|---|---|")
        for mode, fusion in (("keyword", "convex"), ("dense", "convex"), ("hybrid", "rrf"), ("hybrid", "convex")):
            m = evaluate(index, questions, mode, fusion)
            print(f"| {m.mode} | {m.hit_at_1:.3f} | {m.hit_at_5:.3f} | {m.mrr_at_10:.3f} |")
            if args.misses:
                for q in m.misses:
                    print(f"|   missed: {q} | | | |")


if __name__ == "__main__":
    main()

"""Search quality on tests/eval/questions.toml: hit@1, hit@5 and MRR@10 per kind of question,
for each model and mode, in one run.

    .venv/bin/python bench/quality.py [--kb DIR] [--model NAME ...] [--misses]

Without --kb it builds a knowledge base of transcripts/ in a temporary folder; each further
--model is indexed in its own copy of it (e.g. --model all-MiniLM-L6-v2 --model all-mpnet-base-v2).
"""
from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from podkb.ingest import add_paths

from podkb.knowledgebase import open_store
from podkb.index import Index
from podkb.index.evaluate import by_kind, load_questions

ROOT = Path(__file__).resolve().parent.parent
MODES = (("keyword", "convex"), ("dense", "convex"), ("hybrid", "rrf"), ("hybrid", "convex"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", help="an existing knowledge base of transcripts/ (default: build one)")
    parser.add_argument("--model", action="append", help="embedding model; repeat to compare (default: the KB's)")
    parser.add_argument("--misses", action="store_true", help="list the questions each mode missed")
    args = parser.parse_args()
    questions = load_questions(ROOT / "tests" / "eval" / "questions.toml")
    base = Path(args.kb) if args.kb else Path(tempfile.mkdtemp(prefix="podkb-quality-")) / "kb"
    if not args.kb:
        with open_store(base) as library:
            list(add_paths(library, [str(ROOT / "transcripts")]))
    print(f"# Search quality, {len(questions)} questions; {platform.node()} ({platform.machine()}), {date.today()}")
    print()
    print("| model | mode | kind | questions | hit@1 | hit@5 | MRR@10 |")
    print("|---|---|---|---|---|---|---|")
    for n, model in enumerate(args.model or [None]):
        kb = base
        if n:  # another model: its own copy, re-indexed
            kb = base.parent / f"{base.name}-{n}"
            shutil.copytree(base, kb, dirs_exist_ok=True)
        with open_store(kb) as library:
            index = Index(library, model=model, check_model=False)
            started = time.perf_counter()
            index.reindex() if model and library.db.execute(
                "SELECT value FROM index_meta WHERE key = 'model'").fetchone() not in (None, (model,)) else index.sync()
            built = time.perf_counter() - started
            for mode, fusion in MODES:
                name = f"{mode} ({fusion})" if mode == "hybrid" else mode
                for kind, m in by_kind(index, questions, mode, fusion).items():
                    print(f"| {index.model} | {name} | {kind} | {m.questions} | {m.hit_at_1:.3f} | {m.hit_at_5:.3f} "
                          f"| {m.mrr_at_10:.3f} |")
                    if args.misses and kind == "all":
                        for q in m.misses:
                            print(f"| | | missed: {q} | | | | |")
            print(f"| {index.model} | (indexed in {built:.0f} s) | | | | | |")


if __name__ == "__main__":
    main()

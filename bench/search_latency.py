"""Latency of the whole public search call on the sample knowledge base, highlights and answer-first included.

    .venv/bin/python bench/search_latency.py [--kb DIR] [--rounds 3]

Times KnowledgeBase.search (query embedding, FAISS and FTS5 candidates, fusion, hits, collapse, the
sentence to cite) for each question of tests/eval/questions.toml. The baseline, in the same run,
is the same knowledge base without its stored sentence vectors: every hit's sentences are then
embedded at query time, as every search did before they were stored. Also times `podkb ask`'s call.
"""
from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from podkb import KnowledgeBase
from podkb.index.evaluate import load_questions

ROOT = Path(__file__).resolve().parent.parent


def timings(kb: Path, questions: list[str], rounds: int, call) -> list[float]:
    with KnowledgeBase(kb) as base:
        call(base, "warm up the model and the caches")
        out = []
        for _ in range(rounds):
            for question in questions:
                began = time.perf_counter()
                call(base, question)
                out.append((time.perf_counter() - began) * 1000)
    return sorted(out)


def row(name: str, ms: list[float]) -> str:
    return f"| {name} | {statistics.median(ms):.1f} | {ms[int(len(ms) * 0.99) - 1]:.1f} | {len(ms)} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", help="a knowledge base of transcripts/ (default: build one)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    questions = [q.q for q in load_questions(ROOT / "tests" / "eval" / "questions.toml")]
    with tempfile.TemporaryDirectory() as tmp:
        kb = Path(args.kb) if args.kb else Path(tmp) / "kb"
        if not args.kb:
            began = time.perf_counter()
            with KnowledgeBase(kb) as base:
                base.add([ROOT / "transcripts"])
            print(f"built the sample knowledge base in {time.perf_counter() - began:.1f} s")
        baseline = Path(tmp) / "baseline"
        shutil.copytree(kb, baseline)
        with sqlite3.connect(baseline / "podkb.db") as db:
            db.execute("DELETE FROM sentence_vectors")
        search = lambda base, q: base.search(q, k=10)  # noqa: E731
        print("| call | p50 ms | p99 ms | searches |\n|---|---|---|---|")
        print(row("search, sentence vectors stored (now)", timings(kb, questions, args.rounds, search)))
        print(row("search, sentences embedded per query (baseline)", timings(baseline, questions, args.rounds, search)))
        print(row("ask (key points: spans of 40 hits, 24 judged again)", timings(kb, questions, args.rounds,
                                                           lambda base, q: base.ask(q, k=5))))


if __name__ == "__main__":
    main()

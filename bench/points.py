"""Key points to judge by hand, and "no answer" on questions a library can't answer.

    .venv/bin/python bench/points.py [--cache DIR] [--corpus NAME ...] [--questions 20] [--json OUT]

For each evaluation corpus: its first N advice questions, asked as a user asks them
(`KnowledgeBase.ask`, 5 points), each point printed with its citation and whether it contains one of
the question's listed answer phrases (a hint for the judge, not the verdict); then every question of
the corpus, answerable or not (`[[unanswerable]]` in its TOML), with `answered` and `confidence`,
and the share of each kind that got "no answer". ``--json`` also writes the points and verdicts
there, for bench/judging.py to make blind sheets from (two runs, the commit before and this one).

The knowledge bases are the ones bench/quality.py builds (same --cache).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
import tomllib
from pathlib import Path

from podkb import KnowledgeBase
from podkb.index.evaluate import _norm, load_questions

from quality import CORPORA, build


def advice(corpus: str, count: int):
    questions = load_questions(CORPORA[corpus][0])
    return [q for q in questions if q.kind == "advice"][:count]


def unanswerable(corpus: str) -> list[tuple[str, str]]:
    """(question, kind) of the corpus's unanswerable questions: none-short (a 2-3 word topic query),
    none-near or none-far."""
    data = tomllib.loads(Path(CORPORA[corpus][0]).read_text(encoding="utf-8"))
    return [(item["q"], "none-short" if item.get("short") else "none-near" if item.get("near") else "none-far")
            for item in data.get("unanswerable", [])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "podkb" / "quality")
    parser.add_argument("--corpus", choices=sorted(CORPORA), action="append")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the points and verdicts here")
    args = parser.parse_args()
    dump = {}
    for corpus in args.corpus or list(CORPORA):
        folder = build(corpus, None, args.cache)
        with KnowledgeBase(folder, check_model=False) as kb:
            kb.ask("warm up the models", sync=False)
            print(f"## {corpus}\n")
            asked, times = [], []
            for n, question in enumerate(advice(corpus, args.questions), 1):
                began = time.perf_counter()
                answer = kb.ask(question.q, points=5, sync=False)
                times.append(time.perf_counter() - began)
                print(f"Q{n}. {question.q}")
                points = []
                for m, point in enumerate(answer.points, 1):
                    listed = any(a.episode == point.episode_id and _norm(a.contains) in _norm(point.text)
                                 for a in question.answers)
                    when = "" if point.start is None else f"{point.start:.0f}s"
                    print(f"  {m}. [{point.episode_id} {when} {point.speaker or '-'}]{' (listed)' if listed else ''}"
                          f" {point.text}")
                    points.append({"text": point.text, "episode_id": point.episode_id, "start": point.start,
                                   "speaker": point.speaker, "citation": point.citation, "listed": listed})
                asked.append({"q": question.q, "points": points, "answered": getattr(answer, "answered", True)})
                print()
            verdicts = []
            for text, kind in [(q.q, q.kind) for q in load_questions(CORPORA[corpus][0])] + \
                    unanswerable(corpus):
                began = time.perf_counter()
                answer = kb.ask(text, points=5, sync=False)
                times.append(time.perf_counter() - began)
                verdicts.append({"q": text, "kind": kind, "answered": getattr(answer, "answered", True),
                                 "confidence": getattr(answer, "confidence", None)})
            print("| kind | questions | \"no answer\" |\n|---|---|---|")
            for kind in sorted({v["kind"] for v in verdicts}):
                these = [v for v in verdicts if v["kind"] == kind]
                refused = sum(not v["answered"] for v in these)
                print(f"| {kind} | {len(these)} | {refused} ({refused / len(these):.0%}) |")
            print(f"\nask p50 {statistics.median(times) * 1000:.0f} ms over {len(times)} questions\n")
            dump[corpus] = {"advice": asked, "verdicts": verdicts, "p50_ms": statistics.median(times) * 1000}
    if args.json:
        args.json.write_text(json.dumps(dump, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()

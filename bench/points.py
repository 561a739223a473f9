"""Key points to judge by hand: the first 10 advice questions of each evaluation corpus, asked as a
user asks them (`KnowledgeBase.ask`, 5 points), each point printed with its citation and whether it
contains one of the question's listed answer phrases (a hint for the judge, not the verdict).

    .venv/bin/python bench/points.py [--cache DIR] [--corpus samples|founderstalk] [--questions 10]

The knowledge bases are the ones bench/quality.py builds (same --cache). Write the verdicts, one per
point (A: an answer to the question, N: not an answer), in bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from podkb import KnowledgeBase
from podkb.index.evaluate import _norm, load_questions

from quality import CORPORA, build


def advice(corpus: str, count: int):
    questions = load_questions(CORPORA[corpus][0])
    return [q for q in questions if q.kind == "advice"][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "podkb" / "quality")
    parser.add_argument("--corpus", choices=sorted(CORPORA), action="append")
    parser.add_argument("--questions", type=int, default=10)
    args = parser.parse_args()
    for corpus in args.corpus or list(CORPORA):
        folder = build(corpus, None, args.cache)
        with KnowledgeBase(folder, check_model=False) as kb:
            print(f"## {corpus}\n")
            questions = 0
            points = 0
            for n, question in enumerate(advice(corpus, args.questions), 1):
                answer = kb.ask(question.q, points=5, sync=False)
                print(f"Q{n}. {question.q}")
                for m, point in enumerate(answer.points, 1):
                    listed = any(a.episode == point.episode_id and _norm(a.contains) in _norm(point.text)
                                 for a in question.answers)
                    when = "" if point.start is None else f"{point.start:.0f}s"
                    print(f"  {m}. [{point.episode_id} {when} {point.speaker or '-'}]{' (listed)' if listed else ''}"
                          f" {point.text}")
                    points += 1
                    assert not point.text.rstrip().endswith("?"), point.text
                questions += 1
                print()
            print(f"{questions} questions, {points} points, none ends with '?'\n")


if __name__ == "__main__":
    main()

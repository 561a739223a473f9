"""Blind judging of key points: sheets from two runs of bench/points.py, and the scores from verdicts.

    .venv/bin/python bench/judging.py sheets NAME=RUN.json [NAME=RUN.json ...] --out DIR
    .venv/bin/python bench/judging.py score DIR

``sheets`` writes, per corpus, DIR/CORPUS.md: each advice question with the union of the runs' points,
duplicates merged, in a shuffled order that says nothing of which run gave which (the key is kept in
DIR/key.json). A judge who has seen neither the code nor the runs writes DIR/CORPUS.verdicts.tsv, one
line per point: ``Q<n>\tP<m>\tA|N\tFLAG\tnote`` (A: it answers the question, read on its own; FLAG for
an N: Q a question, P a promo, intro or credits, L a lead-in or announcement without its content,
F a fragment that means nothing alone, R the problem restated or background, W about something else).
``score`` gives, per corpus and run: the points shown and the share of them that answer, answering points
per question, the questions whose first point answers (a question with no point counts as not), answers
among the first three, and the N points by flag.
"""
from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path

FLAGS = {"Q": "a question", "P": "a promo, intro or credits", "L": "a lead-in or announcement", "F": "a fragment",
         "R": "the problem restated or background", "W": "about something else"}


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def sheets(named: list[str], out: Path) -> None:
    runs = {}
    for item in named:
        name, _, path = item.partition("=")
        runs[name] = json.loads(Path(path).read_text())
    out.mkdir(parents=True, exist_ok=True)
    key: dict = {}
    first = next(iter(runs))
    for corpus in runs[first]:
        lines = [f"# Key points to judge: {corpus}", "",
                 "For each question, read each point on its own, as a listener would, and judge: does it answer "
                 "the question? Write one line per point into the verdicts file.", ""]
        key[corpus] = {}
        questions = runs[first][corpus]["advice"]
        for n, question in enumerate(questions, 1):
            pooled: dict[str, dict] = {}
            for run, data in runs.items():
                asked = next((a for a in data[corpus]["advice"] if a["q"] == question["q"]), None)
                for rank, point in enumerate(asked["points"] if asked else [], 1):
                    entry = pooled.setdefault(_key(point["text"]), {"point": point, "in": {}})
                    entry["in"][run] = rank
            ordered = sorted(pooled.values(), key=lambda e: hashlib.sha256(
                (question["q"] + e["point"]["text"]).encode()).hexdigest())
            lines += [f"## Q{n}. {question['q']}", ""]
            key[corpus][f"Q{n}"] = {}
            for m, entry in enumerate(ordered, 1):
                point = entry["point"]
                lines.append(f"- P{m}. “{' '.join(point['text'].split())}” — {point['citation']}")
                key[corpus][f"Q{n}"][f"P{m}"] = entry["in"]
            lines.append("")
        (out / f"{corpus}.md").write_text("\n".join(lines), encoding="utf-8")
    (out / "key.json").write_text(json.dumps({"runs": list(runs), "corpora": key}, indent=1), encoding="utf-8")


def score(folder: Path) -> None:
    saved = json.loads((folder / "key.json").read_text())
    key, runs = saved["corpora"], saved["runs"]
    print("| corpus | run | questions | points shown | of them answer | answers a question (mean) | first point answers "
          "| answers in first 3 | N by flag |")
    print("|---|---|---|---|---|---|---|---|---|")
    for corpus, questions in key.items():
        path = folder / f"{corpus}.verdicts.tsv"
        if not path.exists():
            continue
        verdicts = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and parts[0].startswith("Q"):
                verdicts[(parts[0], parts[1])] = (parts[2].strip().upper(), parts[3].strip().upper() if len(parts) > 3 else "")
        for run in runs:
            total = first = three = shown_points = 0
            flags: Counter = Counter()
            for q, points in questions.items():
                ranked = sorted(((ranks[run], p) for p, ranks in points.items() if run in ranks))
                marks = [verdicts.get((q, p), ("?", ""))[0] for _, p in ranked]
                shown_points += len(marks)
                total += marks.count("A")
                first += bool(marks) and marks[0] == "A"
                three += marks[:3].count("A")
                flags.update(verdicts.get((q, p), ("?", "?"))[1] or "?" for _, p in ranked
                             if verdicts.get((q, p), ("?", ""))[0] != "A")
            n = len(questions)
            shown = ", ".join(f"{f} {c}" for f, c in sorted(flags.items()))
            print(f"| {corpus} | {run} | {n} | {shown_points} | {total / max(shown_points, 1):.0%} | {total / n:.2f} | "
                  f"{first} ({first / n:.0%}) | {three} of {3 * n} | {shown} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("sheets")
    make.add_argument("runs", nargs="+", help="NAME=RUN.json, from bench/points.py --json")
    make.add_argument("--out", type=Path, required=True)
    tally = sub.add_parser("score")
    tally.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.command == "sheets":
        sheets(args.runs, args.out)
    else:
        score(args.folder)


if __name__ == "__main__":
    main()

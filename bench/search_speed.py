"""The whole `KnowledgeBase.search` call, two versions of podkb side by side in one run, interleaved.

    .venv/bin/python bench/search_speed.py --before DIR [--after DIR] --kb KB [--kb KB ...] [--rounds 5]
        [--queries FILE]

``--before`` and ``--after`` are checkouts of podkb (``git worktree add /tmp/before HEAD~1`` for the
commit before; ``--after`` defaults to this one). Each round runs every question once through each
version, the order of the two versions alternating round by round, each in a fresh process of its own
that loads the knowledge base, warms the model with one search, then times each `search(q, k=10)` (the
call the CLI, the web app and Python make). A burst of other load falls on both alike. Questions: every
question (answerable and not) of the corpus whose questions file names the knowledge base's folder
(tests/eval/<name>.toml, the samples' questions.toml otherwise), or one per line of ``--queries``.
``--kb BEFORE=AFTER`` gives each version its own copy of a knowledge base, as its own `podkb add` left it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def questions(kb: Path, queries: Path | None) -> list[str]:
    if queries:
        return [line.strip() for line in queries.read_text(encoding="utf-8").splitlines() if line.strip()]
    named = HERE / "tests" / "eval" / f"{kb.name}.toml"
    data = tomllib.loads((named if named.exists() else HERE / "tests" / "eval" / "questions.toml").read_text())
    return [item["q"] for kind in ("question", "unanswerable") for item in data.get(kind, [])]


def worker(code: Path, kb: Path, asked: list[str]) -> None:
    """In a process of its own: ``code``'s podkb, each question timed once; the milliseconds as JSON."""
    import time

    sys.path.insert(0, str(code.resolve()))
    from podkb import KnowledgeBase
    import podkb

    assert Path(podkb.__file__).resolve().is_relative_to(code.resolve()), podkb.__file__
    with KnowledgeBase(kb) as base:
        base.search("warm up the model and the caches", k=10)
        out, found = [], []
        for question in asked:
            began = time.perf_counter()
            hits = base.search(question, k=10)
            out.append((time.perf_counter() - began) * 1000)
            found.append([[hit.passage_ids, hit.start, hit.highlight, round(hit.score, 6)] for hit in hits])
        passages = base.info().passages
    print(json.dumps({"ms": out, "passages": passages, "found": found}))


def timed(code: Path, kb: Path, asked: list[str]) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", str(code), "--kb", str(kb)],
                          input=json.dumps(asked), capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def p(ms: list[float], q: float) -> float:
    ordered = sorted(ms)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path)
    parser.add_argument("--after", type=Path, default=HERE)
    parser.add_argument("--kb", action="append", required=True,
                        help="a knowledge base both versions search, or BEFORE=AFTER: one each (the same episodes "
                             "as each version's `podkb add` leaves them)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=Path)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, Path(args.kb[0]), json.loads(sys.stdin.read()))
    print(f"## `KnowledgeBase.search(q, k=10)`, before and after, interleaved: `bench/search_speed.py` "
          f"({date.today()}, {platform.node()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores)\n")
    print("| knowledge base | passages | questions × rounds | before p50 / p99 ms | after p50 / p99 ms | after ÷ before (p50) "
          "| the same hits (passages, moment, highlight, score) |")
    print("|---|---|---|---|---|---|---|")
    for named in args.kb:
        kb, _, other = str(named).partition("=")
        kb = Path(kb)
        kbs = {"before": kb, "after": Path(other) if other else kb}
        asked = questions(kb, args.queries)
        times = {"before": [], "after": []}
        passages, found = 0, {}
        for n in range(args.rounds):
            order = ("before", "after") if n % 2 == 0 else ("after", "before")
            for which in order:
                got = timed(getattr(args, which), kbs[which], asked)
                times[which] += got["ms"]
                passages, found[which] = got["passages"], got["found"]
        b, a = times["before"], times["after"]
        print(f"| {kb.name} | {passages:,} | {len(asked)} × {args.rounds} | {statistics.median(b):.1f} / {p(b, 0.99):.1f} "
              f"| {statistics.median(a):.1f} / {p(a, 0.99):.1f} | {statistics.median(a) / statistics.median(b):.2f} | "
              f"{sum(x == y for x, y in zip(found['before'], found['after']))} of {len(asked)} |", flush=True)


if __name__ == "__main__":
    main()

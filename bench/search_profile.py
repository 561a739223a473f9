"""Where a search's time goes: cProfile of `KnowledgeBase.search` and the SQLite statements it runs.

    .venv/bin/python bench/search_profile.py --kb KB [--questions tests/eval/founderstalk.toml] [-n 20] [--top 25]

Warms the model with one search, then profiles ``-n`` searches (k=10) in this process: the functions with
the most cumulative time, and each SQLite statement kind (numbers and literals folded) with how many a
search runs, FTS5's own inner statements included (sqlite3's trace callback sees them, prefixed ``--``).
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import gc
import io
import pstats
import re
import sqlite3
import tomllib
from pathlib import Path

from podkb import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
_FOLD = re.compile(r"\((?:\?|'[^']*'|-?\d+)(?:,\s*(?:\?|'[^']*'|-?\d+))*\)|'[^']*'|-?\d+")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=ROOT / "tests" / "eval" / "founderstalk.toml")
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    data = tomllib.loads(args.questions.read_text(encoding="utf-8"))
    asked = [item["q"] for kind in ("question", "unanswerable") for item in data.get(kind, [])][: args.n]
    with KnowledgeBase(args.kb) as kb:
        kb.search("warm up the model and the caches", k=10)
        statements: collections.Counter[str] = collections.Counter()
        for thing in gc.get_objects():  # every connection the knowledge base holds
            if isinstance(thing, sqlite3.Connection):
                thing.set_trace_callback(lambda text: statements.update([_FOLD.sub("…", text.strip())[:120]]))
        profile = cProfile.Profile()
        profile.enable()
        for question in asked:
            kb.search(question, k=10)
        profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    print(f"{sum(statements.values()) / len(asked):.1f} SQLite statements a search ({len(asked)} searches):")
    for text, count in statements.most_common(args.top):
        print(f"{count / len(asked):7.1f}  {text}")


if __name__ == "__main__":
    main()

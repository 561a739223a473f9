"""Found chapters against real marks: how often a chapter podkb finds starts where a real boundary is.

    .venv/bin/python bench/chapters.py [--cache DIR] [--tolerance 30]

No corpus reachable offline comes with publisher topic chapters, so two real stand-ins, both from
Founders Talk (50 real episodes, tests/eval/founderstalk):

1. **Published breaks.** Changelog marks each sponsor break in its transcripts (`**Break:** [15:40]`);
   the conversation resumes there, usually on a new subject, and Changelog's own chapters start
   there. Recall: the share of breaks with a found chapter start within ±tolerance. "At a break":
   the share of found starts that fall at one (a floor on precision: most chapters start at
   subject changes that no break marks).
2. **Spliced episodes.** Four 8-12 minute stretches of four different episodes, back to back: the
   joins are known subject changes. Precision and recall of found starts within ±tolerance.

Both run chapters.find on the sentence vectors the knowledge base stored (what `podkb chapters`
does), against a baseline in the same run: the same number of starts, evenly spaced.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import re
import time
from datetime import date
from pathlib import Path

import numpy as np

from podkb import KnowledgeBase
from podkb.index import chapters
from podkb.ingest.timecode import parse_clock

from quality import build

ROOT = Path(__file__).resolve().parent.parent
EPISODES = ROOT / "tests" / "eval" / "founderstalk" / "episodes"
BREAK = re.compile(r"^\*\*Break:\*\*\s*\\?\[(\d{1,2}(?::\d{2}){1,2}(?:\.\d+)?)\\?\]", re.MULTILINE)


def matched(found: list[float], truth: list[float], tolerance: float) -> tuple[int, int]:
    """(found starts within tolerance of a true one, true ones within tolerance of a found one)."""
    near = lambda t, others: any(abs(t - o) <= tolerance for o in others)  # noqa: E731
    return sum(near(f, truth) for f in found), sum(near(t, found) for t in truth)


def tally(totals: dict, found: list[float], baseline: list[float], truth: list[float], tolerance: float) -> None:
    """Add one episode to the totals: [starts, starts at a true mark, true marks, true marks found]."""
    for name, guess in (("podkb", found), ("evenly spaced", baseline)):
        right, recalled = matched(guess, truth, tolerance)
        for i, value in enumerate((len(guess), right, len(truth), recalled)):
            totals[name][i] += value


def even(n: int, start: float, end: float) -> list[float]:
    return [start + (end - start) * (i + 1) / (n + 1) for i in range(n)]


def starts(sentences, vectors) -> list[float]:
    return [c.start for c in chapters.find(sentences, vectors)[1:] if c.start is not None]


def breaks_table(kb: KnowledgeBase, tolerance: float) -> list[str]:
    totals = {"podkb": [0, 0, 0, 0], "evenly spaced": [0, 0, 0, 0]}  # found, at a break, breaks, breaks found
    episodes = 0
    for path in sorted(EPISODES.glob("*.md")):
        marks = [parse_clock(m) for m in BREAK.findall(path.read_text(encoding="utf-8"))]
        sentences, vectors = kb.sentences(path.stem)
        if not marks or not sentences:
            continue
        episodes += 1
        found = starts(sentences, vectors)
        end = sentences[-1][1] or 0
        tally(totals, found, even(len(found), 0, end), marks, tolerance)
    out = [f"Published breaks: {episodes} episodes, {totals['podkb'][2]} breaks, ±{tolerance:g} s", "",
           "| chapters | starts found | at a break | breaks recalled |", "|---|---|---|---|"]
    for name, (n, at_break, marks, recalled) in totals.items():
        out.append(f"| {name} | {n} | {at_break / max(n, 1):.2f} | {recalled / max(marks, 1):.2f} |")
    return out


def spliced_table(kb: KnowledgeBase, tolerance: float, rounds: int = 40) -> list[str]:
    stored = {}
    for path in sorted(EPISODES.glob("*.md")):
        sentences, vectors = kb.sentences(path.stem)
        if sentences and (sentences[-1][1] or 0) > 30 * 60:
            stored[path.stem] = (sentences, vectors)
    names = sorted(stored)
    rng = random.Random(19)
    totals = {"podkb": [0, 0, 0, 0], "evenly spaced": [0, 0, 0, 0]}  # found, right, joins, joins found
    for _ in range(rounds):
        picked = rng.sample(names, 4)
        sentences, blocks, joins, offset = [], [], [], 0.0
        for n, name in enumerate(picked):
            source, vectors = stored[name]
            begin = rng.uniform(5 * 60, 15 * 60)
            length = rng.uniform(8 * 60, 12 * 60)
            rows = [i for i, s in enumerate(source) if begin <= s[1] < begin + length]
            if n:
                joins.append(offset)
            for i in rows:
                text, start, segment = source[i]
                sentences.append((text, offset + start - begin, segment))
            blocks.append(vectors[rows])
            offset += length
        found = starts(sentences, np.vstack(blocks))
        tally(totals, found, even(len(found), 0, offset), joins, tolerance)
    out = [f"Spliced episodes: {rounds} of 4 stretches (8-12 min) from {len(names)} episodes, "
           f"{totals['podkb'][2]} joins, ±{tolerance:g} s", "",
           "| chapters | starts found | precision | recall |", "|---|---|---|---|"]
    for name, (n, right, joins, recalled) in totals.items():
        out.append(f"| {name} | {n} | {right / max(n, 1):.2f} | {recalled / max(joins, 1):.2f} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "podkb" / "quality")
    parser.add_argument("--tolerance", type=float, default=30.0)
    args = parser.parse_args()
    folder = build("founderstalk", None, args.cache)
    began = time.perf_counter()
    with KnowledgeBase(folder) as kb:
        lines = breaks_table(kb, args.tolerance) + [""] + spliced_table(kb, args.tolerance)
    print(f"# Chapters; {platform.node()} ({platform.machine()}, {os.cpu_count()} cores), {date.today()}, "
          f"{time.perf_counter() - began:.1f} s\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

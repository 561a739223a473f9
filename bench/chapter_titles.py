"""Chapter titles to read: the chapters podkb finds in episodes of a built knowledge base, each with its
title and the chapter's opening and most central sentences, for a reader to judge whether the title is one a
person would write.

    .venv/bin/python bench/chapter_titles.py KB EPISODE [EPISODE ...] [--json OUT]

Chapters are found again from the stored sentence vectors (index/chapters.py, as `podkb chapters` does for
an episode without published chapters), so a change to the titling shows without indexing again.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from podkb import KnowledgeBase
from podkb.index import chapters


def titled(kb: KnowledgeBase, episode: str) -> list[dict]:
    sentences, vectors = kb.sentences(episode)
    found = chapters.find(sentences, vectors)
    starts = [next(i for i, s in enumerate(sentences) if (s[1] == c.start if c.start is not None else s[2] == c.paragraph))
              for c in found]
    out = []
    for chapter, a, b in zip(found, starts, starts[1:] + [len(sentences)]):
        centre = vectors[a:b].mean(axis=0)
        central = a + int(np.argmax(vectors[a:b] @ centre))
        out.append({"episode": episode, "start": chapter.start, "title": chapter.title,
                    "opening": " ".join(s[0] for s in sentences[a:a + 3]), "central": sentences[central][0]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kb", type=Path)
    parser.add_argument("episodes", nargs="+")
    parser.add_argument("--json", type=Path, help="also write the chapters as JSON")
    args = parser.parse_args()
    with KnowledgeBase(args.kb) as kb:
        rows = [row for episode in args.episodes for row in titled(kb, episode)]
    for row in rows:
        print(f"{row['episode']}  {row['start'] if row['start'] is None else round(row['start'])}  {row['title']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

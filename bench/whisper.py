"""Which Whisper model: word error rate and speed of each offline model installed, on real speech.

    .venv/bin/python bench/whisper.py [--models tiny.en,base] [--threads 2] [--out /tmp/whisper_bench.md]

Real speech with reference transcripts: the 24 LibriSpeech utterances in tests/audio/librispeech/
(read audiobooks, 10 readers; MANIFEST.tsv), faster-whisper's jfk.flac (a speech, 11 s) and the Open
Speech Repository's OSR_us_000_0034_8k.flac (Harvard sentences list 72, 8 kHz telephone band, 36 s).

Every model (default: tiny.en and each name in ingest/whisper_models.py whose packages are installed)
runs through podkb's own WhisperTranscriber with its defaults (batched, beam 5, VAD, word timestamps,
language detected; no diarisation), on the CPU in int8 with the same threads. The models take turns
clip by clip, in an order rotated each clip, so the load of a shared machine falls on all alike.
WER = word edits / reference words over all clips of a set (lowercase, punctuation dropped, numbers and
Mr/Mrs/Dr as words; British and American spellings still differ, e.g. counselled, dishonoured).
Real-time factor = seconds of audio / seconds of work, as in bench/transcribe.py.
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from podkb.ingest import whisper_models
from podkb.ingest.audio import DEFAULT_WHISPER, WhisperOptions, WhisperTranscriber, resolve_model
from podkb.ingest.audio import word_error_rate

ROOT = Path(__file__).resolve().parent.parent
AUDIO = ROOT / "tests/audio"
JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
HARVARD_72 = ("A gold ring will please most any girl. The long journey home took a year. She saw a cat in the "
              "neighbor's house. A pink shell was found on the sandy beach. Small children came to see him. The "
              "grass and bushes were wet with dew. The blind man counted his old coins. A severe storm tore down "
              "the barn. She called his name many times. When you hear the bell, come quickly.")
ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
       "seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SPOKEN = {"mr": "mister", "mrs": "missus", "dr": "doctor"}  # as LibriSpeech's references write them


def clips() -> list[tuple[str, Path, str]]:
    """(set, file, reference transcript) for every clip."""
    with open(AUDIO / "librispeech/MANIFEST.tsv", newline="") as f:
        found = [("LibriSpeech", AUDIO / "librispeech" / row["file"], row["transcript"])
                 for row in csv.DictReader(f, delimiter="\t")]
    return found + [("JFK", AUDIO / "jfk.flac", JFK), ("Harvard 8 kHz", AUDIO / "OSR_us_000_0034_8k.flac", HARVARD_72)]


def spelled(number: int) -> str:
    """0-999 in words; larger numbers stay digits (none of these references has one)."""
    if number < 20:
        return ONES[number]
    if number < 100:
        return TENS[number // 10] + ("" if number % 10 == 0 else " " + ONES[number % 10])
    if number < 1000:
        return ONES[number // 100] + " hundred" + ("" if number % 100 == 0 else " " + spelled(number % 100))
    return str(number)


def normal(text: str) -> str:
    """Lowercase words without punctuation, numbers written out: the form WER is counted on."""
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text.lower())
    text = re.sub(r"\d+", lambda m: f" {spelled(int(m[0]))} ", text)
    return " ".join(SPOKEN.get(w, w) for w in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.replace("-", " ")))


def size_mb(folder: str) -> float:
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", help="comma-separated names or folders (default: every offline model installed)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="/tmp/whisper_bench.md", help="also write the section here")
    args = parser.parse_args()
    models = args.models.split(",") if args.models else [DEFAULT_WHISPER, *whisper_models.installed()]
    every = clips()
    transcribers, loaded = {}, {}
    for name in models:
        resolve_model(name)  # joined and unpacked on first use: not part of the load time
        started = time.perf_counter()
        transcribers[name] = WhisperTranscriber(WhisperOptions(model=name, device="cpu", compute_type="int8",
                                                               threads=args.threads, diarize=False))
        transcribers[name].model()
        loaded[name] = time.perf_counter() - started
        transcribers[name].transcribe(str(AUDIO / "jfk.flac"))  # warm-up, untimed: VAD and first-call costs
    sets = list(dict.fromkeys(s for s, _, _ in every))
    edits = {(m, s): 0.0 for m in models for s in sets}
    words = {s: 0 for s in sets}
    work = {m: 0.0 for m in models}
    not_english = {m: 0 for m in models}
    audio = 0.0
    for i, (group, path, reference) in enumerate(every):
        reference = normal(reference)
        words[group] += len(reference.split())
        for name in models[i % len(models):] + models[:i % len(models)]:
            started = time.perf_counter()
            transcript = transcribers[name].transcribe(str(path))
            work[name] += time.perf_counter() - started
            said = normal(" ".join(s.text for s in transcript.segments))
            edits[name, group] += word_error_rate(reference, said) * len(reference.split())
            not_english[name] += transcript.language != "en"
        audio += transcript.media_duration
        print(f"{i + 1}/{len(every)} {path.name}", file=sys.stderr, flush=True)

    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model_name = re.search(r"Model name:\s*(.+)", cpu)
    units = sorted(set(re.findall(r"\b(avx512[a-z_0-9]*|amx[a-z_0-9]*|avx2)\b", cpu)))
    lines = [
        f"## Whisper models on real speech: `bench/whisper.py` ({date.today()}, {platform.node()})",
        "",
        f"Command: `.venv/bin/python {' '.join(['bench/whisper.py', *sys.argv[1:]])}`. Machine: "
        f"{model_name[1].strip() if model_name else platform.processor()}, {os.cpu_count()} cores "
        f"({', '.join(units) or 'no AVX2/AVX-512 flags'}), {platform.machine()}, Python {platform.python_version()}; "
        f"CPU int8, {args.threads} threads, podkb's options (batched 8, beam 5, VAD, word timestamps, language "
        f"detected). {len(every)} clips, {audio:.0f} s of audio "
        f"({', '.join(f'{s}: {words[s]} words' for s in sets)}); models interleaved clip by clip.",
        "",
        f"| model | files (MB) | load (s) | {' | '.join(f'WER {s}' for s in sets)} | WER all | transcribing (s) "
        "| real-time factor | clips not detected as English |",
        "|---|---|---|" + "---|" * len(sets) + "---|---|---|---|",
    ]
    for name in models:
        per_set = " | ".join(f"{edits[name, s] / words[s]:.3f}" for s in sets)
        total = sum(edits[name, s] for s in sets) / sum(words.values())
        lines.append(f"| {name} | {size_mb(resolve_model(name)):.0f} | {loaded[name]:.1f} | {per_set} | {total:.3f} | "
                     f"{work[name]:.1f} | {audio / work[name]:.1f}x | {not_english[name]} |")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()

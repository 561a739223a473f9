"""Transcription speed: real-time factor of faster-whisper tiny.en on this machine, end to end.

    .venv/bin/python bench/transcribe.py [--minutes 10]
    unshare -n sh -c 'ip link set lo up; .venv/bin/python bench/transcribe.py --ray local [--files 4]'

Speaks the start of the fast.ai lesson 8 transcript with espeak-ng (over 10 minutes of
speech), then times, on the same audio:
- baseline: faster-whisper as its README shows it (beam 5, no VAD, no word timestamps);
- podkb sequential: beam 5, VAD, word timestamps (--sequential);
- podkb batched: BatchedInferencePipeline, batch 8, VAD, word timestamps (the default);
- end to end: `podkb add` of the WAV, i.e. transcription + passages + vectors + FAISS/FTS5.
Real-time factor = seconds of audio / seconds of work. WER is against the spoken text.

With --ray ADDRESS, instead: the speech cut into --files files, added with `KnowledgeBase.add`
(transcription, passages, vectors; model loads included) in this process (the baseline), then
on the cluster with 1 and with 2 workers (PODKB_RAY_WORKERS), each into a new knowledge base;
it prints audio hours per wall-clock hour for each.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

from podkb import KnowledgeBase
from podkb.ingest.audio import WhisperOptions, WhisperTranscriber, resolve_model
from podkb.ingest.audio import word_error_rate as wer

ROOT = Path(__file__).resolve().parent.parent


def speech(folder: Path, minutes: float) -> tuple[Path, str, float]:
    text = (ROOT / "transcripts" / "fastai-part1-2022-lesson-8.txt").read_text(encoding="utf-8")
    words = text.replace("“", '"').replace("”", '"').split()[: int(minutes * 175)]
    spoken = " ".join(words)
    (folder / "speech.txt").write_text(spoken)
    wav = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "165", "-f", str(folder / "speech.txt"), "-w", str(wav)], check=True)
    seconds = float(subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True, check=True).stdout)
    return wav, spoken, seconds


def on_cluster(address: str, wav: Path, seconds: float, files: int, folder: Path) -> None:
    """Audio hours per wall-clock hour: in this process, then 1 and 2 workers on the cluster."""
    parts = folder / "parts"
    parts.mkdir()
    piece = seconds / files
    for n in range(files):
        subprocess.run(["sox", str(wav), str(parts / f"part-{n}.wav"), "trim", str(n * piece), str(piece)], check=True)
    print(f"# Transcription on Ray, {date.today()}, {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"--ray {address}; {files} files, {seconds / 60:.1f} min of espeak-ng speech; tiny.en int8 CPU, "
          "all-MiniLM-L6-v2; KnowledgeBase.add, model loads included")
    print()
    print("| setup | seconds | audio hours per wall-clock hour |")
    print("|---|---|---|")
    for label, workers in (("in-process (baseline)", None), ("Ray, 1 worker", 1), ("Ray, 2 workers", 2)):
        if workers:
            os.environ["PODKB_RAY_WORKERS"] = str(workers)
        started = time.perf_counter()
        with KnowledgeBase(folder / f"kb-{workers}") as kb:
            outcomes = kb.add([parts], ray=address if workers else None)
        elapsed = time.perf_counter() - started
        assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
        print(f"| {label} | {elapsed:.1f} | {seconds / elapsed:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.5)
    parser.add_argument("--ray", metavar="ADDRESS", help="compare in-process with 1 and 2 workers of this cluster")
    parser.add_argument("--files", type=int, default=4, help="with --ray: how many files the speech is cut into")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="podkb-transcribe-"))
    wav, spoken, seconds = speech(folder, args.minutes)
    if args.ray:
        on_cluster(args.ray, wav, seconds, args.files, folder)
        return
    print(f"# Transcription speed, {date.today()}, {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"faster-whisper tiny.en int8 CPU; {seconds / 60:.1f} min of espeak-ng speech")
    print()
    print("| run | seconds | real-time factor | WER |")
    print("|---|---|---|---|")

    from faster_whisper import WhisperModel

    model = WhisperModel(resolve_model(None), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 0)
    started = time.perf_counter()
    found, _ = model.transcribe(str(wav), beam_size=5)
    text = " ".join(s.text for s in found)
    elapsed = time.perf_counter() - started
    print(f"| baseline: beam 5, no VAD | {elapsed:.1f} | {seconds / elapsed:.1f}x | {wer(spoken, text):.3f} |", flush=True)

    for label, batched in (("podkb sequential: beam 5, VAD, words", False), ("podkb batched: batch 8, VAD, words", True)):
        transcriber = WhisperTranscriber(WhisperOptions(device="cpu", batched=batched))
        transcriber.model()
        started = time.perf_counter()
        transcript = transcriber.transcribe(str(wav))
        elapsed = time.perf_counter() - started
        text = " ".join(s.text for s in transcript.segments)
        print(f"| {label} | {elapsed:.1f} | {seconds / elapsed:.1f}x | {wer(spoken, text):.3f} |", flush=True)

    for label, batched in (("end to end, sequential: podkb add (+ passages, vectors)", False),
                           ("end to end, batched: podkb add (+ passages, vectors)", True)):
        kb = folder / f"kb-{batched}"
        started = time.perf_counter()
        with KnowledgeBase(kb) as base:
            transcriber = WhisperTranscriber(WhisperOptions(device="cpu", batched=batched))
            *_, done = base.add_events([str(wav)], transcriber=transcriber)
            report = done.report
        elapsed = time.perf_counter() - started
        print(f"| {label}, {report.passages} passages, model loads included | {elapsed:.1f} | "
              f"{seconds / elapsed:.1f}x | |", flush=True)


if __name__ == "__main__":
    main()

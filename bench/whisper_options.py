"""Which faster-whisper options buy speed on this CPU, and what they cost in accuracy.

    .venv/bin/python bench/whisper_options.py [--minutes 4]

Speaks the start of the lesson 8 transcript with espeak-ng and transcribes the same audio
with tiny.en int8 and VAD under each setting. The first row (sequential, beam 5, word
timestamps) is the baseline the others are compared with. WER is against the spoken text.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

from podkb.ingest.audio import resolve_model
from podkb.ingest.audio import word_error_rate as wer

from transcribe import speech  # noqa: E402 - bench/ is the script's folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4)
    args = parser.parse_args()
    wav, spoken, seconds = speech(Path(tempfile.mkdtemp(prefix="podkb-whisper-")), args.minutes)
    audio = decode_audio(str(wav))
    model = WhisperModel(resolve_model(None), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 0)
    batched = BatchedInferencePipeline(model=model)
    print(f"# Whisper options, {date.today()}, {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"tiny.en int8 CPU, VAD; {seconds / 60:.1f} min of espeak-ng speech")
    print()
    print("| setting | seconds | real-time factor | WER |")
    print("|---|---|---|---|")
    runs = [
        ("sequential, beam 5, word timestamps (baseline)", model.transcribe, dict(beam_size=5, word_timestamps=True)),
        ("sequential, beam 1, word timestamps", model.transcribe, dict(beam_size=1, word_timestamps=True)),
        ("sequential, beam 1, no word timestamps", model.transcribe, dict(beam_size=1, word_timestamps=False)),
        ("sequential, beam 1, words, no conditioning on previous text", model.transcribe,
         dict(beam_size=1, word_timestamps=True, condition_on_previous_text=False)),
        ("batched 8, beam 5, words (podkb's default)", batched.transcribe,
         dict(batch_size=8, word_timestamps=True)),
        ("batched 8, beam 1, words", batched.transcribe, dict(batch_size=8, beam_size=1, word_timestamps=True)),
        ("batched 16, beam 1, words", batched.transcribe, dict(batch_size=16, beam_size=1, word_timestamps=True)),
        ("batched 8, beam 1, no word timestamps", batched.transcribe,
         dict(batch_size=8, beam_size=1, word_timestamps=False)),
    ]
    for label, transcribe, options in runs:
        started = time.perf_counter()
        found, _ = transcribe(audio, vad_filter=True, **options)
        text = " ".join(s.text for s in found)  # lazy: the work happens here
        elapsed = time.perf_counter() - started
        print(f"| {label} | {elapsed:.1f} | {seconds / elapsed:.1f}x | {wer(spoken, text):.3f} |", flush=True)


if __name__ == "__main__":
    main()

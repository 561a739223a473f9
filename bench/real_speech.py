"""A long recording of real speech for timing `podkb add`: the AMI meeting clips of pyannote-audio's tests
and the LibriSpeech utterances in tests/audio, one after another, repeated to the length asked.

    .venv/bin/python bench/real_speech.py AMI_FOLDER OUT.wav [--minutes 10.5]

AMI_FOLDER holds pyannote-audio's `tests/data/*.wav` (github.com/pyannote/pyannote-audio, commit b749285c,
MIT; the AMI corpus is CC BY 4.0): 30 s each, 16 kHz, four-person meetings recorded in a room.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile

LIBRISPEECH = Path(__file__).resolve().parent.parent / "tests/audio/librispeech"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ami", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--minutes", type=float, default=10.5)
    args = parser.parse_args()
    pieces = [soundfile.read(str(f), dtype="float32")[0] for f in sorted(args.ami.glob("*.wav"))
              if soundfile.info(str(f)).duration > 1]
    for f in sorted(LIBRISPEECH.glob("*.flac")):
        pieces += [soundfile.read(str(f), dtype="float32")[0], np.zeros(4800, dtype=np.float32)]
    once = np.concatenate(pieces)
    wanted = int(args.minutes * 60 * 16000)
    soundfile.write(str(args.out), np.tile(once, -(-wanted // len(once)))[:wanted], 16000)
    print(f"{args.out}: {wanted / 16000 / 60:.1f} minutes ({len(once) / 16000 / 60:.1f} distinct)")


if __name__ == "__main__":
    main()

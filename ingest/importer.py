"""Paths → episodes: expand files, folders and globs, read each, store it, report each outcome."""
from __future__ import annotations

import glob
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from . import manifest
from .audio import AUDIO_SUFFIXES, Progress, Transcriber, probe
from .decode import decode
from .errors import BadInput
from .formats import read_text
from .manifest import EpisodeInfo
from .models import Episode, Transcript
from .store import AddResult, Library

TRANSCRIPT_SUFFIXES = {".txt", ".text", ".srt", ".vtt", ".json", ".md"}
SUFFIXES = TRANSCRIPT_SUFFIXES | AUDIO_SUFFIXES
DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")  # what an episode's date may be


@dataclass
class Outcome:
    """What happened to one input path: a result, or an error; warnings either way."""

    path: str
    result: AddResult | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def expand(paths: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """(path, error) for every file named, found in a folder, or matched by a glob."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUFFIXES
                and p.name != manifest.NAME and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                yield raw, "folder holds no transcript or audio files (.txt, .srt, .vtt, .json, .mp3, .wav, ...)"
            yield from ((str(p), None) for p in found)
        elif path.is_file():
            yield raw, None
        elif glob.has_magic(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                yield raw, "no files match this pattern"
            yield from ((m, None) for m in matches if Path(m).is_file())
        else:
            yield raw, "no such file or folder"


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise BadInput(f"cannot read: {error.strerror or error}") from None
    return digest.hexdigest()


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise BadInput(f"cannot read: {error.strerror or error}") from None


def parse(data: bytes, suffix: str) -> tuple[Transcript, list[str]]:
    """A transcript file's bytes → (transcript, warnings). Raises BadInput."""
    decoded = decode(data)
    transcript = read_text(decoded.text, suffix.lower())
    return transcript, decoded.warnings + transcript.warnings


def read_file(path: Path) -> tuple[Transcript, list[str]]:
    """Read one transcript file → (transcript, warnings). Raises BadInput."""
    return parse(read_bytes(path), path.suffix)


def read_audio(path: Path, transcriber: Transcriber, progress: Progress | None = None) -> Transcript:
    if path.stat().st_size == 0:
        raise BadInput("empty file")
    return transcriber.transcribe(str(path), progress)


def build_episode(path: Path, transcript: Transcript, content_hash: str, info: EpisodeInfo) -> Episode:
    if info.date and not DATE.match(info.date):
        raise BadInput(f"date {info.date!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    named = transcript.speakers
    if not named and len(info.speakers) == 1 and all(s.turn == 0 for s in transcript.segments):
        # A monologue whose speaker the user named: every segment is theirs.
        for segment in transcript.segments:
            segment.speaker = info.speakers[0]
    return Episode(
        id=info.id or path.stem,
        title=info.title or transcript.title or re.sub(r"[-_]+", " ", path.stem).strip() or path.name,
        show=info.show,
        date=info.date,
        source=info.source,
        duration=transcript.duration,
        speakers=list(dict.fromkeys([*info.speakers, *named])),
        format=transcript.format,
        language=transcript.language,
        content_hash=content_hash,
        path=str(path.resolve()),
        media=str(path.resolve()) if path.suffix.lower() in AUDIO_SUFFIXES else _media(info.media, path),
    )


def _media(given: str | None, transcript: Path) -> str | None:
    """The audio named for a transcript: an http(s) URL as is, a path made absolute (relative to the transcript)."""
    if not given:
        return None
    if re.match(r"(?i)https?://", given):
        return given
    media = (transcript.parent / Path(given).expanduser()).resolve()
    if not media.is_file():
        raise BadInput(f"media {given!r}: no such file")
    if media.suffix.lower() not in AUDIO_SUFFIXES:
        raise BadInput(f"media {given!r}: not an audio or video file ({', '.join(sorted(AUDIO_SUFFIXES))})")
    try:
        probe(str(media))
    except BadInput as bad:
        raise BadInput(f"media {given!r}: {bad}") from None
    return str(media)


def add_paths(library: Library, paths: Iterable[str], info: EpisodeInfo | None = None, replace: bool = False,
              transcriber: Transcriber | None = None,
              progress: Callable[[str], Progress | None] | None = None) -> Iterator[Outcome]:
    """Import every transcript or audio file under ``paths``; one Outcome per file, failures included.

    Audio is transcribed with ``transcriber`` (tiny.en on the CPU by default); ``progress(path)``
    may return a callback that is told the seconds of audio done.
    """
    info = info or EpisodeInfo()
    manifests: dict[Path, dict[str, EpisodeInfo]] = {}
    for raw, error in expand(paths):
        if error:
            yield Outcome(raw, error=error)
            continue
        path = Path(raw)
        folder = path.resolve().parent
        if folder not in manifests:
            manifests[folder] = {}
            try:
                manifests[folder] = manifest.load(folder)
            except BadInput as bad:
                yield Outcome(str(Path(raw).parent / manifest.NAME), error=str(bad))
        outcome = Outcome(raw)
        try:
            described = info.over(manifests[folder].get(path.name, EpisodeInfo()))
            audio = path.suffix.lower() in AUDIO_SUFFIXES
            data = None if audio else read_bytes(path)
            content_hash = file_hash(path) if audio else hashlib.sha256(data).hexdigest()
            known = library.by_hash(content_hash)
            if known:  # the same bytes again: skip before any work, transcription above all
                outcome.result = AddResult("unchanged", known)
                yield outcome
                continue
            if audio:
                transcriber = transcriber or Transcriber()
                transcript = read_audio(path, transcriber, progress(raw) if progress else None)
                outcome.warnings = transcript.warnings
            else:
                transcript, outcome.warnings = parse(data, path.suffix)
            episode = build_episode(path, transcript, content_hash, described)
            outcome.result = library.add(episode, transcript, replace=replace)
        except BadInput as bad:
            outcome.error = str(bad)
        yield outcome

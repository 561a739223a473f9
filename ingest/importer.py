"""Paths → episodes: expand files, folders and globs, read each, store it, report each outcome."""
from __future__ import annotations

import hashlib
import sqlite3
import re
from pathlib import Path
from typing import Generator, Iterable, Iterator

from . import diarize, manifest
from . import paths as paths_
from .audio import AUDIO_SUFFIXES, probe
from .audio import default as default_transcriber
from .decode import Decoded, check_size, decode, well_formed
from .files import not_regular
from .errors import BadInput, store_problem
from .events import Outcome, Transcribing
from . import formats
from .formats import read_text
from .manifest import EpisodeInfo
from .models import Episode, Transcript
from .store import AddResult, Library
from .timecode import check_date
from .transcriber import Transcriber

TRANSCRIPT_SUFFIXES = formats.SUFFIXES
SUFFIXES = TRANSCRIPT_SUFFIXES | AUDIO_SUFFIXES  # what a folder's files are read for


def expand(paths: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """(path, error) for every file named, found in a folder, or matched by a glob; a folder's sidecars
    (manifest.toml, metadata.json, yt-dlp's .info.json) are read for what they say, not imported."""
    return paths_.expand(paths, SUFFIXES, skip=manifest.SIDECARS)


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
    """A transcript file's bytes, refused by its size before they are read."""
    try:
        check_size(path.stat().st_size)
        return path.read_bytes()
    except OSError as error:
        raise BadInput(f"cannot read: {error.strerror or error}") from None


def parse(data: bytes | Decoded, suffix: str, format: str | None = None) -> tuple[Transcript, list[str]]:
    """A transcript file's bytes (or their decoded text) → (transcript, warnings). Raises BadInput,
    whatever the bytes are. ``format`` (a name in formats.FORMATS) skips detection."""
    decoded = data if isinstance(data, Decoded) else decode(data)
    try:
        transcript = read_text(decoded.text, suffix.lower(), format)
    except BadInput:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError) as error:
        # A reader met a shape it did not expect: that is this file's problem, not the batch's.
        raise BadInput(f"cannot read it: {type(error).__name__}: {str(error)[:200]}") from None
    return transcript, decoded.warnings + transcript.warnings


def read_file(path: Path, format: str | None = None) -> tuple[Transcript, list[str]]:
    """Read one transcript file → (transcript, warnings). Raises BadInput."""
    return parse(read_bytes(path), path.suffix, format)


def read_audio(path: Path, transcriber: Transcriber, name: str | None = None) -> Generator[Transcribing, None, Transcript]:
    """Transcribe one audio file (``transcript = yield from read_audio(...)``), passing its progress on."""
    if path.stat().st_size == 0:
        raise BadInput("empty file")
    return (yield from transcriber.transcribing(str(path), name))


def build_episode(path: Path, transcript: Transcript, content_hash: str, info: EpisodeInfo) -> Episode:
    if info.date:
        try:
            check_date(info.date)
        except ValueError as error:
            raise BadInput(f"date {error}") from None
    named, given = transcript.speakers, [well_formed(name) for name in info.speakers]
    if transcript.diarized and given:  # --speaker A --speaker B names Speaker 1, Speaker 2, ... in order
        names = dict(zip(diarize.numbered(named), given))
        for segment in transcript.segments:
            segment.speaker = names.get(segment.speaker, segment.speaker)
        transcript.voices = {names.get(label, label): v for label, v in transcript.voices.items()}
        named = transcript.speakers
    elif not named and len(given) == 1 and all(s.turn == 0 for s in transcript.segments):
        # A monologue whose speaker the user named: every segment is theirs.
        for segment in transcript.segments:
            segment.speaker = given[0]
    # Names from a terminal that isn't UTF-8 (or a file name that isn't) carry lone surrogates, which
    # SQLite can't store: they become '?' here, once.
    name = manifest.base_name(path)  # 'E249.mp3.vtt' is episode E249
    return Episode(
        id=well_formed(info.id or name),
        title=well_formed(info.title or transcript.title or re.sub(r"[-_]+", " ", name).strip() or path.name),
        show=well_formed(info.show),
        date=info.date,
        source=well_formed(info.source),
        duration=transcript.duration,
        speakers=list(dict.fromkeys(named if transcript.diarized else [*given, *named])),  # names of voices heard
        format=transcript.format,
        language=transcript.language,
        content_hash=content_hash,
        path=well_formed(str(path.resolve())),
        media=well_formed(str(path.resolve()) if path.suffix.lower() in AUDIO_SUFFIXES else _media(info.media, path)),
    )


def _media(given: str | None, transcript: Path) -> str | None:
    """The audio named for a transcript: an http(s) URL as is, a path made absolute (relative to the transcript)."""
    if not given:
        return None
    if re.match(r"(?i)https?://", given):
        return given
    media = (transcript.parent / Path(given).expanduser()).resolve()
    why = not_regular(media)
    if why:
        raise BadInput(f"media {given!r}: {'no such file' if not media.exists() else why}")
    if media.suffix.lower() not in AUDIO_SUFFIXES:
        raise BadInput(f"media {given!r}: not an audio or video file ({', '.join(sorted(AUDIO_SUFFIXES))})")
    try:
        probe(str(media))
    except BadInput as bad:
        raise BadInput(f"media {given!r}: {bad}") from None
    return str(media)


def _known(library: Library, path: Path) -> bool:
    try:
        return library.by_hash(file_hash(path)) is not None
    except BadInput:
        return False  # unreadable: the loop below says so


def add_paths(library: Library, paths: Iterable[str], info: EpisodeInfo | None = None, replace: bool = False,
              transcriber: Transcriber | None = None,
              format: str | None = None) -> Iterator[Outcome | Transcribing]:
    """Import every transcript or audio file under ``paths``, lazily: one Outcome per file, failures
    included, and ``Transcribing`` events among them while audio is transcribed.

    Audio is transcribed with ``transcriber`` (tiny.en on the CPU by default). Transcripts are read
    as ``format`` when given, else as the format their content shows.
    """
    info = info or EpisodeInfo()
    manifests: dict[Path, dict[str, EpisodeInfo]] = {}
    transcriber = transcriber or default_transcriber()
    # A cluster (podkb/cluster.py) sends every audio file out at once and hands each back as it finishes.
    for item in transcriber.schedule(expand(paths), known=lambda path: _known(library, path)):
        if isinstance(item, Transcribing):
            yield item
            continue
        raw, error = item
        if isinstance(error, paths_.Skipped):
            yield Outcome(raw, warnings=[str(error)])  # no result, no error: only what was left out
            continue
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
            try:
                described = described.over(manifest.beside(path))
            except BadInput as bad:  # a broken sidecar costs the episode its metadata, not the episode
                outcome.warnings.append(str(bad))
            outcome.warnings += described.problems
            audio = path.suffix.lower() in AUDIO_SUFFIXES
            data = None if audio else read_bytes(path)
            content_hash = file_hash(path) if audio else hashlib.sha256(data).hexdigest()
            known = library.by_hash(content_hash)
            if known:  # the same bytes again: skip before any work, transcription above all
                # With --replace, what its side files (or the options) say now is taken in: a fixed title.
                updated = library.update_info(known.id, described) if replace else None
                outcome.result = AddResult("replaced", updated) if updated else AddResult("unchanged", known)
                yield outcome
                continue
            if audio:
                transcript = yield from read_audio(path, transcriber, raw)
                outcome.warnings += transcript.warnings
            else:
                decoded, data = decode(data), None  # a long file's bytes need not outlive its text
                transcript, warnings = parse(decoded, path.suffix, format)
                outcome.warnings += warnings
            episode = build_episode(path, transcript, content_hash, described)
            outcome.result = library.add(episode, transcript, replace=replace, chapters=described.chapters or None)
        except BadInput as bad:
            outcome.error = str(bad)
        except (sqlite3.Error, OSError) as error:  # the store, not the file: disk full, read-only, damaged
            outcome.error = f"not stored: {store_problem(library.dir, error)}"
        yield outcome

"""Paths → episodes: expand files, folders and globs, read each, store it, report each outcome."""
from __future__ import annotations

import glob
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from . import manifest
from .decode import decode
from .errors import BadInput
from .formats import read_text
from .manifest import EpisodeInfo
from .models import Episode, Transcript
from .store import AddResult, Library

TRANSCRIPT_SUFFIXES = {".txt", ".text", ".srt", ".vtt", ".json", ".md"}
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


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
                if p.is_file() and p.suffix.lower() in TRANSCRIPT_SUFFIXES
                and p.name != manifest.NAME and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                yield raw, "folder holds no transcript files (.txt, .srt, .vtt, .json, .md)"
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


def read_file(path: Path) -> tuple[Transcript, str, list[str]]:
    """Read one transcript file → (transcript, content hash, warnings). Raises BadInput."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BadInput(f"cannot read: {error.strerror or error}") from None
    decoded = decode(data)
    transcript = read_text(decoded.text, path.suffix.lower())
    return transcript, hashlib.sha256(data).hexdigest(), decoded.warnings + transcript.warnings


def build_episode(path: Path, transcript: Transcript, content_hash: str, info: EpisodeInfo) -> Episode:
    if info.date and not _DATE.match(info.date):
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
    )


def add_paths(library: Library, paths: Iterable[str], info: EpisodeInfo | None = None,
              replace: bool = False) -> Iterator[Outcome]:
    """Import every transcript under ``paths``; one Outcome per file, failures included."""
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
            transcript, content_hash, outcome.warnings = read_file(path)
            episode = build_episode(path, transcript, content_hash, described)
            outcome.result = library.add(episode, transcript, replace=replace)
        except BadInput as bad:
            outcome.error = str(bad)
        yield outcome

"""Transcript formats: one reader per file, and the one registry of them (``READERS``), which says for each
how it is detected and read, and which file suffixes and MIME types carry it. The importer (which files
to read), feeds (which <podcast:transcript> types to fetch), the manifest (which names are subtitles)
and the user interfaces (``--format``, the upload form) all derive what they need from it. A file's
format is chosen from its content rather than its name; a suffix only sharpens the error messages."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..decode import check_lines
from ..errors import BadInput
from ..models import Transcript
from . import chunks, console, jsonshape, markdown, otter, plain, podcasting, subrip, tagged, vtt, whisper_json


@dataclass(frozen=True)
class Reader:
    name: str                       # as ``podkb add --format`` takes it, and as episodes record it
    label: str                      # for people: the CLI's help, the web app's upload form
    detect: Callable[[Any], bool]
    read: Callable[[Any], Transcript]
    json: bool = False              # reads parsed JSON rather than text
    suffixes: tuple[str, ...] = ()  # file names that carry it (a folder's files are read when they have one)
    mime_types: tuple[str, ...] = ()  # the types a feed's <podcast:transcript> gives it
    subtitles: bool = False         # a cue format: 'Talk [abc].en.vtt' names its language before its suffix


def _always(_) -> bool:
    return True


# The one table of transcript formats, in the order detection tries them: JSON shapes first, then
# cue formats, then the line formats, then plain text, which takes anything.
READERS = (
    Reader("podcasting2-json", "Podcasting 2.0 JSON", podcasting.detect, podcasting.read, json=True,
           suffixes=(".json",), mime_types=("application/json", "application/x-json")),
    Reader("whisper-json", "Whisper JSON", whisper_json.detect, whisper_json.read, json=True, suffixes=(".json",)),
    Reader("vtt", "WebVTT", vtt.detect, vtt.read, suffixes=(".vtt",), mime_types=("text/vtt",), subtitles=True),
    Reader("srt", "SRT", subrip.detect, subrip.read, suffixes=(".srt",),
           mime_types=("application/x-subrip", "application/srt", "text/srt"), subtitles=True),
    Reader("whisper-console", "Whisper console output", console.detect, console.read, suffixes=(".txt",)),
    Reader("speaker-tagged", "[SPEAKER]: tagged text", tagged.detect, tagged.read, suffixes=(".txt",)),
    Reader("markdown-dialogue", "Markdown dialogue (**Name:** paragraphs)", markdown.detect, markdown.read,
           suffixes=(".md",)),
    Reader("whisper-chunks", "Whisper chunk dumps", chunks.detect, chunks.read, suffixes=(".txt",)),
    Reader("otter", "Otter-style text", otter.detect, otter.read, suffixes=(".txt",)),
    Reader("text", "plain text", _always, plain.read, suffixes=(".txt", ".text"), mime_types=("text/plain",)),
)
FORMATS = {reader.name: reader for reader in READERS}
SUFFIXES = frozenset(suffix for reader in READERS for suffix in reader.suffixes)  # every transcript file's
MIME_TYPES = {kind: reader.suffixes[0] for reader in READERS for kind in reader.mime_types}  # type → its suffix
SUBTITLES = frozenset(suffix for reader in READERS if reader.subtitles for suffix in reader.suffixes)


def labels() -> str:
    """'Podcasting 2.0 JSON, Whisper JSON, …, plain text': for help texts."""
    return ", ".join(reader.label for reader in READERS)


def read_as(text: str, name: str) -> Transcript:
    """Read ``text`` as the format ``name``, without detection (``podkb add --format``)."""
    reader = FORMATS[name]
    if not text.strip():
        raise BadInput("no transcript text (the file is blank)")
    if reader.json:
        transcript = reader.read(jsonshape.load(text))
    else:
        check_lines(text)
        transcript = reader.read(text.lstrip() if name == "vtt" else text)
    if not transcript.segments:
        raise BadInput(f"no transcript text found when read as {reader.label}")
    return transcript


def read_text(text: str, suffix: str = "", format: str | None = None) -> Transcript:
    """Detect the format of ``text`` and read it (or read it as ``format``). ``suffix`` only sharpens
    error messages."""
    if format:
        return read_as(text, format)
    stripped = text.lstrip()
    if not stripped:
        raise BadInput("no transcript text (the file is blank)")
    if suffix == ".json":
        return _read_json(text)
    if stripped[0] in "{[":
        try:
            return _read_json(text)
        except jsonshape.NotJson:
            pass  # '[SPEAKER_01]: …', '[00:01.000 --> …]' or '{music}': text after all
    check_lines(text)
    for reader in READERS:
        if reader.json:
            continue
        if reader.detect(text):
            transcript = reader.read(text.lstrip() if reader.name == "vtt" else text)
            if not transcript.segments and reader.name == "text":
                raise BadInput("no transcript text found")
            return transcript
        if reader.name == "srt":  # neither cue format matched: a .vtt or .srt file says what it should be
            if suffix == ".vtt":
                return vtt.read(text)
            if suffix == ".srt":
                raise BadInput("not SRT: expected a cue number, then 'HH:MM:SS,mmm --> HH:MM:SS,mmm'")
    raise AssertionError("plain text reads anything")  # pragma: no cover


def _read_json(text: str) -> Transcript:
    data = jsonshape.load(text)
    for reader in READERS:
        if reader.json and reader.detect(data):
            return reader.read(data)
    raise BadInput(
        "JSON of an unknown shape: expected Whisper JSON (segments with start, end, text) "
        "or a Podcasting 2.0 transcript (segments with startTime, endTime, body)"
    )

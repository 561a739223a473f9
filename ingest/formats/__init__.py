"""Format readers, one per file, chosen from the content rather than the file name."""
from __future__ import annotations

from ..decode import check_lines
from ..errors import BadInput
from ..models import Transcript
from . import chunks, console, jsonshape, otter, plain, podcasting, subrip, tagged, vtt, whisper_json

FORMATS = ["text", "whisper-chunks", "otter", "whisper-console", "speaker-tagged", "srt", "vtt", "whisper-json",
           "podcasting2-json"]


def read_text(text: str, suffix: str = "") -> Transcript:
    """Detect the format of ``text`` and read it. ``suffix`` only sharpens error messages."""
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
    if vtt.detect(text):
        return vtt.read(text.lstrip())
    if subrip.detect(text):
        return subrip.read(text)
    if suffix == ".vtt":
        return vtt.read(text)
    if suffix == ".srt":
        raise BadInput("not SRT: expected a cue number, then 'HH:MM:SS,mmm --> HH:MM:SS,mmm'")
    for module in (console, tagged, chunks, otter):
        if module.detect(text):
            return module.read(text)
    transcript = plain.read(text)
    if not transcript.segments:
        raise BadInput("no transcript text found")
    return transcript


def _read_json(text: str) -> Transcript:
    data = jsonshape.load(text)
    if podcasting.detect(data):
        return podcasting.read(data)
    if whisper_json.detect(data):
        return whisper_json.read(data)
    raise BadInput(
        "JSON of an unknown shape: expected Whisper JSON (segments with start, end, text) "
        "or a Podcasting 2.0 transcript (segments with startTime, endTime, body)"
    )

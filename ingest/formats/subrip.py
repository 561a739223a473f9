"""SRT subtitles, read with the `srt` library (BOM, CRLF, cues out of order)."""
from __future__ import annotations

import re

import srt

from ..errors import BadInput
from ..models import Segment, Transcript

CUE = re.compile(r"^\s*\d+[ \t]*\r?\n[ \t]*\d+:\d{2}:\d{2}[,.]\d{1,3}[ \t]*-->")
# SRT's own formatting markup; anything else in the text is kept as written.
_MARKUP = re.compile(r"</?(?:i|b|u|s)>|</?font[^>]*>|\{\\[^}]*\}", re.IGNORECASE)


def detect(text: str) -> bool:
    return bool(CUE.match(text))


def read(text: str) -> Transcript:
    warnings = []
    try:
        cues = list(srt.parse(text))
    except srt.SRTParseError:
        cues = list(srt.parse(text, ignore_errors=True))
        warnings.append("some text could not be read as SRT cues and was skipped")
    segments = []
    for cue in sorted(cues, key=lambda c: (c.start, c.index or 0)):
        body = " ".join(_MARKUP.sub("", cue.content).split())
        if body:
            start, end = _ms(cue.start), _ms(cue.end)
            segments.append(Segment(start, end, None, body))
    if not segments:
        raise BadInput("no SRT cues with text found")
    if [c.index for c in cues] != sorted(c.index for c in cues):
        warnings.append("cues were out of order and have been sorted by time")
    return Transcript("srt", segments, warnings=warnings)


def _ms(delta) -> float:
    return round(delta.total_seconds(), 3)

"""SRT subtitles, read with the `srt` library (BOM, CRLF, cues out of order).

Blocks are checked first (cues.py): a cue with an unreadable or missing timing is skipped
and counted, never merged into the cue before it.
"""
from __future__ import annotations

import re

import srt

from ..models import Segment, Transcript
from . import cues, named
from .tagged import split_speaker

CUE = re.compile(r"^\s*\d+[ \t]*\r?\n[ \t]*\d+:\d{2}:\d{2}[,.]\d{1,3}[ \t]*-->")
STAMP = re.compile(r"\d+:\d{1,2}:\d{1,2}[,.]\d{1,3}")
# SRT's own formatting markup; anything else in the text is kept as written.
_MARKUP = re.compile(r"</?(?:i|b|u|s)>|</?font[^>]*>|\{\\[^}]*\}", re.IGNORECASE)


def detect(text: str) -> bool:
    return bool(CUE.match(text))


def read(text: str) -> Transcript:
    scan = cues.scan(cues.blocks(text), STAMP, continuation=True)
    warnings = scan.warnings()
    parsed = list(srt.parse("\n\n".join(block.text for block in scan.kept) + "\n", ignore_errors=True))
    segments = []
    for cue in sorted(parsed, key=lambda c: (c.start, c.index or 0)):
        speaker, body = split_speaker(" ".join(_MARKUP.sub("", cue.content).split()))
        if body:
            start = _seconds(cue.start)
            segments.append(Segment(start, max(start, _seconds(cue.end)), speaker, body))
    if not segments:
        raise scan.nothing_kept("SRT")
    if [c.index for c in parsed] != sorted(c.index for c in parsed):
        warnings.append("cues were out of order and have been sorted by time")
    return Transcript("srt", named.apply(segments), warnings=warnings)


def _seconds(delta) -> float:
    return round(delta.total_seconds(), 3)

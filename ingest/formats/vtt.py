"""WebVTT, read with webvtt-py: NOTE/STYLE blocks, cue ids and settings, <v Name> voices.

Blocks are checked first (cues.py), so a cue webvtt-py would drop (an unreadable timing,
text with no timing) is counted and reported instead.
"""
from __future__ import annotations

import io
import re

import webvtt
from webvtt.errors import MalformedFileError

from ..errors import BadInput
from ..models import Segment, Transcript
from ..timecode import parse_clock
from . import cues, named
from .tagged import split_speaker

STAMP = re.compile(r"(?:\d{1,10}:)?\d{1,2}:\d{1,2}\.\d{1,3}")  # what webvtt-py reads
_NOT_CUES = ("NOTE", "STYLE", "REGION")


def detect(text: str) -> bool:
    return text.lstrip().startswith("WEBVTT")


def read(text: str) -> Transcript:
    if not text.startswith("WEBVTT"):
        raise BadInput("not WebVTT: the file must start with a 'WEBVTT' header line")
    header, *rest = cues.blocks(text)
    rest = [block for block in rest if not block.lines[0].startswith(_NOT_CUES)]
    scan = cues.scan(rest, STAMP, continuation=False)
    kept = "\n\n".join([header.text, *(block.text for block in scan.kept)]) + "\n"
    try:
        captions = list(webvtt.from_buffer(io.StringIO(kept)))
    except MalformedFileError as error:
        raise BadInput(f"malformed WebVTT: {error}") from None
    segments = []
    for caption in captions:
        speaker, body = (caption.voice.strip(), caption.text) if caption.voice else split_speaker(caption.text)
        body = " ".join(body.split())
        if body:
            start = parse_clock(caption.start)
            segments.append(Segment(start, max(start, parse_clock(caption.end)), speaker or None, body))
    if not segments:
        raise scan.nothing_kept("WebVTT")
    segments.sort(key=lambda s: s.start)
    return Transcript("vtt", named.apply(segments), warnings=scan.warnings())

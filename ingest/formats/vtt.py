"""WebVTT, read with webvtt-py: NOTE/STYLE blocks, cue ids and settings, <v Name> voices."""
from __future__ import annotations

import io

import webvtt
from webvtt.errors import MalformedFileError

from ..errors import BadInput
from ..models import Segment, Transcript, number_turns
from ..timecode import parse_clock


def detect(text: str) -> bool:
    return text.lstrip().startswith("WEBVTT")


def read(text: str) -> Transcript:
    if not text.startswith("WEBVTT"):
        raise BadInput("not WebVTT: the file must start with a 'WEBVTT' header line")
    try:
        captions = list(webvtt.from_buffer(io.StringIO(text)))
    except MalformedFileError as error:
        raise BadInput(f"malformed WebVTT: {error}") from None
    segments = []
    for caption in captions:
        body = " ".join(caption.text.split())
        if body:
            speaker = caption.voice.strip() if caption.voice else None
            segments.append(Segment(parse_clock(caption.start), parse_clock(caption.end), speaker, body))
    if not segments:
        raise BadInput("no WebVTT cues with text found")
    segments.sort(key=lambda s: s.start)
    return Transcript("vtt", number_turns(segments))

"""Podcasting 2.0 JSON transcripts: {"segments": [{speaker, startTime, endTime, body}]}."""
from __future__ import annotations

from ..errors import BadInput
from ..models import Segment, Transcript, number_turns
from ..timecode import seconds
from .jsonshape import NUMBER, field, first_segment, take


def detect(data) -> bool:
    return "body" in first_segment(data)


def read(data) -> Transcript:
    segments = []
    for n, item in take(data["segments"]):
        where = f"segment {n}"
        if not isinstance(item, dict):
            raise BadInput(f"{where} is not an object")
        body = " ".join(field(item, "body", str, where).split())
        start = seconds(field(item, "startTime", NUMBER, where))
        end = seconds(field(item, "endTime", NUMBER, where, required=False))
        speaker = field(item, "speaker", str, where, required=False)
        if body:
            segments.append(Segment(start, end, speaker.strip() if speaker else None, body))
    if not segments:
        raise BadInput("the JSON has no segments with a body")
    return Transcript("podcasting2-json", number_turns(segments))

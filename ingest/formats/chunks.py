"""Whisper chunk dumps: 'Transcription for chunk_N.wav:' above each chunk's text. No times."""
from __future__ import annotations

import re

from ..models import Transcript
from .plain import paragraphs

HEADER = re.compile(r"^Transcription for (\S+?)\s*:\s*$", re.MULTILINE)


def detect(text: str) -> bool:
    return bool(HEADER.match(text.lstrip()))


def read(text: str) -> Transcript:
    segments = []
    headers = list(HEADER.finditer(text))
    for header, following in zip(headers, headers[1:] + [None]):
        end = following.start() if following else len(text)
        body = text[header.end():end]
        chunk = paragraphs(body, base=header.end())
        if chunk:
            # One chunk is one stretch of audio: keep it as one segment.
            first = chunk[0]
            first.text = " ".join(s.text for s in chunk)
            segments.append(first)
    return Transcript("whisper-chunks", segments)

"""Otter-style exports: 'Name  M:SS' (or H:MM:SS) on a line, then what they said."""
from __future__ import annotations

import re

from ..models import Segment, Transcript, number_turns
from ..timecode import parse_clock

HEADER = re.compile(r"^(?P<speaker>\S[^\n]*?)[ \t]{2,}(?P<time>\d{1,2}(?::\d{2}){1,2})[ \t]*$", re.MULTILINE)
_FOOTER = re.compile(r"^\s*Transcribed by https?://otter\.ai\s*$", re.MULTILINE | re.IGNORECASE)


def detect(text: str) -> bool:
    first_line = text.lstrip().split("\n", 1)[0].rstrip()
    return bool(HEADER.fullmatch(first_line))


def read(text: str) -> Transcript:
    text = _FOOTER.sub("", text)
    headers = list(HEADER.finditer(text))
    segments = []
    for header, following in zip(headers, headers[1:] + [None]):
        body = text[header.end(): following.start() if following else len(text)]
        words = " ".join(line.strip() for line in body.splitlines() if line.strip())
        if words:
            start = parse_clock(header["time"])
            # Otter gives only start times; the end is left unknown rather than guessed.
            segments.append(Segment(start, None, header["speaker"].strip(), words))
    return Transcript("otter", number_turns(segments))

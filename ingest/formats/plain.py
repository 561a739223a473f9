"""Plain text: one long line, or paragraphs separated by blank lines. No times."""
from __future__ import annotations

import re

from ..models import Segment, Transcript
from . import named

_PARAGRAPH = re.compile(r"\S(?:.*\S)?(?:\n[ \t]*\S.*)*", re.MULTILINE)


def paragraphs(text: str, base: int = 0) -> list[Segment]:
    """Each run of non-blank lines becomes one untimed segment, wrapped lines joined."""
    segments = []
    for match in _PARAGRAPH.finditer(text):
        body = " ".join(line.strip() for line in match.group().splitlines() if line.strip())
        segments.append(Segment(None, None, None, body, offset=base + match.start()))
    return segments


def read(text: str) -> Transcript:
    """Paragraphs; or, where the lines start with the same few speakers' names (``Name: text``: named.py),
    one segment per speaker's turn, named."""
    turns = named.lines(text)
    if turns is None:
        return Transcript("text", paragraphs(text))
    return Transcript("text", named.apply([Segment(None, None, None, said, offset=at) for at, said in turns]))

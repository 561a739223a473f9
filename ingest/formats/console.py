"""Whisper console lines: '[HH:MM:SS.mmm --> HH:MM:SS.mmm]  text'.

Whisper marks a change of speaker with '>>' (and in dialogue with a leading '- ');
it does not name the speakers, so each change starts a new turn with no speaker.
"""
from __future__ import annotations

import re

from ..models import Segment, Transcript
from ..timecode import parse_clock
from .named import CHANGE

_TIME = r"(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3}"
LINE = re.compile(rf"^\[({_TIME})\s*-->\s*({_TIME})\]\s?(.*)$")


def detect(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    timed = sum(1 for line in lines[:200] if LINE.match(line))
    return timed > 0 and timed >= 0.5 * min(len(lines), 200)


def read(text: str) -> Transcript:
    segments: list[Segment] = []
    turn = 0
    for raw in text.splitlines():
        line = raw.strip()
        match = LINE.match(line)
        if not match:
            if line and segments:
                segments[-1].text += " " + line
            continue
        start, end, body = parse_clock(match[1]), parse_clock(match[2]), match[3].strip()
        changed = CHANGE.match(body)
        if changed:
            body = body[changed.end():]
            turn += 1 if segments else 0
        if body:
            segments.append(Segment(start, end, None, body, turn=turn))
    return Transcript("whisper-console", segments)

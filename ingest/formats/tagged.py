"""Speaker-tagged text, as diarising tools write it: '[SPEAKER_01]: Hola, …' on each line. No times.

whisper-ctranslate2 and WhisperX-style scripts write this; the same tag at the start of an
SRT or WebVTT cue names that cue's speaker.
"""
from __future__ import annotations

import re

from ..models import Segment, Transcript, number_turns

TAG = re.compile(r"^\[(?P<speaker>[^\[\]\n]{1,60})\]:[ \t]*")


def split_speaker(text: str) -> tuple[str | None, str]:
    """'[SPEAKER_01]: Hola' → ('SPEAKER_01', 'Hola'); text without a tag → (None, text)."""
    match = TAG.match(text)
    if not match:
        return None, text
    return match["speaker"].strip() or None, text[match.end():]


def detect(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines() if line.strip()][:200]
    return bool(lines) and sum(1 for line in lines if TAG.match(line)) >= 0.5 * len(lines)


def read(text: str) -> Transcript:
    segments: list[Segment] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        speaker, body = split_speaker(line.strip())
        body = " ".join(body.split())
        if speaker is None and segments and body:
            segments[-1].text += " " + body  # a wrapped line continues the turn above
        elif body:
            segments.append(Segment(None, None, speaker, body, offset=offset + len(line) - len(line.lstrip())))
        offset += len(line)
    return Transcript("speaker-tagged", number_turns(segments))

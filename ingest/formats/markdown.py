"""Markdown dialogue, as podcast publishers put transcripts on the web (Changelog's, many others):
each turn a paragraph that starts '**Name:**', more paragraphs of the same turn untagged, and
timestamps such as '\\[05:59\\]' or '[1:02:03.4]' where the publisher put them.

Times: a piece of text that starts at a timestamp starts there. The pieces between two timestamps
are placed between them by their share of the words, since speech keeps an even pace over a few
minutes; before the first and after the last, at the episode's own pace. A piece ends where the
next begins. A transcript without any timestamp stays untimed, with its speakers.
"""
from __future__ import annotations

import html
import re

from ..models import Segment, Transcript, number_turns
from ..timecode import parse_clock
from .plain import paragraphs

# '**Adam Stacoviak:**', '**Adam Stacoviak**:', '__Adam:__'
TAG = re.compile(r"^(?:\*\*|__)(?P<speaker>[^*_\n]{1,60}?)(?::(?:\*\*|__)|(?:\*\*|__):)[ \t]*")
STAMP = re.compile(r"\\?\[(?P<time>\d{1,2}(?::\d{2}){1,2}(?:\.\d+)?)\\?\]")
_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\s]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
SECONDS_PER_WORD = 60 / 160  # a talk's pace where the transcript gives nothing better


def detect(text: str) -> bool:
    found = paragraphs(text[:200_000])
    tagged = sum(1 for p in found if TAG.match(p.text))
    return tagged >= 3 and tagged >= 0.2 * len(found)


def plain_text(markdown: str) -> str:
    """What a Markdown piece says: links as their words, no emphasis marks, no escapes."""
    text = _LINK.sub(r"\1", html.unescape(markdown))
    text = _EMPHASIS.sub(r"\2", text)
    text = _ESCAPE.sub(r"\1", text)
    return " ".join(text.lstrip("#> ").split())


def read(text: str) -> Transcript:
    pieces: list[tuple[str | None, str, float | None]] = []  # (speaker, text, the time it starts at)
    speaker, pending = None, None
    for paragraph in paragraphs(text):
        body = paragraph.text
        if body.strip() in ("---", "***"):
            continue
        tag = TAG.match(body)
        if tag:
            speaker, body = tag["speaker"].strip() or None, body[tag.end():]
        at, cursor = pending, 0
        pending = None
        for stamp in STAMP.finditer(body):
            before = plain_text(body[cursor:stamp.start()])
            if before:
                pieces.append((speaker, before, at))
            at, cursor = parse_clock(stamp["time"]), stamp.end()
        rest = plain_text(body[cursor:])
        if rest:
            pieces.append((speaker, rest, at))
        elif at is not None:
            pending = at  # a timestamp alone on its line: the next paragraph starts there
    starts = _place([(words, at) for _, words, at in pieces])
    segments = []
    for n, (who, words, _) in enumerate(pieces):
        start = starts[n]
        end = starts[n + 1] if n + 1 < len(pieces) and start is not None else (
            None if start is None else round(start + len(words.split()) * _pace(pieces, starts), 3))
        segments.append(Segment(start, end, who, words))
    return Transcript("markdown-dialogue", number_turns(segments))


def _place(pieces: list[tuple[str, float | None]]) -> list[float | None]:
    """Each piece's start: its own timestamp, else interpolated by words between the timestamps around it."""
    anchors, last = [], -1.0
    for n, (_, at) in enumerate(pieces):
        if at is not None and at > last:  # a timestamp that goes back in time is a typo: passed over
            anchors.append((n, at))
            last = at
    if not anchors:
        return [None] * len(pieces)
    words = [0]
    for text, _ in pieces:
        words.append(words[-1] + len(text.split()))
    spoken, took = words[anchors[-1][0]] - words[anchors[0][0]], anchors[-1][1] - anchors[0][1]
    rate = took / spoken if spoken and took > 0 else SECONDS_PER_WORD
    if anchors[0][0] > 0 or anchors[0][1] > 0:
        anchors.insert(0, (0, max(0.0, anchors[0][1] - words[anchors[0][0]] * rate)))
    starts: list[float | None] = []
    for n in range(len(pieces)):
        before = max((a for a in anchors if a[0] <= n), key=lambda a: a[0])
        after = next((a for a in anchors if a[0] > n), None)
        if after is None:
            starts.append(round(before[1] + (words[n] - words[before[0]]) * rate, 3))
        else:
            share = (words[n] - words[before[0]]) / max(1, words[after[0]] - words[before[0]])
            starts.append(round(before[1] + share * (after[1] - before[1]), 3))
    return starts


def _pace(pieces, starts) -> float:
    timed = [(s, len(t.split())) for (_, t, _), s in zip(pieces, starts) if s is not None]
    if len(timed) < 2 or timed[-1][0] <= timed[0][0]:
        return SECONDS_PER_WORD
    return (timed[-1][0] - timed[0][0]) / max(1, sum(w for _, w in timed[:-1]))

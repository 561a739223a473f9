"""Speakers written in the text itself, as community transcripts and captions write them.

- ``Name: text`` at the start of a cue or line (``Bekah Hawrot Weigel: Hello…``). A label is a name
  only when the same few names recur through the file: a one-off ``Note: …`` or ``Tip: …`` stays text.
  A cue without a label goes on with the speaker before it (many files label only a change of
  speaker); the name leaves the text.
- ``>>`` or a leading ``- `` (YouTube-style captions, Whisper): a change of speaker, unnamed.

SRT, WebVTT (where a cue has no ``<v Name>``) and plain text read them; ``[Name]:`` tags are tagged.py's.
"""
from __future__ import annotations

import re
from collections import Counter

from ..models import Segment

# One to four capitalised words (a particle such as "de" or "van" between them, or a number after:
# "Speaker 2"), then a colon and text. At most 40 characters.
LABEL = re.compile(r"(?P<name>(?=.{1,40}:)[A-Z][\w'’.-]*(?:[ \t]+(?:[A-Z][\w'’.-]*|\d{1,2}|de|da|del|la|le|van|"
                   r"von|der|den|bin|al|el))*)[ \t]*:[ \t]+(?=\S)")
CHANGE = re.compile(r"^(?:>>|-\s)\s*")  # Whisper's console output marks a change so too (console.py)
# Words that open a line with a colon without naming anyone.
NOT_NAMES = frozenset("""note notes nb ps tip tips step warning caution update edit example examples question answer
summary source sources link links chapter part section intro outro music applause laughter transcript
translation caption subtitle subtitles yes no so and but well okay ok also then now here there this that what why
how when where who important reminder todo fixme disclaimer sponsor ad advertisement title date time location
speakers episode host guest""".split())
MAX_NAMES = 12       # more different "names" than this, and the colons are something else
MIN_SHARE = 0.01     # labels open at least this share of the cues (or lines): many files label only a change
MIN_REPEATS = 2      # each name at least this many times
MIN_LABELS = 4       # and the names together


def names(texts: list[str]) -> dict[str, str]:
    """The labels that name speakers in these cues or lines (recurring, few, not words like 'Note'; in a
    short file, two or more names that open most of its cues), each with the name it stands for: a short
    label and a longer one that starts with it are one person, called by the longer ("Bekah" and, once,
    "Bekah Hawrot Weigel")."""
    counts = Counter(match["name"] for match in (_label(text) for text in texts)
                     if match and match["name"].lower() not in NOT_NAMES)
    found = {name for name, n in counts.items() if n >= MIN_REPEATS}
    if len(counts) >= 2 and sum(counts.values()) >= 0.5 * len(texts):  # a short dialogue: "Alice: …", "Bob: …"
        found = set(counts)
    if not found or len(found) > MAX_NAMES or sum(counts[name] for name in found) < min(
            max(MIN_LABELS, MIN_SHARE * len(texts)), 0.5 * len(texts)):
        return {}
    called = {name: name for name in found}
    for label in counts:
        for name in found:
            if label.startswith(name + " ") and len(label) > len(called[name]):
                called[name] = called[label] = label
    return called


_LEAD = re.compile(r"^[.,;…]+[ \t]*")  # a cue cut just after a sentence's full stop: ". Joan: So I did…"


def _label(text: str) -> re.Match | None:
    """The label at the start of ``text``, past stray punctuation a cue was cut with; its end is in ``text``."""
    lead = _LEAD.match(text)
    return LABEL.match(text, lead.end()) if lead else LABEL.match(text)


def apply(segments: list[Segment]) -> list[Segment]:
    """Name the speakers the cues' text labels (the names leave the text), start a turn at each change of
    speaker, named or marked (``>>``), and number the turns. A segment already named keeps its name."""
    known = names([s.text for s in segments if s.speaker is None])
    current, turn, previous, changed = None, 0, None, False
    for i, segment in enumerate(segments):
        if segment.speaker is None:
            match = _label(segment.text)
            marked = CHANGE.match(segment.text)
            if match and match["name"] in known:
                segment.speaker = current = known[match["name"]]
                segment.text = segment.text[match.end():]
            elif marked:
                segment.text, current, changed = segment.text[marked.end():], None, True
            elif known:
                segment.speaker = current  # a cue goes on with the speaker before it
        else:
            current = segment.speaker
        if i and (segment.speaker != previous or changed):
            turn += 1
        segment.turn, previous, changed = turn, segment.speaker, False
    return [s for s in segments if s.text.strip()]


def lines(text: str) -> list[tuple[int, str]] | None:
    """Plain text whose lines start with recurring speaker labels: (offset, the text of one speaker's
    turn: its labelled line and the lines after it), else None."""
    found = [(m.start(), m.group()) for m in re.finditer(r"[^\n]*\S[^\n]*", text)]
    known = names([line.strip() for _, line in found])
    if not known:
        return None
    turns: list[tuple[int, str]] = []
    for offset, line in found:
        match = _label(line.strip())
        if match and match["name"] in known or not turns:
            turns.append((offset + len(line) - len(line.lstrip()), line.strip()))
        else:
            turns[-1] = (turns[-1][0], f"{turns[-1][1]} {line.strip()}")
    return turns

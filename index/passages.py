"""Segments → passages: sentence-aware chunks of roughly 40–120 words for search.

A passage never crosses a change of speaker (a new ``turn``) or a long pause, and it
remembers where each of its sentences starts (a time, or for untimed transcripts a
character offset in the source), so a hit can cite the exact sentence.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from ..ingest import Segment

MIN_WORDS = 40
TARGET_WORDS = 80
MAX_WORDS = 120
PAUSE_SECONDS = 3.0   # a silence this long ends a passage, as a new thought usually starts there
INDEX_MIN_WORDS = 5   # "Yep." or "[Music]" alone answers nothing; such passages are not indexed

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass
class Sentence:
    at: int                    # character offset in the passage text
    start: float | None        # seconds, when timed
    offset: int | None = None  # character offset in the source file, when untimed


@dataclass
class Passage:
    episode_id: str
    idx: int
    text: str
    start: float | None
    end: float | None
    speaker: str | None
    turn: int
    first_segment: int
    last_segment: int
    sentences: list[Sentence] = field(default_factory=list)
    id: int | None = None
    # The kept shingle hashes of its text (recurring.fingerprints), as stored; None for a passage stored
    # before they were (a search makes them from the text then).
    prints: tuple[int, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def words(self) -> int:
        return len(self.text.split())

    @property
    def paragraph(self) -> int:
        """For untimed transcripts, segments are paragraphs: the first one's number."""
        return self.first_segment

    @property
    def offset(self) -> int | None:
        return self.sentences[0].offset if self.sentences else None

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Each sentence's characters in ``text``: [start, end)."""
        starts = [s.at for s in self.sentences]
        return list(zip(starts, starts[1:] + [len(self.text)]))

    def said(self) -> list[tuple[str, float | None, int | None]]:
        """(text, start seconds, source offset) of each sentence; the whole text when none is marked."""
        return [(self.text[a:b].strip(), s.start, s.offset) for (a, b), s in zip(self.spans, self.sentences)] \
            or [(self.text, self.start, None)]


@dataclass
class _Piece:
    """A sentence with the segment it starts in and where it starts."""

    text: str
    segment: int
    last_segment: int
    start: float | None
    offset: int | None


def runs(segments: list[Segment]) -> list[list[int]]:
    """Indexes of segments grouped where the speaker stays and no long pause falls."""
    groups: list[list[int]] = []
    for i, segment in enumerate(segments):
        if groups:
            previous = segments[groups[-1][-1]]
            gap_from = previous.end if previous.end is not None else None
            paused = gap_from is not None and segment.start is not None and segment.start - gap_from >= PAUSE_SECONDS
            if segment.turn == previous.turn and not paused:
                groups[-1].append(i)
                continue
        groups.append([i])
    return groups


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(begin, end) of each sentence of ``text``, as passages and their citations split them."""
    starts = [0] + [m.end() for m in _SENTENCE_END.finditer(text)]
    return list(zip(starts, starts[1:] + [len(text)]))


def _pieces(segments: list[Segment], run: list[int]) -> list[_Piece]:
    """Split a run of segments into sentences, which may span segment boundaries."""
    text, bounds = "", []
    for i in run:
        if text:
            text += " "
        bounds.append(len(text))
        text += segments[i].text.strip()
    pieces = []
    for begin, end in sentence_bounds(text):
        sentence = text[begin:end].strip()
        if not sentence:
            continue
        first = bisect.bisect_right(bounds, begin) - 1
        last = bisect.bisect_right(bounds, max(begin, end - 1)) - 1
        segment = segments[run[first]]
        within = begin - bounds[first]
        offset = segment.offset + within if segment.offset is not None else None
        pieces.append(_Piece(sentence, run[first], run[last], _sentence_start(segment, within), offset))
    return pieces


def _sentence_start(segment: Segment, within: int) -> float | None:
    """The time a sentence starting ``within`` characters into ``segment`` is spoken."""
    if segment.words and within:
        spoken = 0
        for word in segment.words:
            if spoken >= within:
                return word.start
            spoken += len(word.text) + 1
    return segment.start


def _split_long(piece: _Piece) -> list[_Piece]:
    """A 'sentence' beyond MAX_WORDS (no punctuation) is cut into word windows."""
    words = piece.text.split()
    if len(words) <= MAX_WORDS:
        return [piece]
    chunks = [" ".join(words[i:i + TARGET_WORDS]) for i in range(0, len(words), TARGET_WORDS)]
    return [_Piece(c, piece.segment, piece.last_segment, piece.start if n == 0 else None, piece.offset if n == 0 else None)
            for n, c in enumerate(chunks)]


def build(episode_id: str, segments: list[Segment]) -> list[Passage]:
    passages: list[Passage] = []
    for run in runs(segments):
        groups: list[list[_Piece]] = [[]]
        count = 0
        for piece in (p for whole in _pieces(segments, run) for p in _split_long(whole)):
            n = len(piece.text.split())
            if groups[-1] and (count >= TARGET_WORDS or count + n > MAX_WORDS):
                groups.append([])
                count = 0
            groups[-1].append(piece)
            count += n
        if len(groups) > 1 and sum(len(p.text.split()) for g in groups[-2:] for p in g) <= MAX_WORDS:
            groups[-2].extend(groups.pop())  # a short tail joins the passage before it
        for group in filter(None, groups):
            passages.append(_passage(episode_id, len(passages), group, segments))
    return passages


def _passage(episode_id: str, idx: int, pieces: list[_Piece], segments: list[Segment]) -> Passage:
    text, sentences = "", []
    for piece in pieces:
        if text:
            text += " "
        sentences.append(Sentence(len(text), piece.start, piece.offset))
        text += piece.text
    first, last = segments[pieces[0].segment], segments[pieces[-1].last_segment]
    return Passage(
        episode_id=episode_id, idx=idx, text=text,
        start=sentences[0].start if sentences[0].start is not None else first.start,
        end=last.end if last.end is not None else last.start,
        speaker=first.speaker, turn=first.turn,
        first_segment=pieces[0].segment, last_segment=pieces[-1].last_segment, sentences=sentences,
    )

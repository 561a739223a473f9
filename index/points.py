"""A key-points answer: up to five distinct answers to a question, each a cited moment.

Extractive and offline: each point is the sentence a hit cites (an answer, never the question;
highlight.py), with the next sentence when the first is too short to stand alone. Points come
from different moments: one per stretch of talk, none within a minute of another in the same
episode, and none that repeats another's words (the same talk transcribed twice).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..ingest.dedup import containment
from ..ingest.dedup import shingles as shingles_of

from .hits import Citation, Hit
from .questions import echoes, is_question
from .ranking import Filters, search
from .store import Index

POINTS = 5
SHORT = 15          # words: a point this short takes the sentence after it too
APART = 60.0        # seconds between two points of one episode
SAME_WORDS = 0.5    # share of 3-word shingles that makes two points one
MIN_WORDS = 8       # "Yes, you do have good advice." says nothing on its own


@dataclass(frozen=True)
class Point:
    """A few sentences of a hit, cited at their own moment; who said them and where is the hit's."""

    text: str
    start: float | None
    end: float | None
    hit: Hit = field(repr=False)

    episode_id = property(lambda self: self.hit.episode_id)
    episode_title = property(lambda self: self.hit.episode_title)
    show = property(lambda self: self.hit.show)
    speaker = property(lambda self: self.hit.speaker)
    passage_id = property(lambda self: self.hit.passage_id)
    paragraph = property(lambda self: self.hit.paragraph)

    @property
    def cited(self) -> Citation:
        return self.hit.cited(self.start)

    @property
    def citation(self) -> str:
        return self.cited.format()

    @property
    def link(self) -> str | None:
        return self.cited.link

    def to_dict(self) -> dict:
        return {"text": self.text, "episode_id": self.episode_id, "episode_title": self.episode_title,
                "show": self.show, "speaker": self.speaker, "start": self.start, "end": self.end,
                "citation": self.citation, "link": self.link, "passage_id": self.passage_id,
                "paragraph": self.paragraph}


@dataclass
class Answer:
    question: str
    points: list[Point]
    hits: list[Hit]

    def to_dict(self) -> dict:
        return {"question": self.question, "points": [p.to_dict() for p in self.points],
                "hits": [h.to_dict() for h in self.hits]}


def ask(index: Index, question: str, k: int = 10, points: int = POINTS, filters: Filters | None = None,
        mode: str = "hybrid") -> Answer:
    """The hits for ``question`` (as search gives them) and up to ``points`` key points drawn from them."""
    hits = search(index, question, k=max(k, 4 * points), mode=mode, filters=filters)
    return Answer(question, key_points(hits, points, question, index.hosts()), hits[:k])


def key_points(hits: list[Hit], limit: int = POINTS, question: str = "",
               hosts: dict[str, frozenset[str]] | None = None) -> list[Point]:
    """Distinct answers among the hits: never a question, a sponsor read, a few words that say nothing
    alone, or a host's own words (in an interview the host's turns ask; their statements lead into the
    guest's answer)."""
    hosts = hosts or {}
    candidates = []
    for rank, hit in enumerate(hits):
        if hit.recurring or hit.speaker in hosts.get(hit.episode_id, ()):
            continue
        point = _point(hit, question)
        if point is not None and len(point.text.split()) >= MIN_WORDS:
            candidates.append((rank, hit, point))
    chosen: list[tuple[Point, set[str]]] = []
    for _, _, point in candidates:
        words = shingles_of(point.text, 3)
        if any(_same_moment(point, other) or containment(words, other_words) >= SAME_WORDS
               for other, other_words in chosen):
            continue
        chosen.append((point, words))
        if len(chosen) == limit:
            break
    return [point for point, _ in chosen]


def _point(hit: Hit, question: str) -> Point | None:
    """The hit's cited sentence as a point (with the next one when it is short, and the one before when
    it only echoes the question: "and that helps me avoid burnout"); None for a question."""
    if hit.sentence is None or is_question(hit.highlight):
        return None
    sentences, at = hit.sentences(), hit.sentence
    text, end, start = hit.highlight, None, hit.start
    if echoes(text, question) and at > 0 and not is_question(sentences[at - 1][1]):
        text = f"{sentences[at - 1][1]} {text}"
        start = sentences[at - 1][2] if sentences[at - 1][2] is not None else start
    if len(text.split()) < SHORT and at + 1 < len(sentences) and not is_question(sentences[at + 1][1]):
        text = f"{text} {sentences[at + 1][1]}"
        at += 1
    if at + 1 < len(sentences):
        end = sentences[at + 1][2]
    part = sentences[at][0]
    end = end if end is not None else part.end
    return Point(text, start, end, hit)


def _same_moment(point: Point, other: Point) -> bool:
    if point.episode_id != other.episode_id:
        return False
    if point.start is None or other.start is None:
        return point.passage_id == other.passage_id
    return abs(point.start - other.start) < APART

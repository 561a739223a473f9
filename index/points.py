"""A key-points answer: up to five distinct answers to a question, each a cited moment, and whether the
library answers it at all.

Extractive and offline. A point is an answer span (spans.py): one to three sentences of one speaker,
shaped to stand on its own. The spans of the first POOL_HITS hits are scored twice:

1. by the knowledge base's own model, from the sentence vectors stored at index time, leaned by the
   span's shape (signs of advice, a voiced thought) and by its hit's rank (``first``);
2. the best SHORTLIST of them again by the strongest offline model, the judge (judge.py), and the two
   scores mixed (``JUDGE_WEIGHT``).

Points come from different moments: none within a minute of another in the same episode or in another
transcription of the same talk (episodes linked as duplicates; where either is untimed, the same
paragraph), none that repeats another's words. Never a question, a host's lead-in, a
sponsor read, a promo, the show's intro or credits.

The evidence for an answer is how near the best point's words are to the question (both models'
cosines, averaged, without the leaning). Below EVIDENCE (calibrated on three real corpora against
questions they cannot answer, bench/RESULTS.md) the answer says so: ``answered`` is False and
``confidence`` under 0.5.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


from ..ingest.dedup import containment
from ..ingest.dedup import shingles as shingles_of

from . import spans as shapes
from .highlight import _paragraph, said_of
from .hits import Citation, CitedAt, Hit, ends_at
from .judge import Judge
from .query import Filters, Query
from .ranking import search
from .store import Index

POINTS = 5
POOL_HITS = 40        # the hits whose spans may be points (40 found more answers than 20 on all three corpora)
SHORTLIST = 24        # spans the judge scores again (24 keep ask near 1 s on 2 cores, bench/RESULTS.md)
JUDGE_WEIGHT = 0.5    # of a span's final score that is the judge's
RANK_STEP = 0.01      # a span of the n-th hit loses n times this: the ranking's own evidence
HOST_PENALTY = 0.05   # a host's own words, when not leading into a question, still weigh less than a guest's
FOLLOWING = 1         # passages after a hit that an announcement may reach into
APART = 60.0          # seconds between two points of one episode
SAME_WORDS = 0.5      # share of 3-word shingles that makes two points one
# Evidence below which the library has no answer: the mean of both models' cosines for the best point
# (the first stage's alone without a judge). Chosen so that at most 5% of on-topic questions are
# refused, pooled over three corpora (bench/RESULTS.md, issue 26).
EVIDENCE = {"judged": 0.41, "first": 0.41}
SPREAD = 0.04         # how fast confidence goes from 0 to 1 around the threshold
NO_ANSWER = "Nothing in this library answers that well; the nearest passages are below."  # as every UI says it


@dataclass(frozen=True)
class Point(CitedAt):
    """An answer span of a hit, cited at its own moment and speaker; where it is from is the hit's."""

    text: str
    start: float | None
    end: float | None
    hit: Hit = field(repr=False)
    speaker: str | None = None
    paragraph: int | None = None
    score: float = 0.0

    episode_id = property(lambda self: self.hit.episode_id)
    episode_title = property(lambda self: self.hit.episode_title)
    show = property(lambda self: self.hit.show)
    passage_id = property(lambda self: self.hit.passage_id)

    @property
    def cited(self) -> Citation:
        hit = self.hit
        paragraph = self.paragraph if self.paragraph is not None else hit.paragraph
        return Citation(hit.show, hit.episode_title, self.speaker, self.start,
                        paragraph if self.start is None else None, hit.url)

    def to_dict(self) -> dict:
        return {"text": self.text, "episode_id": self.episode_id, "episode_title": self.episode_title,
                "show": self.show, "speaker": self.speaker, "start": self.start, "end": self.end,
                "citation": self.citation, "link": self.link, "passage_id": self.passage_id,
                "paragraph": self.paragraph, "score": round(self.score, 4)}


@dataclass
class Answer:
    question: str
    points: list[Point]
    hits: list[Hit]
    answered: bool = True       # False: nothing in the library answers the question well
    confidence: float = 1.0     # 0 to 1; under 0.5 is "no answer"

    def to_dict(self) -> dict:
        return {"question": self.question, "answered": self.answered, "confidence": round(self.confidence, 3),
                "points": [p.to_dict() for p in self.points], "hits": [h.to_dict() for h in self.hits]}


@dataclass
class _Option:
    """A span that may be a point, while ask scores it."""

    hit: Hit
    said: list[shapes.Said]
    span: shapes.Span
    first: float          # the first stage's score, leaned
    near: float           # the first stage's cosine alone
    judged: float | None = None
    final: float = 0.0


def ask(index: Index, question: Query | str, k: int = 10, points: int = POINTS, filters: Filters | None = None,
        mode: str = "hybrid", judge: Judge | None = None) -> Answer:
    """The hits for ``question`` (as search gives them), up to ``points`` key points drawn from them, and
    whether they answer it."""
    query = _asked(index, question)
    if not query.terms:
        return Answer(query.text, [], [], answered=False, confidence=0.0)
    hits = search(index, query, k=max(k, POOL_HITS), mode=mode, filters=filters, cited=k)
    chosen = _choose(index, hits[:POOL_HITS], query, points, judge)
    evidence, kind = _evidence(chosen)
    confidence = 1 / (1 + math.exp(-(evidence - EVIDENCE[kind]) / SPREAD)) if chosen else 0.0
    answered = confidence >= 0.5
    # No answer, no points: every face (JSON, text, web, MCP) shows the nearest passages only.
    return Answer(query.text, [point for point, _ in chosen] if answered else [], hits[:k], answered=answered,
                  confidence=confidence)


def key_points(index: Index, hits: list[Hit], question: Query | str, limit: int = POINTS,
               judge: Judge | None = None) -> list[Point]:
    """The key points among ``hits`` for ``question``, as ``ask`` chooses them."""
    return [point for point, _ in _choose(index, hits, _asked(index, question), limit, judge)]


def _asked(index: Index, question: Query | str) -> Query:
    """The question as ``ask`` reads it: its vector is of the question as asked, quotes and all (a search
    alone embeds its plain words)."""
    query = question if isinstance(question, Query) else Query.of(question)
    if query.vector is None and query.terms:
        query.vector = index.query_embedder.encode([query.text])[0]
    return query


def _choose(index: Index, hits: list[Hit], query: Query, limit: int,
            judge: Judge | None) -> list[tuple[Point, _Option]]:
    """Up to ``limit`` distinct points: every span scored by the first stage, the best SHORTLIST judged
    again (when there is a judge) and the two scores mixed."""
    options = sorted(_options(index, hits, query), key=lambda o: -o.first)
    shortlist = options[:SHORTLIST]
    if judge is not None and shortlist:
        scores = judge.scores(query.text, [[o.said[i].text for i in range(o.span.first, o.span.last + 1)]
                                           for o in shortlist])
        for option, score in zip(shortlist, scores):
            option.judged = score
    for option in shortlist:
        rest = option.first - option.near  # the leaning: shape, rank, host
        option.final = option.first if option.judged is None else \
            (1 - JUDGE_WEIGHT) * option.first + JUDGE_WEIGHT * (option.judged + rest)
    shortlist.sort(key=lambda o: -o.final)
    return _distinct(index, shortlist, limit)


def _options(index: Index, hits: list[Hit], query: Query) -> list[_Option]:
    """Every span of the hits that may be a point, with its first score. A sponsor read or intro the show
    repeats (a recurring hit) has none."""
    hosts = index.hosts()
    found = []
    for rank, hit in enumerate(hits):
        if hit.recurring:
            continue
        episode_hosts = hosts.get(hit.episode_id, frozenset())
        said, inside = said_of(index, hit, episode_hosts, following=FOLLOWING)
        for span in shapes.spans(said, known=query.known):
            if span.first >= inside or span.vector is None:
                continue  # a span starts in its hit; only an announcement reaches past it
            near = float(span.vector @ query.vector)
            host = said[span.first].speaker in episode_hosts
            first = near + shapes.lean(span.text) - RANK_STEP * rank - (HOST_PENALTY if host else 0.0)
            found.append(_Option(hit, said, span, first, near))
    return found


def _distinct(index: Index, options: list[_Option], limit: int) -> list[tuple[Point, _Option]]:
    chosen: list[tuple[Point, set[str], _Option]] = []
    linked = index.library.linked() if options else set()
    for option in options:
        point = _point(index, option)
        words = shingles_of(point.text, 3)
        if any(_same_moment(point, other, linked) or containment(words, other_words) >= SAME_WORDS
               for other, other_words, _ in chosen):
            continue
        chosen.append((point, words, option))
        if len(chosen) == limit:
            break
    return [(point, option) for point, _, option in chosen]


def _point(index: Index, option: _Option) -> Point:
    said, span = option.said, option.span
    first = said[span.first]
    end = ends_at((s.start for s in said[span.last + 1:]), first.start, said[span.last].end)
    paragraph = None
    if first.start is None:
        paragraph = _paragraph(index, option.hit.episode_id, first.part, first.offset) if first.part else None
    return Point(span.text, first.start, end, option.hit, first.speaker, paragraph, option.final)


def _evidence(chosen: list[tuple[Point, _Option]]) -> tuple[float, str]:
    """How near the best point is to the question, and by which measure (judged or first stage alone)."""
    if not chosen:
        return 0.0, "first"
    options = [option for _, option in chosen]
    if all(o.judged is not None for o in options):
        return max((o.near + o.judged) / 2 for o in options), "judged"
    return max(o.near for o in options), "first"


def _same_moment(point: Point, other: Point, linked: set[tuple[str, str]] = frozenset()) -> bool:
    """Whether two points are one moment: of one episode, or of two transcriptions of one talk."""
    if point.episode_id != other.episode_id:
        if (point.episode_id, other.episode_id) not in linked:
            return False
        if point.start is None or other.start is None:  # cut differently: only the paragraph places them
            return (point.paragraph or 1) == (other.paragraph or 1)
        return abs(point.start - other.start) < APART
    if point.start is None or other.start is None:
        return point.passage_id == other.passage_id and point.paragraph == other.paragraph
    return abs(point.start - other.start) < APART

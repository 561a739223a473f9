"""The sentence a hit cites, and the answer in place of a question.

Each sentence's vector was stored at index time, so choosing costs one matrix product, not an
embedding pass. When the sentence nearest the query is someone asking it ("so how do you avoid
burnout…"), the hit cites the answer instead: the best non-question sentence after it in the
same stretch, else the passage that follows (the next speaker's turn, or the speaker going on).
In an interview, a host's turn is the question however it is put (several sentences, some without
a question mark: "Let's talk about quitting."), so for a question-like query a host's passage
cites the guest's reply: the next passage by someone else, at the moment the answer starts. The
question stays on the hit, shown above the answer as its context.
"""
from __future__ import annotations

import re

import numpy as np

from . import keywords, recurring, spans, tables
from .conversation import asking_turns
from .embed import sentence_text
from .hits import Candidate
from .passages import Passage
from .query import Query
from .questions import echoes, is_question
from .store import Index


def choose(index: Index, hits: list[Candidate], query: Query, query_vector: np.ndarray | None,
           allowed: set[int] | None = None) -> list[Candidate]:
    """Choose each hit's sentence (answer-first), scored against ``query_vector`` (by shared words without
    one); drop hits that became the same answer as a better one. An answer outside ``allowed`` (the
    filters) is not followed."""
    scorer = Scorer(index, query, query_vector)
    scorer.read([part for hit in hits for part in hit.parts])  # every hit's sentence vectors in one statement
    hosts = index.hosts() if query.asks and not query.phrases else {}
    for hit in hits:
        _choose(index, hit, scorer, allowed, hosts.get(hit.episode_id, frozenset()))
    seen: set[int] = set()
    kept = []
    for hit in hits:
        if seen.isdisjoint(hit.passage_ids):
            kept.append(hit)
        seen.update(hit.passage_ids)
    return kept


ANSWER_WINDOW = 4     # an answer starts within the first few sentences after its question
ANSWER_MIN_WORDS = 5  # "Yeah." or "Right, right." answers nothing
RESTATED = 0.6        # a sentence this close to the question restates it ("so he asked how you avoid burnout")
# "Yeah, that's a great question." comes before an answer; it is not one.
_FILLER = re.compile(r"^\W*(?:(?:yeah|yes|so|well|oh|um|uh|okay|ok|right|sure|totally|absolutely|wow|man|gosh)\W+)*"
                     r"(?:that's|that is|what|it's|such)?\W*(?:a\s+)?(?:really\s+|very\s+|super\s+)?"
                     r"(?:great|good|interesting|fair|fun|tough|hard|big|loaded)\s+(?:question|one|point)\W*$",
                     re.IGNORECASE)


class Scorer:
    """Sentence vectors for a hit's passages: stored at index time, else (a passage indexed before they
    were kept) embedded now. Without a query vector (keyword mode) sentences are scored by shared words."""

    def __init__(self, index: Index, query: Query, query_vector: np.ndarray | None):
        self.index, self.query_vector, self.words = index, query_vector, query.terms
        # A quoted phrase's sentence is the one to cite, matched as the index matched it (stemmed).
        self.phrases = query.phrase_terms
        self.stored: dict[int, np.ndarray | None] = {}  # passage id → its stored sentence vectors, read once

    def read(self, parts: list[Passage]) -> dict[int, np.ndarray | None]:
        """The stored sentence vectors of these passages, those not read yet in one statement."""
        wanted = list(dict.fromkeys(p.id for p in parts if p.id not in self.stored))
        if wanted and self.query_vector is not None:
            found = self.index.sentence_vectors(wanted)
            self.stored.update({pid: found.get(pid) for pid in wanted})
        return self.stored

    def vectors(self, parts: list[Passage]) -> np.ndarray | None:
        if self.query_vector is None:
            return None
        stored = self.read(parts)
        rows = []
        for part in parts:
            texts = [text for text, _, _ in part.said()]
            vectors = stored.get(part.id)
            if vectors is None or len(vectors) != len(texts):
                vectors = self.index.query_embedder.encode([sentence_text(t) for t in texts])
            rows.append(vectors)
        return np.vstack(rows)

    def scores(self, texts: list[str], vectors: np.ndarray | None) -> list[float]:
        found = [float(_overlap(text, self.words)) for text in texts] if vectors is None else \
            (vectors @ self.query_vector).tolist()
        if self.phrases:
            for i, terms in enumerate(keywords.fts_terms(texts)):
                if any(_contains(terms, phrase) for phrase in self.phrases):
                    found[i] += 10.0
        return found


def _contains(terms: list[str], phrase: tuple[str, ...]) -> bool:
    return any(tuple(terms[i:i + len(phrase)]) == phrase for i in range(len(terms) - len(phrase) + 1))


def _choose(index: Index, hit: Candidate, scorer: Scorer, allowed: set[int] | None, hosts: frozenset[str]) -> None:
    sentences = hit.sentences()
    vectors = scorer.vectors(hit.parts)
    scores = scorer.scores([s[1] for s in sentences], vectors)
    best = max(range(len(sentences)), key=scores.__getitem__)
    # A host's turn that asks (a question among its last sentences) is a question, however it is put.
    hosting = hit.speaker in hosts and any(is_question(s[1]) for s in sentences[-ASKING_TAIL:])
    if hosting or is_question(sentences[best][1]):
        first = best
        if hosting:  # the question is the host's last run of questions, not whatever matched best
            best = first = max(i for i in range(len(sentences)) if is_question(sentences[i][1]))
            while first > 0 and best - first < QUESTION_RUN - 1 and is_question(sentences[first - 1][1]):
                first -= 1
        question = " ".join(s[1] for s in sentences[first:best + 1])
        asked_at = sentences[first][2]
        asked = (question, vectors[best] if vectors is not None else None)
        after = [] if hosting else _answers(sentences, range(best + 1, len(sentences)), vectors, asked)
        if not after and _answer_follows(index, hit, allowed, hosts if hosting else frozenset()):
            sentences = hit.sentences()
            vectors = scorer.vectors(hit.parts)
            scores = scorer.scores([s[1] for s in sentences], vectors)
            after = _answers(sentences, range(len(sentences)), vectors, asked)
            best = max(range(len(sentences)), key=scores.__getitem__)
        if after:
            hit.question, hit.question_start = question, asked_at
            # A guest's reply is cited where the answer starts; within one speaker's stretch, at its best.
            best = after[0] if hosting else max(after, key=scores.__getitem__)
    hit.vectors = vectors  # read once: cite_spans scores the spans of these very sentences
    _cite(index, hit, sentences, best)


def _cite(index: Index, hit: Candidate, sentences: list, first: int, last: int | None = None) -> None:
    """Make the hit cite sentences ``first`` to ``last`` of its ``sentences``: the highlight, the moment."""
    last = first if last is None else last
    part, _, start, offset = sentences[first]
    hit.highlight = " ".join(" ".join(s[1].split()) for s in sentences[first:last + 1])
    hit.sentence, hit.span_end, hit.speaker = first, last, part.speaker
    if start is not None:
        hit.start = start
    if offset is not None:
        hit.offset = offset
    if start is None and hit.paragraph is not None:
        hit.paragraph = _paragraph(index, hit.episode_id, part, offset)


HEAD_SPANS = 5       # the first hits re-ordered by their best answer span; the rest keep their rank
SPAN_WEIGHT = 0.5    # of a head hit's order that is its best span's score (bench/RESULTS.md, issue 26)


def cite_spans(index: Index, hits: list[Candidate], query: Query, k: int | None = None) -> list[Candidate]:
    """Each hit cites its best answer span (spans.py), within the answer when it follows a question; the
    first HEAD_SPANS hits are re-ordered by it, half their fused score and half their span's."""
    hosts = index.hosts() if query.asks else {}
    query_vector = query.vector
    order, ends = [], {}
    for n, hit in enumerate(hits[:max(k or len(hits), HEAD_SPANS)]):  # the hits shown, and the head
        said, inside = said_of(index, hit, hosts.get(hit.episode_id, frozenset()), ends=ends)
        found = spans.best(said, query_vector, query.known,
                           first=hit.sentence if hit.question and hit.sentence else 0, within=inside)
        if found is not None:
            span, score = found
            _cite(index, hit, hit.sentences(), span.first, span.last)
        else:  # no sentence of it can stand as an answer: it ranks by its nearest sentence, promos aside
            score = max((float(s.vector @ query_vector) for s in said[:inside]
                         if s.vector is not None and not spans.promo(s.text)), default=0.0)
        if hit.recurring:  # a sponsor read or intro the show repeats stays demoted (recurring.py)
            score *= recurring.DEMOTED
        if n < HEAD_SPANS:
            order.append(((1 - SPAN_WEIGHT) * hit.score + SPAN_WEIGHT * score, n))
    head = [hits[n] for _, n in sorted(order, key=lambda item: (-item[0], item[1]))]
    return head + hits[len(head):]


def said_of(index: Index, hit, hosts: frozenset[str], following: int = 0,
            ends: dict | None = None) -> tuple[list[spans.Said], int]:
    """The hit's sentences, and those of the ``following`` passages after it, as spans.Said with their
    stored vectors, and how many are the hit's own. A host's words are not usable in a turn that ends
    asking (a lead-in to the question), nor in the show's first and last minutes (the intro, the credits)."""
    parts = list(hit.parts)
    if following:
        parts += tables.following(index.db, hit.episode_id, parts[-1].idx, following)
    texts = [part.said() for part in parts]  # each passage's sentences, split once
    known = getattr(hit, "vectors", None)
    if known is not None and not following and len(known) == sum(map(len, texts)):
        stored, at = {}, 0  # the vectors choose() read for this very hit
        for part, said in zip(parts, texts):
            stored[part.id], at = known[at:at + len(said)], at + len(said)
    else:
        stored = index.sentence_vectors([p.id for p in parts])
    hosting = {p.turn for p in parts if p.speaker in hosts}
    asking = asking_turns(tables.turn_endings(index.db, hit.episode_id, hosting)) if hosting else set()
    ends = {} if ends is None else ends
    if hosting and hit.episode_id not in ends:
        ends[hit.episode_id] = tables.episode_end(index.db, hit.episode_id)
    end = ends.get(hit.episode_id)
    said = []
    for part, sentences in zip(parts, texts):
        vectors = stored.get(part.id)
        if vectors is not None and len(vectors) != len(sentences):
            vectors = None
        host = part.speaker in hosts
        for i, (text, start, offset) in enumerate(sentences):
            edge = host and start is not None and (start < spans.SHOW_EDGE or
                                                   (end is not None and start > end - spans.SHOW_EDGE))
            said.append(spans.Said(part.speaker, text, start, offset, None if vectors is None else vectors[i],
                                   usable=not (host and part.turn in asking) and not edge, end=part.end,
                                   part=part))
    return said, sum(map(len, texts[:len(hit.parts)]))


def _paragraph(index: Index, episode_id: str, part, offset: int | None) -> int:
    """The untimed segment (paragraph) holding the sentence at character ``offset`` of the source."""
    if offset is None or part.first_segment == part.last_segment:
        return part.first_segment
    found = index.library.paragraph_at(episode_id, part.first_segment, part.last_segment, offset)
    return found if found is not None else part.first_segment


def _answers(sentences: list, after: range, vectors: np.ndarray | None,
             asked: tuple[str, np.ndarray | None]) -> list[int]:
    """The sentences that may answer a question: the first few after it that are not questions,
    not too short to say anything, and not the question said again."""
    question, question_vector = asked
    found = []
    for i in after:
        text = sentences[i][1]
        if is_question(text) or len(text.split()) < ANSWER_MIN_WORDS or echoes(text, question) or _FILLER.match(text):
            continue
        if question_vector is not None and float(vectors[i] @ question_vector) >= RESTATED:
            continue
        found.append(i)
        if len(found) == ANSWER_WINDOW:
            break
    return found


REPLY_WITHIN = 8  # passages after a host's turn in which the guest's reply starts
ASKING_TAIL = 3   # a host's passage asks when one of its last sentences is a question
QUESTION_RUN = 3  # a host's question shown above the answer: up to this many questions in a row


def _answer_follows(index: Index, hit: Candidate, allowed: set[int] | None, hosts: frozenset[str] = frozenset()) -> bool:
    """Make the hit the passage after its stretch (where a question at its end is answered), if any;
    for a host's turn, the first passage after it by someone else: the reply."""
    rows = tables.following(index.db, hit.episode_id, hit.parts[-1].idx, REPLY_WITHIN if hosts else 1)
    following = next((p for p in rows if p.speaker not in hosts), None)
    if following is None or (allowed is not None and following.id not in allowed):
        return False
    hit.set_parts([following])
    return True


def _overlap(sentence: str, wanted: list[str]) -> int:
    words = keywords.terms(sentence)
    return sum(1 for w in wanted if any(x.startswith(w[:5]) for x in words))

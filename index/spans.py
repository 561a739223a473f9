"""Answer spans: the one to three sentences of a hit that answer the question, found by their shape.

A key point is read on its own, so it must say the thing itself. The nearest sentence to a question
is often not that: it announces what comes next ("so ask yourself two questions"), opens a story
("to begin with, an anecdote"), points back at something unsaid ("and you're forcing them to do
all of that"), or states a view the speaker then rejects ("but I don't think that's right"). Here a
span is one to three consecutive sentences of one speaker, and its shape decides whether it can be
a point at all:

- an announcement reaches forward into what it announces (up to ``REACH`` more sentences);
- a preamble ("to begin with, an anecdote", "today I want to talk about...") gives way to what
  follows it: no span holds one;
- a span that opens on a reference back ("all of that", "this is why") takes the sentence before
  it, or is dropped;
- a span the speaker goes on to reject is dropped, and so are questions, promos, fragments and a
  span that ends where the speaker broke off ("..., but --").

A span's first score (``score``) needs no model: the mean of its sentences' stored vectors against the
query's, leaned by its shape: signs of advice raise it, a voiced thought in quotation marks or a
restated question lower it. Search re-orders its first hits by their best span (``best``); ``ask``
has the strongest model judge the best spans again (points.py, judge.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import keywords
from .questions import NEW_WORDS, is_question

MAX_SENTENCES = 3   # a span: one to three sentences of one speaker
REACH = 3           # an announcement takes up to this many sentences more
MIN_WORDS = 8       # "Yes, you do have good advice." says nothing on its own
MAX_WORDS = 110     # three long sentences are a passage, not a point


class _Guarded:
    """A pattern Python's re is slow to search (many alternatives tried at every position), searched only in
    text that holds one of ``needs`` or ends in one of ``ends`` (spaces and ".,:" aside), as each of its
    matches must; ``opening``, a pattern anchored at the start, is tried first with ``match``. For text as
    ``_plain`` makes it (lower case, one space between words), the same answers as searching ``pattern`` (the
    whole rule, ``opening`` included) everywhere (tests/test_fast_paths.py)."""

    def __init__(self, rest: str, needs: tuple[str, ...], ends: tuple[str, ...] = (), opening: str | None = None):
        self.pattern = rest if opening is None else f"{opening}|{rest}"
        self.flags = 0
        self._rest, self._opening = re.compile(rest), re.compile(opening) if opening else None
        self._needs, self._ends = needs, ends

    def search(self, text: str):
        if self._opening is not None:
            found = self._opening.match(text)
            if found:
                return found
        if any(need in text for need in self._needs) or (self._ends and text.rstrip(" .,:").endswith(self._ends)):
            return self._rest.search(text)
        return None


_NUMBER = r"(?:two|three|four|five|six|seven|a couple of|a few|several|some|\d)"
_THINGS = (r"(?:things?|questions?|steps?|ways?|rules?|tips?|points?|reasons?|lessons?|ideas?|pieces? of advice|"
           r"principles?|parts?|pillars?|keys?|factors?|strategies|options?|components?|pieces?|techniques?)")
# "here's what I'd do", "ask yourself two questions", "the answer is", "my advice would be:", a colon at the end
_ANNOUNCES = _Guarded(
    rf"(?::\s*$|\bhere(?:'s| is| are)\b(?:\W+\w+){{0,6}}\W*$|"
    rf"\b{_NUMBER}\s+(?:\w+\s+)?{_THINGS}\b(?!.*\b(?:is|are|was|were)\b\s+\w+)|"
    r"\b(?:the|my) (?:answer|advice|tip|suggestion|recommendation|trick|secret|key)(?: would be| is)\s*[.:]?\s*$|"
    r"\b(?:it|this|that) (?:comes|boils) down to\s*[.:]?\s*$|"
    r"\bwhat (?:i|you|we) (?:would |should |need to |have to |want to )?(?:do|say|recommend|suggest|tell)"
    r"(?: \w+)? is\s*[.:]?\s*$|"
    r"\b(?:summari[sz]|sum up|list|go through|break (?:it|this) down)\w*\b.{0,40}\b(?:points?|things?|ideas?|here)\b|"
    r"\bas follows\b|\bfirst of all\s*[,:]?\s*$)",
    # each alternative holds one of these, or ends in "is"/"be" ("the answer is:"); a counted thing follows a space
    needs=(":", "here", "down to", "what ", "summari", "sum up", "list", "go through", "break ", "as follows",
           "first of all", *(" " + thing for thing in ("thing", "question", "step", "way", "rule", "tip", "point",
                                                      "reason", "lesson", "idea", "piece", "principle", "part",
                                                      "pillar", "key", "factor", "strategies", "option", "component",
                                                      "technique"))),
    ends=("is", "be"))
# "to begin with, an anecdote", "let me tell you a story", "some background first"
_PREAMBLE = re.compile(
    r"^\W*(?:(?:so|and|well|okay|ok|yeah|um|uh)\W+)*(?:"
    r"(?:i(?:'ll| will| want to| wanna| would like to|'d like to| can)|let me|i'm going to|i'm gonna)\s+"
    r"(?:just\s+)?(?:start|begin|answer (?:this|that|it) with|tell (?:you )?(?:a|an|the) (?:story|anecdote)|"
    r"give (?:you )?(?:some|a little|a bit of) (?:background|context)|try (?:and |to )?(?:summari[sz]e|answer)|"
    r"back up|take a step back|rewind|go back)|"
    r"to (?:begin|start) with|(?:a|some|a little) (?:bit of )?(?:background|context|history)(?: first)?\W*$|"
    r"(?:that's|that is|it's|what a) (?:a )?(?:great|good|interesting|hard|tough|big) question|"
    r"(?:story|anecdote) time|"
    r"(?:(?:today|now|so|first|in this (?:episode|lecture|talk|session|video)),?\s+)?(?:i|we)(?:'re| are)?\s+"
    r"(?:want|'d like|would like|wanna|going|gonna|will|'ll)\s+(?:to\s+)?(?:talk|speak|chat|think)\s+about|"
    r"let's (?:talk|start|dive|get) (?:about|with|into)|"
    r"(?:this|that) (?:reminds|remind) me of a (?:story|time))\b")
# A sentence that points back at something not in it: "and you're forcing them to do all of that",
# "this is why it works", "that's the thing". "It"/"this" as a plain subject are too common to count.
_BACK = _Guarded(
    r"\ball (?:of )?(?:that|this|those|these|them)\W*$|\b(?:like|as) (?:that|this)\W*$|\bthe latter\b|\bthe former\b",
    needs=("all th", "all of th", "like th", "as th", "the latter", "the former"),
    opening=r"^\W*(?:(?:and|but|so|because|or|also|plus)\W+)?(?:"
    r"(?:that|this|those|these)(?:'s| is| was| are| were)? (?:why|how|what|the (?:thing|reason|point|problem|key|part))\b|"
    r"(?:that|this|those|these|they|it)\s+(?:\w+\s+){0,2}(?:also|too|then|again)\b|"
    r"which\b|(?:they|them|that one|this one|the same|those|these)\b(?! days\b))")
# A sentence the speaker broke off: "so you have to monitor it and all these other things, but --"
_TRAILS = re.compile(r"(?:--|—|–|\b(?:like|but|and|so|or|because|the|a|an|to|of|that|is|was|with|for)\s*(?:\.\.\.|…))"
                     r"[\s\"'”)\]]*$")
_CONCLUDES = re.compile(r"^\W*(?:(?:and|so|but)\W+)?(?:that|this|it|which)\b")
# What the speaker says next when they don't hold the view just stated.
_REJECTS = re.compile(
    r"^\W*(?:(?:but|and|so|well|now|yeah|um|uh)\W+)*(?:"
    r"(?:i don't|i do not|i never) (?:think|believe|agree)\b.{0,30}\b(?:right|true|correct|case|works?|so)\b|"
    r"(?:that's|that is|it's|it is|this is) (?:not|totally not|actually not|completely) (?:true|right|correct|"
    r"the case|it|how it works|what i)|"
    r"(?:that's|that is|this is) (?:wrong|a myth|a mistake|nonsense|bs|bullshit)|"
    r"i disagree|(?:actually|in fact),? (?:no|the opposite)|no,? (?:no,? )?(?:that's|it's) not|"
    r"(?:that|which) (?:is|was) (?:a|the) (?:wrong|bad) (?:way|approach|answer)|"
    r"(?:but )?(?:the )?(?:reality|truth) is\b|turns out (?:that's|it's|it was) (?:not|wrong))")
# A show talking about itself: what comes next, where to follow it, who pays for it, who made it.
_PROMO = re.compile(
    r"\b(?:next (?:week|time|episode) on\b|coming up (?:next|after the break)|(?:on|in) (?:the |our )?next episode|"
    r"stay tuned|subscribe (?:to|on|now|wherever|in|and|today)|(?:like|rate|review),? (?:and|&) (?:subscribe|review|share)|"
    r"(?:rate|review) (?:us|the show|this show|the podcast)|(?:leave|give) (?:us |it )?a (?:rating|review)|"
    r"support (?:the|this|our) (?:show|podcast|work)|(?:brought to you|sponsored|made possible) by|"
    r"(?:our|today's|this episode's) sponsors?\b|thanks? (?:again )?to (?:our|today's) (?:sponsors?|partners?)|"
    r"(?:on|via|at|our) patreon|(?:promo|coupon|discount|offer) code\b|"
    r"\.com ?/ ?\w|dot com slash|(?:links?|resources) (?:is |are )?in the (?:show ?notes|description)|"
    r"in (?:the|our) show ?notes|follow us on|find us on|join (?:us|our \w+) (?:on|at|in) |"
    r"our (?:newsletter|slack|discord)|(?:show|episode|podcast) (?:is|was) (?:produced|edited|mixed|hosted) by|"
    r"music (?:is )?by|thanks? (?:so much )?for (?:listening|tuning in)|that's (?:it|all) for (?:this|today|now)|"
    r"see you next|until next time|bye,? (?:friends|everyone|y'all)|"
    r"welcome (?:back )?to (?:the|this|our|a|another) (?:\w+ ){0,2}(?:show|podcast|episode)|"
    r"this (?:is|has been) (?:another )?(?:episode|edition) of|i'm your host|(?:my|our) guests? (?:today|this week) (?:is|are))")
# "you're listening to Chai Time Data Science", "welcome to Founders Talk": the show names itself.
_NAMES_SHOW = re.compile(r"\b(?:[Yy]ou(?:'re| are) listening to|[Ww]elcome(?: back)? to) [\"“]?(?:[A-Z][\w'+-]*)(?: [A-Z][\w'+-]*)*")
SHOW_EDGE = 120.0   # seconds: the opening and closing minutes, where a show says who and what it is


@dataclass(frozen=True)
class Said:
    """A sentence of a hit, as a span is made of them: who, what, when, and may it be in a point."""

    speaker: str | None
    text: str
    start: float | None
    offset: int | None
    vector: np.ndarray | None   # its stored vector (unit length), when there is one
    usable: bool = True         # False for a host's lead-in or the show's own opening and closing
    end: float | None = None    # when its passage ends (the last sentence's end)
    part: object = field(default=None, repr=False, compare=False)   # the Passage it is in


@dataclass(frozen=True)
class Span:
    """Sentences ``first`` to ``last`` (inclusive) of a list of ``Said``."""

    first: int
    last: int
    text: str
    vector: np.ndarray | None   # the mean of its sentences' vectors, unit length


_COUNTS = {"two": 2, "three": 3, "four": 3, "five": 3, "six": 3, "seven": 3, "a couple of": 2, "a few": 2,
           "several": 2, "some": 1}
_COUNTED = re.compile(rf"\b({_NUMBER})\s+(?:\w+\s+)?{_THINGS}\b")


def _plain(sentence: str) -> str:
    """The sentence as every pattern here reads it: one space between words, lower case (the patterns are
    written in lower case and compiled without re.IGNORECASE, which makes Python's re several times slower)."""
    return " ".join(sentence.split()).lower()


def announces(sentence: str) -> bool:
    return bool(_ANNOUNCES.search(_plain(sentence)))


def announced(sentence: str) -> int:
    """How many sentences an announcement's content takes ("ask yourself two questions": 2), at most
    REACH; 0 for a sentence that announces nothing."""
    text = _plain(sentence)
    if not _ANNOUNCES.search(text):
        return 0
    count = _COUNTED.search(text)
    if not count:
        return 1
    word = count.group(1)
    return min(REACH, int(word) if word.isdigit() else _COUNTS.get(word, 1)) or 1


def trails(sentence: str) -> bool:
    """Whether the speaker broke the sentence off ("..., but --"). Only a sentence ending in a dash or an
    ellipsis (closing quotes and brackets aside) can match, so the others skip the pattern."""
    text = _plain(sentence)
    return text.rstrip(" \"'”)]").endswith(("--", "—", "–", "...", "…")) and bool(_TRAILS.search(text))


def preamble(sentence: str) -> bool:
    return bool(_PREAMBLE.search(_plain(sentence)))


def refers_back(sentence: str) -> bool:
    return bool(_BACK.search(_plain(sentence)))


def rejects(sentence: str) -> bool:
    return bool(_REJECTS.search(_plain(sentence)))


def promo(sentence: str) -> bool:
    """Whether a sentence is the show about itself: a promo, a sponsor read, the credits, an intro."""
    text = " ".join(sentence.split())
    return bool(_PROMO.search(text.lower()) or _NAMES_SHOW.search(text))


def spans(said: list[Said], allowed=lambda i: True, known: frozenset[str] | None = None) -> list[Span]:
    """Every span of ``said`` that can stand as a point (see the module's rules), in order of its start.
    ``allowed(i)`` says whether sentence i may be in a point at all (a host's lead-in may not); a span
    that only restates the question, whose ``known`` words are given (query.Query.known), in its own
    words ("so he talked about how you avoid burnout") is none."""
    shape = _Shapes(said, allowed, known)
    found, seen = [], set()
    for first in range(len(said)):
        for last in range(first, min(first + MAX_SENTENCES, len(said))):
            bounds = shape.bounds(first, last)
            if bounds is not None and bounds not in seen:
                seen.add(bounds)
                if not shape.echoes(*bounds):
                    found.append(shape.span(*bounds))
    return found


@dataclass(frozen=True)
class _Features:
    """What one sentence's words alone say about it (kept, since the same sentences come back search after search)."""

    announced: int
    back: bool
    rejects: bool
    trails: bool
    words: int
    promo: bool
    preamble: bool
    question: bool
    concludes: bool
    terms: frozenset


@lru_cache(maxsize=65536)
def _features(sentence: str) -> _Features:
    text = " ".join(sentence.split())
    low = text.lower()
    return _Features(announced(low), bool(_BACK.search(low)), bool(_REJECTS.search(low)),
                     trails(low), len(text.split()), bool(_PROMO.search(low) or _NAMES_SHOW.search(text)),
                     preamble(low), is_question(text), bool(_CONCLUDES.match(low)),
                     frozenset(w for w in keywords.terms(text) if len(w) >= 4))


class _Shapes:
    """What each sentence of a hit is (a question, a promo, an announcement, ...), found once, so that the
    spans over them are shaped without reading a sentence twice."""

    def __init__(self, said: list[Said], allowed, known: frozenset[str] | None):
        self.said, self._sums = said, None
        found = [_features(s.text) for s in said]
        self.announced = [f.announced for f in found]
        self.back = [f.back for f in found]
        self.rejects = [f.rejects for f in found]
        self.trails = [f.trails for f in found]
        self.words = [f.words for f in found]
        # What an announcement announces may be questions ("ask yourself two questions: ..."); nothing else may.
        self.content = [s.usable and allowed(i) and not f.promo and not f.preamble
                        for i, (s, f) in enumerate(zip(said, found))]
        self.new = None if known is None else [f.terms - known for f in found]
        # A sentence that only says the question's words again restates it ("so he talked about how you avoid
        # burnout"), unless it concludes what came before ("and that helps me avoid burnout").
        self.usable = [ok and not f.question and not (self.new is not None and len(self.new[i]) < NEW_WORDS
                                                      and not f.concludes)
                       for i, (ok, f) in enumerate(zip(self.content, found))]

    def span(self, first: int, last: int) -> Span:
        """The span, its text joined and its vector the mean of its sentences' (from running sums)."""
        if self._sums is None:
            rows = [s.vector for s in self.said]
            self._sums = False if any(v is None for v in rows) else \
                np.vstack([np.zeros((1, len(rows[0])), dtype=np.float32), np.cumsum(np.vstack(rows), axis=0)])
        if self._sums is False:
            return _span(self.said, first, last)
        total = self._sums[last + 1] - self._sums[first]
        text = " ".join(" ".join(self.said[i].text.split()) for i in range(first, last + 1))
        return Span(first, last, text, (total / (np.linalg.norm(total) or 1.0)).astype(np.float32))

    def echoes(self, first: int, last: int) -> bool:
        """Whether the span says little but the question's own words (questions.echoes, over its sentences)."""
        return self.new is not None and len(set().union(*self.new[first:last + 1])) < NEW_WORDS

    def bounds(self, first: int, last: int) -> tuple[int, int] | None:
        """The bounds of the span first..last once its shape rules are applied, or None if it can't stand."""
        said = self.said
        if not self._one_voice(first, last):
            return None
        if self.back[first]:
            if first == 0 or not self._one_voice(first - 1, last) or last - first + 1 >= MAX_SENTENCES:
                return None
            first -= 1
        reach, i, needed = 0, first, last
        while i <= last:  # every announcement in the span has its content in it
            needed = max(needed, i + self.announced[i])
            if needed > last:
                if reach == REACH or last + 1 >= len(said) or not self.content[last + 1] \
                        or said[last + 1].speaker != said[last].speaker:
                    return None  # an announcement whose content is not here says nothing
                last, reach = last + 1, reach + 1
            i += 1
        if last + 1 < len(said) and said[last + 1].speaker == said[last].speaker and self.rejects[last + 1]:
            return None
        if self.trails[last]:
            return None  # broken off: what it was going to say is not here
        if not MIN_WORDS <= sum(self.words[first:last + 1]) <= MAX_WORDS + 40 * reach:
            return None
        return first, last

    def _one_voice(self, first: int, last: int) -> bool:
        speaker = self.said[first].speaker
        return all(self.usable[i] and self.said[i].speaker == speaker for i in range(first, last + 1))


def _span(said: list[Said], first: int, last: int) -> Span:
    text = " ".join(" ".join(said[i].text.split()) for i in range(first, last + 1))
    vectors = [said[i].vector for i in range(first, last + 1) if said[i].vector is not None]
    vector = None
    if vectors:
        mean = np.mean(vectors, axis=0)
        vector = (mean / (np.linalg.norm(mean) or 1.0)).astype(np.float32)
    return Span(first, last, text, vector)


# What advice sounds like, in any show: the listener told what to do, a speaker's own practice, a
# recommendation. A span that only states the problem ("I just am anxious, I can't do anything")
# has none of it. Counted, not judged: the count leans the score, it does not decide.
_ADVICE = re.compile(
    r"\b(?:you (?:can|could|should|need to|have to|want to|might want to|may want to|gotta|got to|must)|"
    r"(?:try|make sure|remember|start (?:by|with)|focus on|instead of|rather than|the (?:key|trick|secret|best way|"
    r"answer|goal|idea) is|what (?:helps|helped|works|worked)|(?:i|we) (?:would|'d) (?:recommend|suggest|say|encourage|"
    r"advise)|my advice|i (?:always )?(?:recommend|suggest|encourage|tell (?:people|them|clients|folks))|"
    r"what i (?:do|did|try to do|tell)|i (?:always|usually|try to|make a point|made a rule|started|learned)|"
    r"(?:it's|it is) (?:important|helpful|better|best|worth|okay|ok) to|one (?:thing|way|strategy|tool) (?:is|that)|"
    r"if you (?:want|can|are|find|feel|have)\b.{0,60}\b(?:then|just|try)|the (?:first|next) step)\b|"
    r"(?:^|[.!;:]\s+|\"\s*)(?:don't|do|take|start|stop|write|ask|find|keep|give|make|let|get|go|focus|set|spend|try|"
    r"think|look|read|practice|practise|be|pick|choose|build|talk|call|put|schedule|plan|say|use|learn|avoid|allow|"
    r"notice|name|breathe|move|walk|sleep|eat|drink|limit|reduce|cut)\s)")
_QUOTED = re.compile(r"[\"“”]([^\"“”]*)[\"“”]")


def advice(text: str) -> int:
    """How many signs of advice a span has (0 for a span that only tells a story or states a problem).
    What is said inside quotation marks (a voiced thought: "I can't do this") does not count."""
    plain = _QUOTED.sub(" ", " ".join(text.split()).lower())
    return len(_ADVICE.findall(plain))


def quoted_share(text: str) -> float:
    """The share of a span's characters inside quotation marks: a voiced thought, not the speaker's view."""
    text = " ".join(text.split())
    inside = sum(len(m.group(1)) for m in _QUOTED.finditer(text))
    return inside / max(1, len(text))


ADVICE_WEIGHT = 0.04   # per sign of advice, at most ADVICE_CAP of them (bench/RESULTS.md, issue 26)
ADVICE_CAP = 2
QUOTED_WEIGHT = 0.1    # a span wholly inside quotation marks loses this much
LEAN_MOST = ADVICE_WEIGHT * ADVICE_CAP  # the most a span's shape adds to its score


@lru_cache(maxsize=65536)
def lean(text: str) -> float:
    """What a span's shape adds to its score: signs of advice raise it, a voiced thought lowers it."""
    return ADVICE_WEIGHT * min(ADVICE_CAP, advice(text)) - QUOTED_WEIGHT * quoted_share(text)


def score(span: Span, query_vector: np.ndarray) -> float:
    """The span's first score: its mean vector against the query's, leaned by its shape."""
    return float(span.vector @ query_vector) + lean(span.text)


def best(said: list[Said], query_vector: np.ndarray, known: frozenset[str], first: int = 0,
         within: int | None = None) -> tuple[Span, float] | None:
    """The best-scoring span of ``said`` that starts at or after ``first`` and ends before ``within``; ``known``:
    the question's words (query.Query.known)."""
    end = len(said) if within is None else within
    found = [span for span in spans(said[:end], known=known) if span.first >= first and span.vector is not None]
    if not found:
        return None
    near = np.vstack([span.vector for span in found]) @ query_vector
    # The lean (a regex pass over the span's text) only for spans it could lift to the top: taken in order of
    # nearness, they stop once even the most a lean adds cannot reach the best score. The same span as
    # scoring all of them (ties to the first, as max() does).
    best_at, best_score = -1, -np.inf
    for i in np.argsort(-near, kind="stable").tolist():
        if float(near[i]) + LEAN_MOST + 1e-6 < best_score:  # (a margin for the product's rounding)
            break
        total = score(found[i], query_vector)
        if total > best_score or (total == best_score and i < best_at):
            best_at, best_score = i, total
    return found[best_at], best_score

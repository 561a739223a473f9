"""Chapters: where the talk of an episode changes subject, found from its stored sentence vectors.

TextTiling with sentence vectors: at every gap between sentences, the similarity of the WINDOW
sentences before to the WINDOW after (their mean vectors); where that similarity dips deepest, the
subject changes. A gap is a boundary when its depth (how far it dips below the peaks on each side)
stands out from the episode's gaps (mean plus CUTOFF standard deviations), and chapters last at
least MIN_SECONDS (or MIN_SENTENCES, untimed). Each chapter is titled by a clause of its own: of the
clauses that hold the phrases it says often and the rest of the episode seldom (tf·idf over the
episode's chapters, one to three words, none starting or ending on a function word), the one nearest
its centre, fillers and function words cut from its ends (``_title``); else by that phrase alone, else
by its most central sentence cut to a few words: extractive, no language model. A promo, a sponsor
read or the credits (spans.promo) never names a chapter.

A publisher's chapters (a feed's <podcast:chapters>, yt-dlp's info) are kept as they are and
preferred; these are found when an episode is indexed, and replaced when it is indexed again.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .spans import promo

# bench/chapters.py on Founders Talk: spliced episodes P 0.37 / R 0.52 (±30 s), published breaks recalled
# 0.33, about 7 chapters an hour; 12 sentences and 0.5 found twice as many, at half the precision.
WINDOW = 20          # sentences on each side of a gap
CUTOFF = 1.0         # a boundary's depth: mean + CUTOFF·sd of the episode's depths
MIN_SECONDS = 240.0  # shortest chapter of a timed episode
MIN_SENTENCES = 60   # shortest chapter of an untimed one
TITLE_WORDS = 9
_FILLERS = ("yeah", "so", "and", "but", "um", "uh", "well", "right", "okay", "ok", "oh", "now")


@dataclass(frozen=True)
class Chapter:
    start: float | None   # seconds; None for an untimed transcript
    title: str
    source: str           # "published" or "found"
    paragraph: int | None = None  # untimed: the segment it starts at


def podcasting20(chapters: list[Chapter]) -> dict:
    """Chapters in the Podcasting 2.0 JSON chapters format (startTime in seconds), the file a feed's
    <podcast:chapters> points to and players read; untimed chapters have no place in it."""
    return {"version": "1.2.0", "chapters": [{"startTime": round(c.start, 3), "title": c.title}
                                             for c in chapters if c.start is not None]}


def stored(sentences: list[tuple[str, float | None, int]], vectors: np.ndarray) -> list[tuple]:
    """The chapters ``find`` finds, as the store keeps them: (start seconds, title, paragraph) each."""
    return [(c.start, c.title, c.paragraph) for c in find(sentences, vectors)]


def find(sentences: list[tuple[str, float | None, int]], vectors: np.ndarray) -> list[Chapter]:
    """Chapters of one episode from its sentences in order (text, start seconds, segment) and their unit
    vectors (one row each). An episode too short to divide is one chapter."""
    if not sentences:
        return []
    n = len(sentences)
    timed = all(start is not None for _, start, _ in sentences)
    starts = [0] + _boundaries(vectors, [s for _, s, _ in sentences] if timed else None)
    spans = list(zip(starts, starts[1:] + [n]))
    if not timed:  # untimed chapters start at a segment: two in one segment are one
        spans = [(a, b) for i, (a, b) in enumerate(spans) if i == 0 or sentences[a][2] != sentences[spans[i - 1][0]][2]]
        spans = [(a, spans[i + 1][0] if i + 1 < len(spans) else n) for i, (a, _) in enumerate(spans)]
    # A chapter is named by its talk, never by the show's promos, sponsor reads or credits (spans.promo).
    talk = ["" if promo(text) else text for text, _, _ in sentences]
    phrases = _keyphrases([" ".join(talk[a:b]) for a, b in spans])
    chapters = []
    for (a, b), named in zip(spans, phrases):
        title = _title(sentences[a:b], vectors[a:b], named)
        text, start, segment = sentences[a]
        chapters.append(Chapter(start=start if timed else None, title=title[:1].upper() + title[1:], source="found",
                                paragraph=None if timed else segment))
    return chapters


_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]")
_PLAIN = frozenset("""a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
during each even ever every few for from further get gets getting got gonna had hadn't has hasn't have haven't having
he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it
it's its itself just let's like me more most much must mustn't my myself no nor not now of off oh ok okay on once
one only or other ought our ours ourselves out over own really right same say said says she she'd she'll she's
should shouldn't so some something such than that that's the their theirs them themselves then there there's these
they they'd they'll they're they've thing things think this those though through to too under until up upon us very
want was wasn't way we we'd we'll we're we've well were weren't what what's when when's where where's whether which
while who who's whom why why's will with won't would wouldn't yeah yes yet you you'd you'll you're you've your yours
yourself yourselves um uh mean know kind sort lot lots actually basically literally probably maybe going go goes
went come comes came make makes made take takes took see saw look looking give gave put bit pretty quite stuff
people guy guys time times year years day days good great sure definitely absolutely totally exactly stuff
anything everything nothing someone somebody everyone everybody anyone thank thanks hey hi hello welcome
need needs needed needing help helps helped supposed always never often try trying tried start started starting
work works worked working use using used feel feeling felt talk talking talked next first last back new old big
little long better best different able around still another many else ones part point place idea question
answer interesting fun cool certain whole across enough done keep keeping find found tell told ask asked call
called hear heard seem seems stay gives understand might necessarily honestly speaking coming please""".split())


def _keyphrases(texts: list[str], most: int = 3) -> list[list[str]]:
    """For each chapter's text, up to ``most`` phrases it says at least twice and the other chapters
    seldom, best first, sharing no word, each as it is most often written ("San Francisco")."""
    counts, surfaces = [], {}
    for text in texts:
        said = [w.replace("’", "'") for w in _WORD.findall(text)]
        words = [w.lower() for w in said]
        found: dict[str, int] = {}
        for size in (1, 2, 3):
            for i in range(len(words) - size + 1):
                gram = words[i:i + size]
                if gram[0] in _PLAIN or gram[-1] in _PLAIN or len(gram[-1]) < 3 or len(set(gram)) < size:
                    continue
                key = " ".join(gram)
                found[key] = found.get(key, 0) + 1
                forms = surfaces.setdefault(key, {})
                form = " ".join(said[i:i + size])
                forms[form] = forms.get(form, 0) + 1
        counts.append(found)
    df: dict[str, int] = {}
    for found in counts:
        for gram in found:
            df[gram] = df.get(gram, 0) + 1
    n = len(texts)
    out = []
    for found in counts:
        scored = sorted(((tf * (1 + 0.5 * gram.count(" ")) * math.log((n + 1) / df[gram]), gram)
                         for gram, tf in found.items() if tf >= 2 and (n == 1 or df[gram] < n)), reverse=True)
        chosen: list[str] = []
        for score, gram in scored:
            if score <= 0 or len(chosen) == most:
                break
            if all(not set(gram.split()) & set(other.split()) for other in chosen):
                chosen.append(gram)
        out.append([max(surfaces[gram].items(), key=lambda item: (item[1], item[0].islower()))[0] for gram in chosen])
    return out


# Words a title does not start with, longest first ("and then" is cut before "and").
_LEAD = tuple(sorted((
    "yeah", "yes", "so", "and", "but", "um", "uh", "well", "right", "okay", "ok", "oh", "now", "then", "like", "just",
    "really", "actually", "basically", "literally", "also", "even", "because", "cause", "or", "you know", "i mean",
    "i think", "i guess", "i feel like", "kind of", "sort of", "you see", "of course", "and then", "it's like",
    "it was like", "that's", "there's", "is", "was", "to", "that", "which", "who", "where", "when", "if", "as", "how",
    "why", "what", "maybe", "perhaps", "almost", "correction", "sorry", "not", "anyway", "essentially",
    "though", "except", "obviously", "honestly", "probably", "definitely", "certainly", "i would say", "i'd say",
    "i would think", "i believe"), key=lambda lead: -len(lead.split())))
_TAIL = _PLAIN | {"already", "anyway", "either", "sometimes"}  # words a title does not end on
# Hedges a title does not end on, longest first ("making confident decisions I guess").
_HEDGE = tuple(sorted(("i guess", "i think", "i mean", "you know", "or something", "or whatever", "and stuff",
                       "and everything", "right", "basically", "actually", "really"),
                      key=lambda tail: -len(tail.split())))
_ASIDE = re.compile(r"\[[^\]]*\]|\([^)]*\)")  # "[unintelligible 00:34:45.06]", "(laughs)": not the speaker's words
# An auxiliary then its subject inside a clause: a question ("how the heck do you work with your family"), no title.
_ASKING = re.compile(r"\S\s+(?:do|does|did|is|are|was|were|can|could|would|should|will|have|has)(?:n't)?\s+"
                     r"(?:i|you|we|they|he|she|it|there)\b", re.IGNORECASE)
_PERSON = frozenset({"i", "i'm", "i've", "i'd", "i'll", "we", "we're", "we've", "you", "you're", "you've", "he",
                     "he's", "she", "she's", "they", "they're", "it", "it's", "me", "my"})
_AUXILIARY = frozenset({"is", "are", "was", "were", "do", "does", "did", "have", "has", "had", "can", "could", "would",
                        "should", "will", "am", "be", "been", "being", "get", "got"})
_PREPOSITION = frozenset({"in", "with", "on", "at", "for", "from", "by", "of", "about", "into", "through", "to", "over"})
_FILLER = re.compile(r"\b(?:um|uh|you know|i mean|kind of|sort of|like,|gonna|wanna)\b", re.IGNORECASE)
_CLAUSES = re.compile(r"[,;:!?.…()\"“”]|\s[-–—]+\s|\s(?=(?:and|but|because|so|which|when|while|although|though|"
                      r"since|whereas|unless|or|if)\s)", re.IGNORECASE)
TITLE_MIN, TITLE_MAX = 2, 8  # words in a title


def _title(sentences: list[tuple[str, float | None, int]], vectors: np.ndarray, named: list[str] = ()) -> str:
    """A short phrase from the chapter's own words: the clause, among its sentences', that holds its
    keyphrases (``named``, best first) and lies nearest its centre, cut of the fillers, conjunctions and
    function words at either end (a title neither starts "I was like" nor ends "for lack of"); never from a
    promo. With no clause fit to be a title, the chapter's best keyphrase alone, else its most central
    sentence cut to a few words."""
    centre = vectors.mean(axis=0)
    central = vectors @ centre / max(1e-9, float(np.linalg.norm(centre)))
    keys = [k.lower() for k in named]
    best, best_score = None, -math.inf
    for i, (text, _, _) in enumerate(sentences):
        if promo(text):
            continue
        for clause in _CLAUSES.split(_ASIDE.sub(" ", text)):
            if _ASKING.search(clause):
                continue
            words = _trimmed(clause.split())
            if (not TITLE_MIN <= len(words) <= TITLE_MAX or _FILLER.search(" ".join(words))
                    or words[0].lower().strip("'’") in _AUXILIARY):
                continue
            lower = " ".join(w.lower().strip("'’") for w in words)
            held = [k for k in keys if re.search(rf"\b{re.escape(k)}\b", lower)]
            if not held:
                continue
            score = float(central[i]) + sum(1.0 / (1 + keys.index(k)) for k in held)
            score -= 0.6 * (words[0].lower() in _PERSON) + 0.3 * (words[0].lower() in _PREPOSITION)
            score -= 0.05 * abs(len(words) - 5)
            if score > best_score:
                best, best_score = words, score
    if best is not None:
        title = " ".join(best)
    elif named and (" " in named[0] or named[0][:1].isupper()):
        title = named[0]
    else:
        title = _central(sentences, vectors)
    title = title.strip(" ,;:-–—\"'“”")
    return title[:1].upper() + title[1:120]


def _trimmed(words: list[str]) -> list[str]:
    """``words`` without the fillers, conjunctions and discourse words at their front, nor the function
    words at their end."""
    words = [w.strip("\"“”()") for w in words if w.strip("\"“”()-–—") and not w.startswith("[")]
    words = [w for i, w in enumerate(words) if i == 0 or w.lower() != words[i - 1].lower()]  # "it's it's"
    while words and (cut := _phrase(words, _LEAD, front=True)):
        words = words[cut:]
    while words:
        cut = _phrase(words, _HEDGE, front=False)
        if not cut and words[-1].lower().strip(",.!?'’") in _TAIL:
            cut = 1
        if not cut:
            break
        words = words[:-cut]
    return words


def _phrase(words: list[str], phrases: tuple[str, ...], front: bool) -> int:
    """How many of ``words`` the first of ``phrases`` found at their front (or end) takes, leaving at least
    one word; 0 for none."""
    for phrase in phrases:
        size = len(phrase.split())
        if len(words) > size and " ".join(w.lower().strip(",.!?") for w in (words[:size] if front else words[-size:])) \
                == phrase:
            return size
    return 0


def _central(sentences: list[tuple[str, float | None, int]], vectors: np.ndarray) -> str:
    """The chapter's most central sentence, cut to a few words, fillers left off its front."""
    centre = vectors.mean(axis=0)
    ranked = sorted(range(len(sentences)), key=lambda i: -float(vectors[i] @ centre))
    best = next((i for i in ranked if len(sentences[i][0].split()) >= 5 and not promo(sentences[i][0])), ranked[0])
    words = sentences[best][0].split()
    while len(words) > 3 and words[0].strip(",.!?-–—").lower() in _FILLERS:
        words = words[1:]
    title = " ".join(words[:TITLE_WORDS]).rstrip(",;:-–—")
    return (title + "…" if len(words) > TITLE_WORDS else title)[:120]


def fill_times(sentences):
    """Sentences inside a segment carry no time of their own: give them the last time before them."""
    last, out = None, []
    timed = any(start is not None for _, start, _ in sentences)
    for text, start, segment in sentences:
        if start is not None:
            last = start
        out.append((text, start if start is not None else (last if timed else None), segment))
    return out


def _boundaries(vectors: np.ndarray, times: list[float] | None) -> list[int]:
    n = len(vectors)
    if n < 2 * WINDOW + 1:
        return []
    cumulative = np.vstack([np.zeros((1, vectors.shape[1]), dtype=np.float32), np.cumsum(vectors, axis=0)])
    similarity = np.zeros(n)
    for gap in range(1, n):
        left = cumulative[gap] - cumulative[max(0, gap - WINDOW)]
        right = cumulative[min(n, gap + WINDOW)] - cumulative[gap]
        similarity[gap] = float(left @ right) / max(1e-9, float(np.linalg.norm(left) * np.linalg.norm(right)))
    gaps = range(WINDOW, n - WINDOW + 1)
    depth = {}
    for gap in gaps:
        left_peak = max(similarity[max(1, gap - WINDOW):gap + 1])
        right_peak = max(similarity[gap:min(n, gap + WINDOW + 1)])
        depth[gap] = (left_peak - similarity[gap]) + (right_peak - similarity[gap])
    values = np.array(list(depth.values()))
    if not len(values):
        return []
    threshold = values.mean() + CUTOFF * values.std()
    chosen: list[int] = []
    for gap in sorted(depth, key=lambda g: -depth[g]):
        if depth[gap] < threshold:
            break
        if all(_far(gap, other, times) for other in chosen) and _far(gap, 0, times) and _far(n, gap, times):
            chosen.append(gap)
    return sorted(chosen)


def _far(a: int, b: int, times: list[float] | None) -> bool:
    """Whether sentences ``a`` and ``b`` are a chapter's length apart (``a`` may be the episode's end)."""
    if times is None:
        return abs(a - b) >= MIN_SENTENCES
    at = lambda i: times[i] if i < len(times) else times[-1] + 1  # noqa: E731
    return abs(at(a) - at(b)) >= MIN_SECONDS

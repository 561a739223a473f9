"""What a search returns: hits that cite episode, speaker and the moment, and how to print them."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..ingest import format_timestamp

from .passages import Passage


@dataclass
class Elsewhere:
    """The same passage in another episode (another transcription of the same talk)."""

    episode_id: str
    episode_title: str
    start: float | None
    passage_id: int


@dataclass(frozen=True)
class Citation:
    """Who said it, where and when: the one way podkb writes a moment, in the CLI, the web app, the
    exports, the MCP server and ``podkb show``."""

    show: str | None
    episode_title: str
    speaker: str | None = None
    start: float | None = None
    paragraph: int | None = None   # untimed transcripts: the segment's index
    url: str | None = None         # the episode's source or recording, not yet set to the moment

    @property
    def moment(self) -> str:
        return said_at(self.start, self.paragraph)

    @property
    def link(self) -> str | None:
        """The episode's http(s) URL set to play from the moment; None for anything else."""
        return link(self.url, self.start)

    def format(self, escape=str, moment=None, sep: str = " — ") -> str:
        """'Show — Episode — Speaker — 1:02:03'. ``escape`` makes each part safe for where it is shown
        (HTML, Markdown); ``moment`` writes the moment ('1:02:03' or '¶12'), say as a link, escaped as it needs."""
        parts = [escape(part) for part in (self.show, self.episode_title, self.speaker) if part]
        if self.moment:
            parts.append((moment or escape)(self.moment))
        return sep.join(parts)

    def __str__(self) -> str:
        return self.format()


class CitedAt:
    """Anything with a ``cited`` moment (a key point, a span a language model was given): its citation as
    text and its link that plays from there."""

    cited: Citation

    @property
    def citation(self) -> str:
        return self.cited.format()

    @property
    def link(self) -> str | None:
        return self.cited.link


@dataclass(frozen=True)
class Hit:
    """One answer to a search: a passage, or a stretch of neighbouring ones, cited at the moment of its
    best sentence. Search builds it once (``Candidate.hit``); it does not change after."""

    passage_id: int
    episode_id: str
    episode_title: str
    show: str | None
    speaker: str | None
    start: float | None       # when the highlighted sentence starts: the moment to play
    end: float | None
    passage_start: float | None
    text: str
    highlight: str
    score: float
    citation: str
    link: str | None              # an http(s) URL that plays from ``start``, or None
    paragraph: int | None = None  # untimed transcripts: the paragraph and character offset
    offset: int | None = None
    first_segment: int = 0
    last_segment: int = 0
    also_in: tuple[Elsewhere, ...] = ()
    question: str | None = None         # when the hit answers a question asked just before: that question
    question_start: float | None = None
    passage_ids: tuple[int, ...] = ()
    media: str | None = None      # the episode's recording on this machine (a path, never a link), if any
    recurring: bool = False       # what the show says in many episodes (a sponsor read, an intro): ranked lower
    parts: tuple[Passage, ...] = field(default=(), repr=False)   # the passages it is made of, in order
    sentence: int | None = field(default=None, repr=False)       # the cited one, in ``sentences()``
    span_end: int | None = field(default=None, repr=False)       # the last sentence of the answer span cited
    url: str | None = field(default=None, repr=False)            # the episode's http(s) URL, untimed

    def sentences(self) -> list[tuple[Passage, str, float | None, int | None]]:
        return sentences(self.parts)

    def cited(self, start: float | None = None) -> Citation:
        """Its citation, or (``start``) the citation of another moment of the same passages."""
        return Citation(self.show, self.episode_title, self.speaker, self.start if start is None else start,
                        self.paragraph, self.url)

    def shown_text(self) -> str:
        """The text to show under the question it answers: from where that question ends, when the
        question is said in the text before the cited sentence (so it is shown once, above)."""
        text = " ".join(self.text.split())
        if not self.question:
            return text
        question, highlight = " ".join(self.question.split()), " ".join(self.highlight.split())
        at = text.find(highlight) if highlight else -1
        cut = text.rfind(question, 0, at if at >= 0 else len(text))
        rest = text[cut + len(question):].strip() if cut >= 0 else ""
        return rest or text

    def to_dict(self) -> dict:
        data = asdict(self)
        for internal in ("parts", "sentence", "span_end", "url"):
            data.pop(internal)
        data["also_in"], data["passage_ids"] = list(data["also_in"]), list(data["passage_ids"])
        return data


@dataclass
class Candidate:
    """A hit while search builds it: ranked, joined with its neighbours, noted where its twins are, its
    sentence chosen (ranking.py, collapse.py, highlight.py). ``hit()`` then makes the Hit, once."""

    passage_id: int
    episode_id: str
    episode_title: str
    show: str | None
    score: float
    parts: list[Passage]
    url: str | None = None        # the episode's http(s) URL
    media: str | None = None      # its recording on this machine
    recurring: bool = False
    also_in: list[Elsewhere] = field(default_factory=list)
    # The moment, as chosen (highlight.py); until then, the start of its first passage.
    highlight: str = ""
    sentence: int | None = None
    span_end: int | None = None
    question: str | None = None
    question_start: float | None = None
    start: float | None = None
    speaker: str | None = None
    paragraph: int | None = None
    offset: int | None = None
    text: str = field(init=False, default="")
    vectors: object = field(default=None, repr=False)   # its sentences' stored vectors, once read (highlight.py)

    def __post_init__(self) -> None:
        self.set_parts(self.parts)

    def set_parts(self, parts: list[Passage]) -> None:
        """Make it stand for these passages, in order: its span, speaker and moment follow."""
        self.parts = parts
        self.text = " ".join(p.text for p in parts)  # kept, not joined again: collapse hashes it often
        if self.passage_id not in self.passage_ids:
            self.passage_id = parts[0].id
        self.start, self.speaker = parts[0].start, parts[0].speaker
        self.paragraph = parts[0].first_segment if self.start is None else None
        self.offset = parts[0].offset

    @property
    def passage_ids(self) -> list[int]:
        return [p.id for p in self.parts]

    @property
    def first_segment(self) -> int:
        return self.parts[0].first_segment

    @property
    def last_segment(self) -> int:
        return self.parts[-1].last_segment

    def sentences(self) -> list[tuple[Passage, str, float | None, int | None]]:
        return sentences(self.parts)

    def hit(self) -> Hit:
        """The finished hit, with its citation and the link that plays from its moment."""
        cited = Citation(self.show, self.episode_title, self.speaker, self.start, self.paragraph, self.url)
        return Hit(passage_id=self.passage_id, episode_id=self.episode_id, episode_title=self.episode_title,
                   show=self.show, speaker=self.speaker, start=self.start, end=self.parts[-1].end,
                   passage_start=self.parts[0].start, text=self.text, highlight=self.highlight, score=self.score,
                   citation=cited.format(), link=cited.link, paragraph=self.paragraph, offset=self.offset,
                   first_segment=self.first_segment, last_segment=self.last_segment, also_in=tuple(self.also_in),
                   question=self.question, question_start=self.question_start, passage_ids=tuple(self.passage_ids),
                   media=self.media, recurring=self.recurring, parts=tuple(self.parts), sentence=self.sentence,
                   span_end=self.span_end,
                   url=self.url)


def sentences(parts) -> list[tuple[Passage, str, float | None, int | None]]:
    """(passage, text, start seconds, source offset) of each sentence of ``parts``, in order: what a hit's
    ``sentence`` counts in."""
    return [(part, *said) for part in parts for said in part.said()]


def ends_at(later, start: float | None, fallback: float | None) -> float | None:
    """When words that start at ``start`` end: where the first of the ``later`` sentences (their starts, in
    order) timed after ``start`` begins, else ``fallback``. Sentences of one segment without word times share
    the segment's start, and the next of them must not end a quote where it began."""
    return next((t for t in later if t is not None and (start is None or t > start)), fallback)


def said_at(start: float | None, paragraph: int | None, millis: bool = False) -> str:
    """Where something was said, as every citation writes it: its time ('1:02:03'), or in an untimed
    transcript its paragraph, counted from 1 (``paragraph`` is the segment's index); '' when neither."""
    if start is not None:
        return format_timestamp(start, millis=millis)
    return f"¶{paragraph + 1}" if paragraph is not None else ""


def web_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) URL, else None: a path, a javascript: or file: URL is never a link."""
    return url if url and re.match(r"(?i)https?://[^\s]", url) else None


def link(url: str | None, start: float | None) -> str | None:
    """The episode's http(s) URL set to play from ``start``: YouTube's t=, else a media fragment #t=.
    None for anything but an http(s) URL."""
    url = web_url(url)
    if not url:
        return None
    if start is None:
        return url
    seconds = int(start)
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed URL ('http://[fe80::1/x') is no link
        return None
    if parts.netloc.endswith(("youtube.com", "youtu.be")):
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "t"] + [("t", f"{seconds}s")]
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(fragment=f"t={seconds}"))

"""What a search returns: hits that cite episode, speaker and the moment, and how to print them."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..ingest import format_timestamp


@dataclass
class Elsewhere:
    """The same passage in another episode (another transcription of the same talk)."""

    episode_id: str
    episode_title: str
    start: float | None
    passage_id: int


@dataclass
class Part:
    """One passage a hit is made of: a hit is one passage, or a stretch of neighbouring ones."""

    passage_id: int
    idx: int                   # its place in the episode
    text: str
    start: float | None
    end: float | None
    speaker: str | None
    first_segment: int
    last_segment: int
    marks: list = field(default_factory=list)  # per sentence: [char in text, start ms, source offset]

    def sentences(self) -> list[tuple[str, float | None, int | None]]:
        """(text, start seconds, source offset) of each sentence."""
        bounds = [m[0] for m in self.marks] + [len(self.text)]
        return [(self.text[bounds[i]:bounds[i + 1]].strip(), None if m[1] is None else m[1] / 1000, m[2])
                for i, m in enumerate(self.marks)] or [(self.text, self.start, None)]


@dataclass
class Hit:
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
    also_in: list[Elsewhere] = field(default_factory=list)
    question: str | None = None         # when the hit answers a question asked just before: that question
    question_start: float | None = None
    passage_ids: list[int] = field(default_factory=list)
    media: str | None = None      # the episode's recording on this machine (a path, never a link), if any
    recurring: bool = False       # what the show says in many episodes (a sponsor read, an intro): ranked lower
    parts: list[Part] = field(default_factory=list, repr=False)

    def set_parts(self, parts: list[Part]) -> None:
        """Make the hit stand for these passages, in order: its text, span and segments follow."""
        self.parts = parts
        self.passage_ids = [p.passage_id for p in parts]
        self.passage_id = parts[0].passage_id if self.passage_id not in self.passage_ids else self.passage_id
        self.text = " ".join(p.text for p in parts)
        self.passage_start = self.start = parts[0].start
        self.end = parts[-1].end
        self.speaker = parts[0].speaker
        self.first_segment, self.last_segment = parts[0].first_segment, parts[-1].last_segment
        self.paragraph = parts[0].first_segment if self.start is None else None
        self.offset = parts[0].marks[0][2] if parts[0].marks else None

    def cite_moment(self) -> None:
        """Set the citation and the link to play from ``start``, once the moment is chosen."""
        self.citation = citation(self.show, self.episode_title, self.speaker, self.start, self.paragraph)
        self.link = link(self.link, self.start)

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
        data.pop("parts")
        return data


def said_at(start: float | None, paragraph: int | None, millis: bool = False) -> str:
    """Where something was said, as every citation writes it: its time ('1:02:03'), or in an untimed
    transcript its paragraph, counted from 1 (``paragraph`` is the segment's index); '' when neither."""
    if start is not None:
        return format_timestamp(start, millis=millis)
    return f"¶{paragraph + 1}" if paragraph is not None else ""


def citation(show: str | None, title: str, speaker: str | None, start: float | None, paragraph: int | None) -> str:
    return " — ".join(part for part in (show, title, speaker, said_at(start, paragraph)) if part)


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
    parts = urlsplit(url)
    if parts.netloc.endswith(("youtube.com", "youtu.be")):
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "t"] + [("t", f"{seconds}s")]
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(fragment=f"t={seconds}"))

"""What a search returns: hits that cite episode, speaker and the moment, and how to print them."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ingest import format_timestamp


@dataclass
class Elsewhere:
    """The same passage in another episode (another transcription of the same talk)."""

    episode_id: str
    episode_title: str
    start: float | None
    passage_id: int


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
    link: str | None
    paragraph: int | None = None  # untimed transcripts: the paragraph and character offset
    offset: int | None = None
    first_segment: int = 0
    last_segment: int = 0
    also_in: list[Elsewhere] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def citation(show: str | None, title: str, speaker: str | None, start: float | None, paragraph: int | None) -> str:
    where = format_timestamp(start) if start is not None else f"¶{paragraph + 1}" if paragraph is not None else None
    return " — ".join(part for part in (show, title, speaker, where) if part)


def link(url: str | None, start: float | None) -> str | None:
    """The episode's URL set to play from ``start``: YouTube's t=, else a media fragment #t=."""
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

"""The data shapes of the transcript library: an Episode and its Segments."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(slots=True)  # a long episode holds hundreds of thousands of these
class Word:
    start: float
    end: float
    text: str
    probability: float | None = None


@dataclass(slots=True)
class Segment:
    """One stretch of speech as the transcript gives it.

    ``start``/``end`` are seconds, or ``None`` when the transcript has no times.
    ``turn`` increases at every change of speaker, even when the speaker has no
    name (Whisper's ``>>`` marker), so later stages never join two voices.
    ``offset`` is the character offset in the decoded file of an untimed segment.
    """

    start: float | None
    end: float | None
    speaker: str | None
    text: str
    words: list[Word] | None = None
    turn: int = 0
    offset: int | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.words is None:
            data.pop("words")
        return data


@dataclass
class Episode:
    id: str
    title: str
    show: str | None = None
    date: str | None = None
    source: str | None = None
    media: str | None = None
    duration: float | None = None
    speakers: list[str] = field(default_factory=list)
    format: str | None = None
    language: str | None = None
    content_hash: str | None = None
    path: str | None = None
    segment_count: int = 0
    duplicate_of: str | None = None
    similarity: float | None = None
    added_at: str | None = None
    feed: str | None = None   # the feed it came from, if any
    guid: str | None = None   # the feed item's GUID (else its enclosure URL): the stable key

    def to_dict(self) -> dict:
        data = asdict(self)
        data["segments"] = data.pop("segment_count")
        return data


@dataclass
class Voice:
    """A speaker's voice print in one episode (ingest/voices.py)."""
    episode_id: str
    speaker: str                    # the name its segments carry now
    seconds: float                  # how long it speaks
    print: object                   # a unit float32 vector
    named_by: str | None = None     # None: a label; "user"; "voice": matched to a known voice at ``score``
    score: float | None = None
    maybe: str | None = None        # a name offered, not applied, at ``maybe_score``
    maybe_score: float | None = None


@dataclass
class Transcript:
    """What a format reader returns: segments plus anything the file said about itself."""

    format: str
    segments: list[Segment]
    language: str | None = None
    title: str | None = None
    warnings: list[str] = field(default_factory=list)
    media_duration: float | None = None  # audio length, when the transcript came from audio
    diarized: bool = False  # its speakers were found in the recording (ingest/diarize.py)
    voices: dict[str, list[float]] = field(default_factory=dict)  # speaker -> voice print, when diarized

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(s.speaker for s in self.segments if s.speaker))

    @property
    def duration(self) -> float | None:
        if self.media_duration is not None:
            return self.media_duration
        times = [t for s in self.segments for t in (s.start, s.end) if t is not None]
        return max(times) if times else None


def number_turns(segments: list[Segment]) -> list[Segment]:
    """Set ``turn`` from changes of named speaker."""
    turn, previous = 0, None
    for i, segment in enumerate(segments):
        if i and segment.speaker != previous:
            turn += 1
        segment.turn, previous = turn, segment.speaker
    return segments

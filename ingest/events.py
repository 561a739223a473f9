"""Every event of podkb's long jobs, as plain values a caller's loop receives; the one place they are defined.

podkb's long jobs (an import, a feed, indexing, a reindex) are lazy generators, as
``faster_whisper.WhisperModel.transcribe`` is: they yield events while they work, and the caller (the
CLI, the web app, the MCP server, a script) decides what to show. Nothing below the user interface
draws a bar or prints a line. One convention: a job ends with one ``Done``, which carries its
report; ``done(events)`` drives a job to it. An import's stream of ``Outcome``s (importer.add_paths,
feeds.follow) is a part of the job that ``KnowledgeBase.add_events`` or ``follow_events`` ends.

- ``Outcome``: one input file or feed item is done (added, replaced, unchanged, or failed);
- ``Transcribing``: seconds of audio done, per file (or per run on a Ray cluster);
- ``Indexing``: episodes indexed of those to index, and passages so far;
- ``Waiting``: another process is indexing this knowledge base, and this one waits for it;
- ``Done``: the end, with the job's outcomes, its indexing's ``SyncReport`` and its result.

They live in ingest/, the first layer, so that every layer can yield them; ``podkb.events`` is where a
user interface imports them from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generator, Iterable, TypeVar, Union

if TYPE_CHECKING:
    from .store import AddResult

Result = TypeVar("Result")


@dataclass
class Outcome:
    """What happened to one input path: a result, or an error; warnings either way."""

    path: str
    result: AddResult | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Transcribing:
    """``done`` of ``total`` seconds of ``name``'s audio are through ``stage``: "transcribing" (reported
    as it starts, with 0, after each segment and at the end), or "finding speakers" (at 0, after each batch
    of speaker embeddings, and at the end)."""

    name: str
    done: float
    total: float
    stage: str = "transcribing"


@dataclass(frozen=True)
class Indexing:
    """``done`` of ``total`` episodes are indexed, ``passages`` passages so far (yielded as the work starts,
    with 0, and after each batch)."""

    done: int
    total: int
    passages: int


@dataclass(frozen=True)
class Waiting:
    """Another process is indexing the knowledge base in ``path``, and this one waits for it."""

    path: str


@dataclass
class SyncReport:
    """What an indexing did: episodes and passages indexed, passages removed, whether it rebuilt the whole
    index (a reindex), and whether it did nothing because another process was indexing (``busy``)."""

    episodes: int = 0
    passages: int = 0
    removed: int = 0
    rebuilt: bool = False
    busy: bool = False


@dataclass(frozen=True)
class Done:
    """The last event of a job: the outcomes of an add or follow (none for the others), the indexing's
    report (None when it did not index), and what the job found (a search's hits, an ask's answer)."""

    outcomes: tuple[Outcome, ...] = ()
    report: SyncReport | None = None
    result: Any = None


Event = Union[Outcome, Transcribing, Indexing, Waiting, Done]


def done(events: Iterable[Event]) -> Done:
    """Drive a job to its end, ignoring its other events: its ``Done``."""
    last = None
    for event in events:
        last = event
    assert isinstance(last, Done), last
    return last


def relay(events: Iterable[Event]) -> Generator[Event, None, Done]:
    """Pass a job's events on to the caller's caller, all but its ``Done``, which is returned
    (``report = (yield from relay(job)).report``)."""
    last = None
    for event in events:
        if isinstance(event, Done):
            last = event
        else:
            yield event
    assert isinstance(last, Done), last
    return last


def finish(steps: Generator[object, None, Result]) -> Result:
    """Drive a step that returns its result (``Transcriber.transcribing``), ignoring its events."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value

"""What a long import reports as it goes, as plain values a caller's loop receives.

podkb's long jobs (an import, a feed, indexing) are lazy generators, as
``faster_whisper.WhisperModel.transcribe`` is: they yield events while they work and return
their result, and whoever drives them (the CLI, the web app, the MCP server, a script) decides
what to show. Nothing below the user interface draws a bar or prints a line.

This layer's events: an ``importer.Outcome`` per file or feed item, and ``Transcribing`` while
audio becomes text. Indexing adds ``index.Indexing`` and ``index.Waiting``; ``podkb.events``
gathers them all.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generator, TypeVar

Result = TypeVar("Result")


@dataclass(frozen=True)
class Transcribing:
    """``done`` of ``total`` seconds of ``name``'s audio are through ``stage``: "transcribing" (reported
    as it starts, with 0, after each segment and at the end), or "finding speakers" (at 0, after each batch
    of speaker embeddings, and at the end)."""

    name: str
    done: float
    total: float
    stage: str = "transcribing"


def finish(events: Generator[object, None, Result]) -> Result:
    """Drive a generator of events to its end, ignoring them, and return what it returns."""
    while True:
        try:
            next(events)
        except StopIteration as stop:
            return stop.value

"""What turns audio into a transcript: the ``Transcriber`` protocol, and its two backends.

- ``ingest/audio.py``: ``WhisperTranscriber``, faster-whisper in this process, one file at a time.
- ``podkb/cluster.py``: ``ClusterTranscriber``, an actor pool on a Ray cluster, many files at once.

``KnowledgeBase`` chooses between them in one place (``podkb/knowledgebase.py``, ``_backends``);
``ingest`` itself only ever makes the local one (``audio.default``), as the default of a direct call. A test's or a
script's transcriber subclasses the protocol and overrides ``transcribe`` (or ``transcribing``,
to report progress).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Generator, Iterable, Iterator, Protocol

from .events import Transcribing, finish
from .models import Transcript

Items = Iterable[tuple[str, str | None]]  # an import's (path, error) items


class Transcriber(Protocol):
    def transcribing(self, path: str, name: str | None = None) -> Generator[Transcribing, None, Transcript]:
        """Transcribe the audio file ``path``, yielding ``Transcribing`` events (named ``name``, else the
        path) as it goes, and return the transcript. Raises BadInput for audio it can't use.
        By default: ``transcribe``, with no progress to report."""
        return self.transcribe(path)
        yield  # a generator, even when it reports nothing

    def transcribe(self, path: str) -> Transcript:
        """The transcript of ``path``, at once: ``transcribing`` driven to its end."""
        if type(self).transcribing is Transcriber.transcribing:
            raise NotImplementedError(f"{type(self).__name__} overrides neither transcribe nor transcribing")
        return finish(self.transcribing(path))

    def schedule(self, items: Items, known: Callable[[Path], bool]) -> Iterator[tuple[str, str | None] | Transcribing]:
        """An import's (path, error) items in the order to store them, with any ``Transcribing``
        events of work done ahead among them. Here: as they come, work done as each is stored."""
        return iter(items)

    def transcribe_url(self, url: str, suffix: str, options, length: int | None) -> tuple[Transcript, str] | None:
        """A feed item's audio fetched and transcribed elsewhere: (transcript, sha256 of the audio), or
        None when it is downloaded and transcribed here."""
        return None

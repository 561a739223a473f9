"""Every event of podkb's long jobs, in one place for the user interfaces that render them.

``KnowledgeBase.add_events``, ``follow_events``, ``sync_events`` and ``reindex_events`` are lazy
generators of these plain values; the caller drives them and shows what it likes (tqdm bars in
the CLI, ``st.progress`` in the web app, log lines in the MCP server). ``KnowledgeBase.add``,
``follow``, ``sync`` and ``reindex`` drive them for a caller that wants only the result.

- ``Outcome``: one input file or feed item is done (added, replaced, unchanged, or failed).
- ``Transcribing``: seconds of audio done, per file (or per run on a Ray cluster).
- ``Indexing``: episodes indexed of those to index, and passages so far.
- ``Waiting``: another process is indexing this knowledge base; this one waits for it.
- ``Done``: the end, with every outcome and the indexing report.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .ingest import Outcome
from .ingest.events import Transcribing
from .index import Indexing, SyncReport, Waiting


@dataclass(frozen=True)
class Done:
    """The last event of a job: the outcomes of an add or follow (none for a sync), and the indexing's
    report (None when it did not index: ``index=False``)."""

    outcomes: tuple[Outcome, ...] = ()
    report: SyncReport | None = None


Event = Union[Outcome, Transcribing, Indexing, Waiting, Done]

__all__ = ["Done", "Event", "Indexing", "Outcome", "SyncReport", "Transcribing", "Waiting"]

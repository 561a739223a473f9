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

from .ingest.events import Done, Event, Indexing, Outcome, SyncReport, Transcribing, Waiting, done

__all__ = ["Done", "Event", "Indexing", "Outcome", "SyncReport", "Transcribing", "Waiting", "done"]

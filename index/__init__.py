"""podkb.index: segments → passages → vectors and keywords → hits.

Owns: the index's tables and every statement on them (tables.py; index_meta in meta.py; their
migrations in schema.py), keeping them in step with the episodes (sync.py), the FAISS file and the
models (store.py's ``Index``, embed.py, engine.py), and the reading of a query (query.py) into hits
(ranking.py, collapse.py, highlight.py), answer spans (spans.py) and key points (points.py, judge.py).
The scoring modules take a ``Query`` and rows or arrays and send no SQL.

May import: ``podkb.ingest`` (the store, the settings, the events) and third-party packages; never
``podkb/`` itself or ``podkb.ui``. Callers search through ``podkb.KnowledgeBase``, which owns the
connection, the model and the lock; ``Index`` is its inside.
"""
from __future__ import annotations

from ..ingest.events import Indexing, SyncReport, Waiting

from .bundled import DEFAULT_MODEL
from .embed import Embedder, load
from .hits import Elsewhere, Hit
from .passages import Passage, Sentence
from .points import Answer, Point
from .points import ask as ask_index
from .query import Filters, Query
from .ranking import MODES
from .ranking import search as search_index
from .store import Index, ModelMismatch

__all__ = [
    "DEFAULT_MODEL", "Answer", "Elsewhere", "Embedder", "Filters", "Hit", "Index", "Indexing", "MODES", "ModelMismatch", "Passage",
    "Point", "Query", "Sentence", "SyncReport", "Waiting", "ask_index", "load", "search_index",
]

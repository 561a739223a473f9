"""podkb.index: segments → passages → vectors and keywords → hits.

Reads the store that ``podkb.ingest`` writes; never imports ``podkb.ui``. Callers search through
``podkb.KnowledgeBase``, which owns the connection, the model and the lock; ``Index`` is its inside.
"""
from __future__ import annotations

from .embed import DEFAULT_MODEL, Embedder, load
from .hits import Elsewhere, Hit
from .passages import Passage, Sentence
from .points import Answer, Point
from .points import ask as ask_index
from .ranking import MODES, Filters
from .ranking import search as search_index
from .store import Index, Indexing, ModelMismatch, SyncReport, Waiting

__all__ = [
    "DEFAULT_MODEL", "Answer", "Elsewhere", "Embedder", "Filters", "Hit", "Index", "Indexing", "MODES", "ModelMismatch", "Passage",
    "Point", "Sentence", "SyncReport", "Waiting", "ask_index", "load", "search_index",
]

"""index: segments → passages → vectors and keywords → hits.

    import index
    hits = index.search("how to avoid burnout", kb="~/.config/podkb", k=5)

Reads the store that ``ingest`` writes; never imports ``ui``.
"""
from __future__ import annotations

from pathlib import Path

from ingest import Library

from .embed import DEFAULT_MODEL, Embedder, load
from .hits import Elsewhere, Hit
from .passages import Passage, Sentence
from .points import Answer, Point
from .points import ask as ask_index
from .ranking import MODES, Filters
from .ranking import search as search_index
from .store import Index, ModelMismatch, SyncReport


def open_index(kb: str | Path, model: str | None = None, embedder: Embedder | None = None) -> Index:
    """The index of the knowledge base in ``kb``, with the model it was built with unless told otherwise."""
    return Index(Library(Path(kb).expanduser()), model=model, embedder=embedder)


def search(query: str, kb: str | Path, k: int = 10, mode: str = "hybrid", filters: Filters | None = None,
           model: str | None = None) -> list[Hit]:
    """One-off search of a knowledge base: brings the index up to date, then ranks."""
    index = open_index(kb, model)
    try:
        index.sync()
        return search_index(index, query, k=k, mode=mode, filters=filters)
    finally:
        index.library.close()


__all__ = [
    "DEFAULT_MODEL", "Answer", "Elsewhere", "Embedder", "Filters", "Hit", "Index", "MODES", "ModelMismatch", "Passage",
    "Point", "Sentence", "SyncReport", "ask_index", "load", "open_index", "search", "search_index",
]

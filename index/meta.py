"""``index_meta``: what the index keeps about itself, as text by key, and the one module that reads or
writes it.

- ``model``, ``dim``, ``config``: the embedding model the live vectors were made with, their length,
  and the settings saved with the knowledge base (config.py);
- ``generation``: counted up by every change a search must notice (passages added or removed, a
  speaker renamed, settings changed): caches of the FAISS file, the hosts and the passage count
  are kept per generation;
- ``vectors_since``: the generation of the last reindex's swap (a FAISS file from before is not this
  index's);
- ``next_model``: the model of a reindex under way beside the live index (sync.py).
"""
from __future__ import annotations

import sqlite3


def get(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM index_meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def put(db: sqlite3.Connection, key: str, value) -> None:
    db.execute("INSERT OR REPLACE INTO index_meta (key, value) VALUES (?, ?)", (key, str(value)))


def drop(db: sqlite3.Connection, key: str) -> None:
    db.execute("DELETE FROM index_meta WHERE key = ?", (key,))


def generation(db: sqlite3.Connection) -> int:
    return int(get(db, "generation") or 0)

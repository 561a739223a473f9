"""The index of a knowledge base: passages, their vectors and keywords, kept in step with the episodes.

SQLite is the truth. The FAISS file is a cache of the ``vectors`` table, stamped with the
generation it was saved at; when the stamp disagrees with SQLite (a crash between the two
writes, an episode removed by another process) it is rebuilt from SQLite, not re-embedded.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ingest import Library
from ingest.timecode import milliseconds as _ms

from . import keywords
from . import passages as passage_builder
from .embed import DEFAULT_MODEL, Embedder
from .embed import load as load_embedder
from .schema import migration
from .vectors import SWITCH_SIZE, VectorIndex

FAISS_NAME = "passages.faiss"


class ModelMismatch(Exception):
    pass


@dataclass
class SyncReport:
    episodes: int = 0
    passages: int = 0
    removed: int = 0
    rebuilt: bool = False


class Index:
    def __init__(self, library: Library, model: str | None = None, embedder: Embedder | None = None,
                 check_model: bool = True):
        """``model`` (or ``embedder``) overrides the model the index was built with; it loads on first use."""
        self.library = library
        self.db = library.db
        self.path = library.dir / FAISS_NAME
        migration.apply(self.db)
        self._embedder = embedder
        self.model = embedder.name if embedder else (model or self.meta("model") or os.environ.get("PODKB_MODEL")
                                                     or DEFAULT_MODEL)
        if check_model:
            self._check_model()
        self._vectors: VectorIndex | None = None
        self._loaded_stamp: dict = {}

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.model)
        return self._embedder

    @property
    def dim(self) -> int:
        stored = self.meta("dim")
        return int(stored) if stored else self.embedder.dim

    # Model bookkeeping

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM index_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO index_meta (key, value) VALUES (?, ?)", (key, str(value)))

    def _check_model(self) -> None:
        stored = self.meta("model")
        has_vectors = self.db.execute("SELECT 1 FROM vectors LIMIT 1").fetchone()
        if has_vectors and stored != self.model:
            raise ModelMismatch(
                f"this knowledge base was indexed with {stored}, not {self.model}; "
                f"run 'podkb reindex --model {self.model}' to re-embed it with {self.model}, "
                f"or leave out --model to use {stored}"
            )

    @property
    def generation(self) -> int:
        return int(self.meta("generation") or 0)

    def passage_count(self) -> int:
        generation = self.generation
        if getattr(self, "_counted", (None, 0))[0] != generation:
            self._counted = (generation, self.db.execute("SELECT count(*) FROM passages").fetchone()[0])
        return self._counted[1]

    # Keeping in step

    def stale_episodes(self) -> list[str]:
        rows = self.db.execute(
            "SELECT e.id FROM episodes e LEFT JOIN indexed_episodes i ON i.episode_id = e.id "
            "WHERE i.content_hash IS NULL OR i.content_hash != e.content_hash ORDER BY e.added_at, e.rowid"
        )
        return [row[0] for row in rows]

    def sync(self, progress: bool = False, on_episode: Callable[[int, int, str], None] | None = None) -> SyncReport:
        """Index episodes that are new or changed; drop what was removed. Cheap when nothing changed.

        ``on_episode(done, total, episode_id)`` is called before each episode is indexed.
        """
        report = SyncReport()
        vectors = self.vectors()
        stale = self.stale_episodes()
        for n, episode_id in enumerate(stale):
            if on_episode:
                on_episode(n, len(stale), episode_id)
            removed, added = self._index_episode(episode_id, progress)
            vectors.remove(removed)
            vectors.add(*added)
            report.episodes += 1
            report.passages += len(added[0])
            report.removed += len(removed)
        if report.episodes:
            self._save(vectors)
        return report

    def _index_episode(self, episode_id: str, progress: bool) -> tuple[list[int], tuple[np.ndarray, np.ndarray]]:
        episode = self.library.episode(episode_id)
        built = [p for p in passage_builder.build(episode_id, self.library.segments(episode_id))
                 if p.words >= passage_builder.INDEX_MIN_WORDS]
        embedded = self.embedder.encode([p.text for p in built], progress=progress)
        with self.library.transaction():
            old = self._forget_passages(episode_id)
            ids = [self._insert(p, v) for p, v in zip(built, embedded)]
            keywords.count_terms(self.db, [p.text for p in built])
            self.db.execute(
                "INSERT OR REPLACE INTO indexed_episodes (episode_id, content_hash) VALUES (?, ?)",
                (episode_id, episode.content_hash),
            )
            self._bump()
        return old, (np.array(ids, dtype=np.int64), embedded)

    def _forget_passages(self, episode_id: str) -> list[int]:
        """Delete an episode's passages (and their keyword counts); return their ids."""
        rows = self.db.execute("SELECT id, text FROM passages WHERE episode_id = ?", (episode_id,)).fetchall()
        keywords.count_terms(self.db, [text for _, text in rows], sign=-1)
        self.db.execute("DELETE FROM passages WHERE episode_id = ?", (episode_id,))
        return [passage_id for passage_id, _ in rows]

    def _insert(self, p: passage_builder.Passage, vector: np.ndarray) -> int:
        sentences = json.dumps([[s.at, _ms(s.start), s.offset] for s in p.sentences])
        cursor = self.db.execute(
            "INSERT INTO passages (episode_id, idx, text, start_ms, end_ms, speaker, turn, first_segment, "
            "last_segment, sentences) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (p.episode_id, p.idx, p.text, _ms(p.start), _ms(p.end), p.speaker, p.turn,
             p.first_segment, p.last_segment, sentences),
        )
        self.db.execute("INSERT INTO vectors (passage_id, vector) VALUES (?, ?)",
                        (cursor.lastrowid, vector.astype(np.float16).tobytes()))
        return cursor.lastrowid

    def _bump(self) -> None:
        self._set_meta("generation", self.generation + 1)
        if self._embedder is not None:
            self._set_meta("model", self.model)
            self._set_meta("dim", self.embedder.dim)

    def remove(self, episode_id: str) -> int:
        """Remove an episode from the library and its passages from the index."""
        vectors = self.vectors()

        def forget():
            ids = self._forget_passages(episode_id)
            self._bump()
            return ids

        ids = self.library.remove(episode_id, also=forget)
        vectors.remove(ids)
        self._save(vectors)
        return len(ids)

    def reindex(self, progress: bool = False) -> SyncReport:
        """Rebuild every passage and vector (after changing the model or the passage rules)."""
        with self.library.transaction():
            self.db.execute("DELETE FROM passages")
            self.db.execute("DELETE FROM term_df")
            self.db.execute("DELETE FROM indexed_episodes")
            self.db.execute("DELETE FROM index_meta WHERE key IN ('model', 'dim')")
            self._bump()
        report = self.sync(progress=progress)
        report.rebuilt = True
        return report

    # The FAISS side

    def vectors(self) -> VectorIndex:
        """The FAISS index, loaded, or rebuilt from SQLite when its stamp disagrees."""
        if self._vectors is not None and self._loaded_stamp.get("generation") == self.generation:
            return self._vectors
        loaded = VectorIndex.load(self.path, self.dim)
        if loaded and self._stamp_matches(loaded[1]):
            self._vectors, self._loaded_stamp = loaded
            return self._vectors
        self._vectors = self._rebuild()
        self._save(self._vectors)
        return self._vectors

    def _stamp_matches(self, stamp: dict) -> bool:
        count = self.db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        return stamp.get("generation") == self.generation and stamp.get("count") == count

    def _rebuild(self) -> VectorIndex:
        rows = self.db.execute("SELECT passage_id, vector FROM vectors ORDER BY passage_id").fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).astype(np.float32)
        return VectorIndex.build(self.dim, ids, matrix.reshape(len(rows), self.dim))

    def _save(self, vectors: VectorIndex) -> None:
        if not vectors.approximate and vectors.count >= SWITCH_SIZE:
            vectors = self._rebuild()  # once, when the store outgrows exact search
        self._loaded_stamp = {"generation": self.generation, "model": self.model}
        vectors.save(self.path, self._loaded_stamp)
        self._loaded_stamp["count"] = vectors.count
        self._vectors = vectors

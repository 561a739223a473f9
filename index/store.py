"""The index of a knowledge base: passages, their vectors and keywords, kept in step with the episodes.

SQLite is the truth. The FAISS file is a cache of the ``vectors`` table. Whenever it is
loaded, its ids are checked against SQLite's (through the checksum in its stamp); a
difference, however it came about (a crash between the two writes, an episode removed by
another process), is made good from SQLite's float16 vectors, and a damaged file is
rebuilt from them. Nothing is re-embedded for either.

Only one process indexes a knowledge base at a time (an OS file lock, lock.py); others wait
for it, while searches go on reading what is committed.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..ingest import Library
from ..ingest.timecode import milliseconds as _ms

from . import keywords
from . import passages as passage_builder
from .embed import DEFAULT_MODEL, Embedder, encode_passages
from .embed import load as load_embedder
from .embed import load_for_queries
from .lock import IndexLock
from .config import Config
from .schema import migration
from .vectors import VectorIndex, ids_digest

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
                 check_model: bool = True, load: Callable[[str], Embedder] | None = None):
        """``model`` (or ``embedder``) overrides the model the index was built with; it loads on first use,
        through ``load(model)`` when given (a knowledge base shares one model among its connections).

        The store must have every migration applied (``podkb.KnowledgeBase`` opens it so).
        """
        self.library = library
        self.db = library.db
        self.path = library.dir / FAISS_NAME
        migration.require(self.db, library.dir)
        self._embedder = embedder
        self._query_embedder = None
        self._load = load or load_embedder
        self.model = embedder.name if embedder else (model or self.meta("model") or os.environ.get("PODKB_MODEL")
                                                     or DEFAULT_MODEL)
        self.config = Config.from_json(self.meta("config"), model=self.model)
        if check_model:
            self._check_model()
        self._vectors: VectorIndex | None = None
        self._loaded_stamp: dict = {}
        self._lock = IndexLock(library.dir)
        self.notices: list[str] = []  # what was repaired on the way (a damaged file rebuilt, ...), for the user

    @contextmanager
    def locked(self, on_wait: Callable[[], None] | None = None):
        """Hold the knowledge base's index lock (re-entrant): the one indexer."""
        if self._lock.held:
            yield
            return
        self._lock.acquire(on_wait=on_wait)
        try:
            yield
        finally:
            self._lock.release()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._load(self.model)
        return self._embedder

    @property
    def query_embedder(self) -> Embedder:
        """What embeds queries: the loaded model if it is, else its ONNX copy (no torch import, so a
        cold search is quick), else the model."""
        if self._embedder is None and self._query_embedder is None:
            self._query_embedder = load_for_queries(self.model)
        return self._embedder or self._query_embedder or self.embedder

    @property
    def dim(self) -> int:
        stored = self.meta("dim")
        return int(stored) if stored else self.embedder.dim

    # Model bookkeeping

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM index_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def configure(self, config: Config) -> None:
        """Save new settings with the knowledge base (the model is changed by ``reindex``, not here)."""
        if config.model != self.model:
            raise ValueError(f"the model is changed by reindexing: podkb reindex --model {config.model}")
        previous, self.config = self.config, config
        try:
            with self.library.transaction():
                self._set_meta("config", config.to_json())
                self._bump()  # the FAISS index is reloaded with the new nprobe
        except BaseException:
            self.config = previous
            raise

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

    def sync(self, progress: bool = False, on_episode: Callable[[int, int, str], None] | None = None,
             on_wait: Callable[[], None] | None = None) -> SyncReport:
        """Index episodes that are new or changed. Cheap when nothing changed: no model, no FAISS.

        ``on_episode(done, total, episode_id)`` is called before each episode is indexed, and
        ``on_wait()`` once if another process is indexing this knowledge base and we wait for it.
        """
        report = SyncReport()
        if not self.stale_episodes():
            return report
        with self.locked(on_wait):
            vectors = self.vectors()
            stale = self.stale_episodes()  # again: whoever held the lock may have done them
            for n, episode_id in enumerate(stale):
                if on_episode:
                    on_episode(n, len(stale), episode_id)
                indexed = self._index_episode(episode_id, progress)
                if indexed is None:
                    continue  # removed or replaced while it was embedded: the next sync sees it as it is
                removed, added = indexed
                vectors.remove(removed)
                vectors.add(*added)
                report.episodes += 1
                report.passages += len(added[0])
                report.removed += len(removed)
            if report.episodes:
                generation = self.generation
                self._reconcile(vectors)  # a removal that did not wait for the lock
                self._save(vectors, generation)
        return report

    def _index_episode(self, episode_id: str, progress: bool) -> tuple[list[int], tuple[np.ndarray, np.ndarray]] | None:
        row = self.db.execute("SELECT content_hash FROM episodes WHERE id = ?", (episode_id,)).fetchone()
        if row is None:
            return None
        built = [p for p in passage_builder.build(episode_id, self.library.segments(episode_id))
                 if p.words >= passage_builder.INDEX_MIN_WORDS]
        embedded, sentences = encode_passages(self.embedder, [p.text for p in built], [p.spans for p in built],
                                              progress=progress)
        with self.library.transaction():
            if self.db.execute("SELECT content_hash FROM episodes WHERE id = ?", (episode_id,)).fetchone() != row:
                return None
            old = self._forget_passages(episode_id)
            ids = [self._insert(p, v, sv) for p, v, sv in zip(built, embedded, sentences)]
            keywords.count_terms(self.db, [p.text for p in built])
            self.db.execute(
                "INSERT OR REPLACE INTO indexed_episodes (episode_id, content_hash) VALUES (?, ?)",
                (episode_id, row[0]),
            )
            self._bump()
        return old, (np.array(ids, dtype=np.int64), embedded)

    def _forget_passages(self, episode_id: str) -> list[int]:
        """Delete an episode's passages (and their keyword counts); return their ids."""
        rows = self.db.execute("SELECT id, text FROM passages WHERE episode_id = ?", (episode_id,)).fetchall()
        keywords.count_terms(self.db, [text for _, text in rows], sign=-1)
        self.db.execute("DELETE FROM passages WHERE episode_id = ?", (episode_id,))
        return [passage_id for passage_id, _ in rows]

    def _insert(self, p: passage_builder.Passage, vector: np.ndarray, sentence_vectors: np.ndarray) -> int:
        sentences = json.dumps([[s.at, _ms(s.start), s.offset] for s in p.sentences])
        cursor = self.db.execute(
            "INSERT INTO passages (episode_id, idx, text, start_ms, end_ms, speaker, turn, first_segment, "
            "last_segment, sentences) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (p.episode_id, p.idx, p.text, _ms(p.start), _ms(p.end), p.speaker, p.turn,
             p.first_segment, p.last_segment, sentences),
        )
        self.db.execute("INSERT INTO vectors (passage_id, vector) VALUES (?, ?)",
                        (cursor.lastrowid, vector.astype(np.float16).tobytes()))
        scales, quantised = quantise(sentence_vectors)
        self.db.execute("INSERT INTO sentence_vectors (passage_id, scales, vectors) VALUES (?, ?, ?)",
                        (cursor.lastrowid, scales.tobytes(), quantised.tobytes()))
        return cursor.lastrowid

    def sentence_vectors(self, passage_ids: list[int]) -> dict[int, np.ndarray]:
        """The stored sentence vectors of these passages (float32, one row per sentence); absent for
        passages indexed before they were kept."""
        if not passage_ids:
            return {}
        rows = self.db.execute(f"SELECT passage_id, scales, vectors FROM sentence_vectors WHERE passage_id IN "
                               f"({','.join('?' * len(passage_ids))})", passage_ids)
        return {pid: dequantise(scales, vectors, self.dim) for pid, scales, vectors in rows}

    def _bump(self) -> None:
        self._set_meta("generation", self.generation + 1)
        if self._embedder is not None:
            self._set_meta("model", self.model)
            self._set_meta("dim", self.embedder.dim)
            self._set_meta("config", self.config.to_json())

    def remove(self, episode_id: str) -> int:
        """Remove an episode from the library and its passages from the index.

        SQLite is changed at once, even while another process indexes; the FAISS file follows
        now if the lock is free, else whoever holds it (or the next search) makes it agree.
        """
        def forget():
            ids = self._forget_passages(episode_id)
            self._bump()
            return ids

        ids = self.library.remove(episode_id, also=forget)
        if self.meta("dim") is not None:  # never indexed: no FAISS file to bring in step, no model to load
            self.vectors()
        return len(ids)

    def reindex(self, progress: bool = False, on_wait: Callable[[], None] | None = None) -> SyncReport:
        """Rebuild every passage and vector (after changing the model or the passage rules).

        The model loads first: one that can't be loaded leaves the index as it was.
        """
        self.embedder  # noqa: B018 - loads it, or raises RuntimeError, before anything is deleted
        with self.locked(on_wait):
            with self.library.transaction():
                self.db.execute("DELETE FROM passages")
                self.db.execute("DELETE FROM term_df")
                self.db.execute("DELETE FROM indexed_episodes")
                self.db.execute("DELETE FROM index_meta WHERE key IN ('model', 'dim')")
                self._bump()
            self._vectors = VectorIndex(self.dim, nprobe=self.config.nprobe)
            self._loaded_stamp = {"generation": self.generation}
            report = self.sync(progress=progress)
        report.rebuilt = True
        return report

    # The FAISS side

    def vectors(self) -> VectorIndex:
        """The FAISS index, loaded and checked against SQLite (made to agree, or rebuilt, when it does not).

        What was repaired is saved when the index lock is free; a search never waits for it.
        """
        generation = self.generation
        if self._vectors is not None and self._loaded_stamp.get("generation") == generation:
            return self._vectors
        stored = self._stored_ids()
        loaded = VectorIndex.load(self.path, self.dim, self.config.nprobe)
        if isinstance(loaded, str):
            if loaded != "missing" or len(stored):
                self.notices.append(f"{self.path.name} was {loaded}; rebuilt it from podkb.db")
            vectors, changed = self._rebuild(), True
        else:
            vectors, stamp = loaded
            changed = stamp.get("ids") != ids_digest(stored) and self._reconcile(vectors, stored)
        self._vectors, self._loaded_stamp = vectors, {"generation": generation}
        if changed:
            self._save_if_free(vectors, generation)
        return vectors

    def _save_if_free(self, vectors: VectorIndex, generation: int) -> None:
        if self._lock.held:
            self._save(vectors, generation)
        elif self._lock.acquire(blocking=False):
            try:
                self._save(vectors, generation)
            finally:
                self._lock.release()

    def _stored_ids(self) -> np.ndarray:
        rows = self.db.execute("SELECT passage_id FROM vectors ORDER BY passage_id").fetchall()
        return np.array([row[0] for row in rows], dtype=np.int64)

    def _reconcile(self, vectors: VectorIndex, stored: np.ndarray | None = None) -> bool:
        """Make the index hold exactly SQLite's ids; whether anything changed."""
        stored = self._stored_ids() if stored is None else stored
        held = vectors.ids()
        extra, missing = np.setdiff1d(held, stored), np.setdiff1d(stored, held)
        vectors.remove(extra)
        if len(missing):
            vectors.add(missing, self._stored_vectors(missing))
        return bool(len(extra) or len(missing))

    def _stored_vectors(self, ids: np.ndarray) -> np.ndarray:
        found = []
        for start in range(0, len(ids), 10_000):
            chunk = ids[start:start + 10_000].tolist()
            rows = self.db.execute(f"SELECT vector FROM vectors WHERE passage_id IN ({','.join('?' * len(chunk))}) "
                                   "ORDER BY passage_id", chunk)
            found += [row[0] for row in rows]
        return np.frombuffer(b"".join(found), dtype=np.float16).astype(np.float32).reshape(len(found), self.dim)

    def _rebuild(self) -> VectorIndex:
        rows = self.db.execute("SELECT passage_id, vector FROM vectors ORDER BY passage_id").fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).astype(np.float32)
        return VectorIndex.build(self.dim, ids, matrix.reshape(len(rows), self.dim), self.config.switch_size,
                                 self.config.nprobe)

    def _save(self, vectors: VectorIndex, generation: int) -> None:
        """Write the index, which agrees with SQLite as it was at ``generation``."""
        if not vectors.approximate and vectors.count >= self.config.switch_size:
            vectors = self._rebuild()  # once, when the store outgrows exact search
        vectors.save(self.path, {"generation": generation, "model": self.model})
        self._vectors, self._loaded_stamp = vectors, {"generation": generation}


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of unit vectors → (float32 scale per row, int8 rows)."""
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12).astype(np.float32) / 127 if len(vectors) else \
        np.zeros(0, dtype=np.float32)
    return scales, np.round(vectors / scales[:, None]).astype(np.int8) if len(vectors) else np.zeros((0,), np.int8)


def dequantise(scales: bytes, vectors: bytes, dim: int) -> np.ndarray:
    scale = np.frombuffer(scales, dtype=np.float32)
    return np.frombuffer(vectors, dtype=np.int8).reshape(len(scale), dim).astype(np.float32) * scale[:, None]

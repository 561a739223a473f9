"""The index of a knowledge base as a search reads it: its model, the query embedder, the settings, and the
FAISS file, a cache of the ``vectors`` table.

SQLite is the truth (tables.py). Whenever the FAISS file is loaded, its ids are checked against
SQLite's (through the checksum in its stamp); a difference, however it came about (a crash between
the two writes, an episode removed by another process), is made good from SQLite's float16 vectors,
and a damaged file is rebuilt from them. Nothing is re-embedded for either. Keeping the index in step
with the episodes (sync, reindex, remove) is sync.py's.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..ingest import Library

from . import conversation, meta, tables
from .chapters import fill_times
from .config import Config
from .embed import Embedder, default_model, load_for_queries
from .embed import load as load_embedder
from .lock import IndexLock
from .schema import migration
from .vectors import UPGRADED, VectorIndex, ids_digest

FAISS_NAME = "passages.faiss"


class ModelMismatch(Exception):
    pass


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
        self._given = embedder is not None
        self._query_embedder = None
        self._load = load or load_embedder
        self.model = embedder.name if embedder else default_model(model, self.meta("model"))
        self.config = Config.from_json(self.meta("config"), model=self.model)
        if check_model:
            self._check_model()
        self._vectors: VectorIndex | None = None
        self._loaded_stamp: dict = {}
        self.lock = IndexLock(library.dir)   # the one indexer (sync.py takes it)
        self.notices: list[str] = []  # what was repaired on the way (a damaged file rebuilt, ...), for the user

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

    # Model and settings

    def meta(self, key: str) -> str | None:
        return meta.get(self.db, key)

    def configure(self, config: Config) -> None:
        """Save new settings with the knowledge base (the model is changed by a reindex, not here)."""
        if config.model != self.model:
            raise ValueError(f"the model is changed by reindexing: podkb reindex --model {config.model}")
        previous, self.config = self.config, config
        try:
            with self.library.transaction():
                meta.put(self.db, "config", config.to_json())
                self.bump()  # the FAISS index is reloaded with the new nprobe
        except BaseException:
            self.config = previous
            raise

    def _check_model(self) -> None:
        stored = self.meta("model")
        if tables.has_vectors(self.db) and stored != self.model:
            raise ModelMismatch(
                f"this knowledge base was indexed with {stored}, not {self.model}; "
                f"run 'podkb reindex --model {self.model}' to re-embed it with {self.model}, "
                f"or leave out --model to use {stored}"
            )

    def stored_model(self) -> str | None:
        """The model the live vectors were made with (another process may have reindexed since this opened)."""
        return self.meta("model") if tables.has_vectors(self.db) else None

    def follow_stored_model(self) -> None:
        """Under the index lock: index with the model the store now holds, should another process have
        reindexed with another one since this index was opened (never mix two models' vectors)."""
        stored = self.stored_model()
        if stored is None or stored == self.model:
            return
        if self._given:  # an embedder handed in (a test's, a cluster's) can't become another model
            raise ModelMismatch(f"this knowledge base was reindexed with {stored} while this process held "
                                f"{self.model}; run the command again")
        self.model, self._embedder, self._query_embedder = stored, None, None
        self.config = Config.from_json(self.meta("config"), model=stored)

    @property
    def generation(self) -> int:
        return meta.generation(self.db)

    def bump(self) -> None:
        """Count a change searches must notice (and, once the model is loaded, record it with its settings)."""
        meta.put(self.db, "generation", self.generation + 1)
        if self._embedder is not None:
            meta.put(self.db, "model", self.model)
            meta.put(self.db, "dim", self.embedder.dim)
            meta.put(self.db, "config", self.config.to_json())

    def pending_reindex(self) -> tuple[str, int] | None:
        """(model, episodes built) of a reindex that was started and not finished (killed), or None."""
        model = self.meta("next_model")
        return None if model is None else (model, tables.indexed(self.db, tables.NEXT))

    # What searches read, kept per generation

    def hosts(self) -> dict[str, frozenset[str]]:
        """Episode id → the hosts who ask the questions in it (conversation.py), as of this generation."""
        generation = self.generation
        if getattr(self, "_hosts", (None, {}))[0] != generation:
            self._hosts = (generation, conversation.hosts(tables.speaker_counts(self.db)))
        return self._hosts[1]

    def passage_count(self) -> int:
        generation = self.generation
        if getattr(self, "_counted", (None, 0))[0] != generation:
            self._counted = (generation, tables.count(self.db))
        return self._counted[1]

    def stale_episodes(self) -> list[str]:
        """Episodes stored but not indexed yet, or changed since."""
        return tables.stale(self.db)

    def sentence_vectors(self, passage_ids: list[int]) -> dict[int, np.ndarray]:
        """The stored sentence vectors of these passages (float32, one row per sentence); absent for
        passages indexed before they were kept."""
        return tables.sentence_vectors(self.db, passage_ids, self.dim)

    def passage_vectors(self, passage_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of those of these passages that have a stored vector, in passage id order: the
        float16 copy in SQLite, exact where an approximate FAISS index holds 8-bit codes."""
        return tables.vectors(self.db, passage_ids, self.dim)

    def stored_sentences(self, episode_id: str) -> tuple[list[tuple[str, float | None, int]], np.ndarray]:
        """An indexed episode's sentences in order, (text, start seconds, segment), with their stored unit
        vectors (one row each)."""
        sentences, blocks = [], []
        for text, first_segment, marks, block in tables.episode_sentences(self.db, episode_id, self.dim):
            bounds = [m[0] for m in marks] + [len(text)]
            sentences += [(text[a:b].strip(), m[1] / 1000 if m[1] is not None else None, first_segment)
                          for a, b, m in zip(bounds, bounds[1:], marks)]
            blocks.append(block)
        if not blocks:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        matrix = np.vstack(blocks)
        return fill_times(sentences), matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)

    # The FAISS side

    def vectors(self) -> VectorIndex:
        """The FAISS index, loaded and checked against SQLite (made to agree, or rebuilt, when it does not).

        What was repaired is saved when the index lock is free; a search never waits for it.
        """
        generation = self.generation
        if self._vectors is not None and self._loaded_stamp.get("generation") == generation:
            return self._vectors
        self.config = Config.from_json(self.meta("config"), model=self.model)  # `podkb config` elsewhere
        stored = tables.vector_ids(self.db)
        loaded = VectorIndex.load(self.path, self.dim, self.config.nprobe)
        if not isinstance(loaded, str) and loaded[1].get("generation", 0) < int(self.meta("vectors_since") or 0):
            loaded = UPGRADED  # written before the last reindex swapped the index: not this index's
        if isinstance(loaded, str):
            if loaded not in ("missing", UPGRADED) or (loaded == "missing" and len(stored)):
                self.notices.append(f"{self.path.name} was {loaded}; rebuilt it from podkb.db")
            vectors, changed = self._rebuild(), True
        else:
            vectors, stamp = loaded
            changed = stamp.get("ids") != ids_digest(stored) and self.reconcile(vectors, stored)
        self._vectors, self._loaded_stamp = vectors, {"generation": generation}
        if changed:
            self._save_if_free(vectors, generation)
        return vectors

    def _save_if_free(self, vectors: VectorIndex, generation: int) -> None:
        if self.lock.held:
            self.save(vectors, generation)
        elif self.lock.acquire(blocking=False):
            try:
                self.save(vectors, generation)
            finally:
                self.lock.release()

    def reconcile(self, vectors: VectorIndex, stored: np.ndarray | None = None) -> bool:
        """Make the index hold exactly SQLite's ids; whether anything changed."""
        stored = tables.vector_ids(self.db) if stored is None else stored
        held = vectors.ids()
        extra, missing = np.setdiff1d(held, stored), np.setdiff1d(stored, held)
        vectors.remove(extra)
        if len(missing):
            vectors.add(missing, self.passage_vectors(missing.tolist())[1])
        return bool(len(extra) or len(missing))

    def _rebuild(self) -> VectorIndex:
        ids, matrix = tables.every_vector(self.db, self.dim)
        return VectorIndex.build(self.dim, ids, matrix, self.config.switch_size, self.config.nprobe)

    def save(self, vectors: VectorIndex, generation: int) -> None:
        """Write the index, which agrees with SQLite as it was at ``generation``."""
        if not vectors.approximate and vectors.count >= self.config.switch_size:
            vectors = self._rebuild()  # once, when the store outgrows exact search
        vectors.save(self.path, {"generation": generation, "model": self.model})
        self._vectors, self._loaded_stamp = vectors, {"generation": generation}

"""The index of a knowledge base: passages, their vectors and keywords, kept in step with the episodes.

SQLite is the truth. The FAISS file is a cache of the ``vectors`` table. Whenever it is
loaded, its ids are checked against SQLite's (through the checksum in its stamp); a
difference, however it came about (a crash between the two writes, an episode removed by
another process), is made good from SQLite's float16 vectors, and a damaged file is
rebuilt from them. Nothing is re-embedded for either.

Only one process indexes a knowledge base at a time (an OS file lock, lock.py); others wait
for it, while searches go on reading what is committed: a search that finds the lock taken
reads what is there instead of waiting. Episodes are embedded in batches across episodes
(many small episodes cost what their passages cost), and each batch is written in one
transaction, so a kill leaves whole episodes indexed or none.

A reindex (another model, new passage rules) builds the whole index beside the live one, in
the ``next_*`` tables, and swaps it in with one transaction: searches meanwhile read the old
index, whole, and a killed reindex resumes from what it had built.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Generator, Iterator

import numpy as np

from ..ingest import Library
from ..ingest.events import finish
from ..ingest.settings import number
from ..ingest.timecode import milliseconds as _ms

from . import chapters, conversation, keywords, recurring
from . import passages as passage_builder
from .config import Config
from .embed import Embedder, default_model, encode_passages
from .embed import load as load_embedder
from .embed import load_for_queries
from .lock import IndexLock
from .schema import FTS_TRIGGERS, migration
from .vectors import UPGRADED, VectorIndex, ids_digest

FAISS_NAME = "passages.faiss"
# Episodes are gathered until this many passages, then embedded together ($PODKB_BATCH_PASSAGES: fewer
# holds less in memory; 1 embeds one episode at a time).
BATCH_PASSAGES = 256


@dataclass(frozen=True)
class Indexing:
    """An event of ``Index.syncing`` and ``reindexing``: ``done`` of ``total`` episodes are indexed,
    ``passages`` passages so far (yielded as the work starts, with 0, and after each batch)."""

    done: int
    total: int
    passages: int


@dataclass(frozen=True)
class Waiting:
    """An event: another process is indexing the knowledge base in ``path``, and this one waits for it."""

    path: str


class ModelMismatch(Exception):
    pass


@dataclass
class SyncReport:
    episodes: int = 0
    passages: int = 0
    removed: int = 0
    rebuilt: bool = False
    busy: bool = False  # another process was indexing, and this sync did not wait for it


@dataclass(frozen=True)
class Tables:
    """Where an index lives: the live tables, or the next ones a reindex builds."""

    passages: str
    vectors: str
    sentence_vectors: str
    indexed: str


LIVE = Tables("passages", "vectors", "sentence_vectors", "indexed_episodes")
NEXT = Tables("next_passages", "next_vectors", "next_sentence_vectors", "next_indexed")


@dataclass
class _Built:
    """One episode's passages, built and (once its batch is embedded) with their vectors."""

    episode_id: str
    content_hash: str
    passages: list
    vectors: np.ndarray | None = None
    sentence_vectors: list | None = None


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
        self._lock = IndexLock(library.dir)
        self.notices: list[str] = []  # what was repaired on the way (a damaged file rebuilt, ...), for the user

    def _taking_lock(self, wait: bool = True) -> Generator[Waiting, None, bool | None]:
        """Take the knowledge base's index lock (the one indexer), yielding ``Waiting`` first if another
        process holds it: True when taken here (the caller releases it), False when already held, None
        when it is not free and ``wait`` is False."""
        if self._lock.held:
            return False
        if not self._lock.acquire(blocking=False):
            if not wait:
                return None
            if self._lock.contended:
                yield Waiting(str(self.library.dir))
            self._lock.acquire()  # waits; raises StoreError where the lock can't be opened
        return True

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

    def stored_model(self) -> str | None:
        """The model the live vectors were made with (another process may have reindexed since this opened)."""
        return self.meta("model") if self.db.execute("SELECT 1 FROM vectors LIMIT 1").fetchone() else None

    @property
    def generation(self) -> int:
        return int(self.meta("generation") or 0)

    def hosts(self) -> dict[str, frozenset[str]]:
        """Episode id → the hosts who ask the questions in it (conversation.py), as of this generation."""
        generation = self.generation
        if getattr(self, "_hosts", (None, {}))[0] != generation:
            self._hosts = (generation, conversation.hosts(self.db))
        return self._hosts[1]

    def passage_count(self) -> int:
        generation = self.generation
        if getattr(self, "_counted", (None, 0))[0] != generation:
            self._counted = (generation, self.db.execute("SELECT count(*) FROM passages").fetchone()[0])
        return self._counted[1]

    # Keeping in step

    def stale_episodes(self, tables: Tables = LIVE) -> list[str]:
        rows = self.db.execute(
            f"SELECT e.id FROM episodes e LEFT JOIN {tables.indexed} i ON i.episode_id = e.id "
            "WHERE i.content_hash IS NULL OR i.content_hash != e.content_hash ORDER BY e.added_at, e.rowid"
        )
        return [row[0] for row in rows]

    def syncing(self, wait: bool = True) -> Generator[Indexing | Waiting, None, SyncReport]:
        """Index episodes that are new or changed, lazily: ``Indexing`` events as it goes (``Waiting``
        first if another process is indexing this knowledge base and we wait for it), then the report.
        Cheap when nothing changed: no model, no FAISS. With ``wait=False`` nothing waits: if another
        process is indexing, the report says ``busy`` and nothing is done."""
        report = SyncReport()
        if not self.stale_episodes():
            return report
        owned = yield from self._taking_lock(wait)
        if owned is None:
            report.busy = True
            return report
        try:
            self._follow_stored_model()
            vectors = self.vectors()
            stale = self.stale_episodes()  # again: whoever held the lock may have done them
            done = 0
            yield Indexing(0, len(stale), 0)
            for batch in self._batches(stale):
                self._embed(batch)
                written, removed, ids, embedded = self._write(batch, LIVE)
                vectors.remove(removed)
                vectors.add(ids, embedded)
                report.episodes += written
                report.passages += len(ids)
                report.removed += len(removed)
                done += len(batch)
                yield Indexing(done, len(stale), report.passages)
            if report.episodes:
                generation = self.generation
                self._reconcile(vectors)  # a removal that did not wait for the lock
                self._save(vectors, generation)
        finally:
            if owned:
                self._lock.release()
        return report

    def sync(self, wait: bool = True) -> SyncReport:
        """``syncing`` driven to its end: the report."""
        return finish(self.syncing(wait))

    def _follow_stored_model(self) -> None:
        """Under the lock: index with the model the store now holds, should another process have
        reindexed with another one since this index was opened (never mix two models' vectors)."""
        stored = self.stored_model()
        if stored is None or stored == self.model:
            return
        if self._given:  # an embedder handed in (a test's, a cluster's) can't become another model
            raise ModelMismatch(f"this knowledge base was reindexed with {stored} while this process held "
                                f"{self.model}; run the command again")
        self.model, self._embedder, self._query_embedder = stored, None, None
        self.config = Config.from_json(self.meta("config"), model=stored)

    def _batches(self, episode_ids: list[str]) -> Iterator[list[_Built]]:
        """The episodes' passages, built and gathered into batches of about BATCH_PASSAGES."""
        batch, size, limit = [], 0, number("batch_passages", BATCH_PASSAGES)
        for episode_id in episode_ids:
            row = self.db.execute("SELECT content_hash FROM episodes WHERE id = ?", (episode_id,)).fetchone()
            if row is None:
                batch.append(_Built(episode_id, "", []))  # removed meanwhile: counted, not written
                continue
            built = [p for p in passage_builder.build(episode_id, self.library.segments(episode_id))
                     if p.words >= passage_builder.INDEX_MIN_WORDS]
            batch.append(_Built(episode_id, row[0], built))
            size += len(built)
            if size >= limit:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _embed(self, batch: list[_Built]) -> None:
        passages = [p for b in batch for p in b.passages]
        embedded, sentences = encode_passages(self.embedder, [p.text for p in passages], [p.spans for p in passages])
        at = 0
        for b in batch:
            b.vectors, b.sentence_vectors = embedded[at:at + len(b.passages)], sentences[at:at + len(b.passages)]
            at += len(b.passages)

    def _write(self, batch: list[_Built], tables: Tables) -> tuple[int, list[int], np.ndarray, np.ndarray]:
        """Store a batch in one transaction: (episodes written, ids removed, ids added, their vectors). An
        episode removed or replaced while it was embedded is skipped: the next sync sees it as it is; one
        whose speakers were renamed meanwhile is written with their names as they are now."""
        written, removed, ids, vectors, texts = 0, [], [], [], []
        with self.library.transaction():
            for b in batch:
                row = self.db.execute("SELECT content_hash FROM episodes WHERE id = ?", (b.episode_id,)).fetchone()
                if row is None or row[0] != b.content_hash:
                    continue
                # A speaker renamed while this batch was embedded: the segments say who speaks now.
                speakers = dict(self.db.execute("SELECT idx, speaker FROM segments WHERE episode_id = ?",
                                                (b.episode_id,)).fetchall())
                for p in b.passages:
                    p.speaker = speakers.get(p.first_segment, p.speaker)
                removed += self._forget_passages(b.episode_id, tables)
                for p, v, sv in zip(b.passages, b.vectors, b.sentence_vectors):
                    ids.append(self._insert(p, v, sv, tables))
                    vectors.append(v)
                texts += [p.text for p in b.passages]
                conversation.write_counts(self.db, b.episode_id, b.passages)  # these three are the same for
                recurring.write(self.db, b.episode_id, [p.text for p in b.passages])  # either tables
                self._write_chapters(b)
                self.db.execute(f"INSERT OR REPLACE INTO {tables.indexed} (episode_id, content_hash) VALUES (?, ?)",
                                (b.episode_id, b.content_hash))
                written += 1
            if tables is LIVE:
                keywords.count_terms(self.db, texts)  # once a batch: it tokenises through an FTS5 table
                self._bump()
        matrix = np.vstack(vectors) if vectors else np.zeros((0, self.embedder.dim), dtype=np.float32)
        return written, removed, np.array(ids, dtype=np.int64), matrix

    def _write_chapters(self, built: _Built) -> None:
        """The episode's chapters, found from the sentence vectors just made (chapters.py)."""
        sentences, rows = [], []
        for p, vectors in zip(built.passages, built.sentence_vectors):
            if len(vectors) != len(p.sentences):
                continue
            for (a, b), sentence in zip(p.spans, p.sentences):
                sentences.append((p.text[a:b].strip(), sentence.start, p.first_segment))
            rows.append(vectors)
        if not rows:
            return
        found = chapters.find(chapters.fill_times(sentences), np.vstack(rows))
        self.library.set_chapters(built.episode_id, [(c.start, c.title, c.paragraph) for c in found], "found")

    def stored_sentences(self, episode_id: str) -> tuple[list[tuple[str, float | None, int]], np.ndarray]:
        """An indexed episode's sentences in order, (text, start seconds, segment), with their stored unit
        vectors (one row each)."""
        rows = self.db.execute("SELECT p.text, p.first_segment, p.sentences, s.scales, s.vectors FROM passages p "
                               "JOIN sentence_vectors s ON s.passage_id = p.id WHERE p.episode_id = ? ORDER BY p.idx",
                               (episode_id,)).fetchall()
        sentences, blocks = [], []
        for text, first_segment, marks, scales, vectors in rows:
            marks = json.loads(marks)
            block = dequantise(scales, vectors, self.dim)
            if len(block) != len(marks):
                continue
            bounds = [m[0] for m in marks] + [len(text)]
            sentences += [(text[a:b].strip(), m[1] / 1000 if m[1] is not None else None, first_segment)
                          for a, b, m in zip(bounds, bounds[1:], marks)]
            blocks.append(block)
        if not blocks:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        matrix = np.vstack(blocks)
        return chapters.fill_times(sentences), matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)

    def find_chapters(self, episode_id: str) -> int:
        """Find an indexed episode's chapters again from its stored sentence vectors (for episodes indexed
        before chapters were found); returns how many. Nothing is embedded."""
        sentences, matrix = self.stored_sentences(episode_id)
        if not sentences:
            return 0
        found = chapters.find(sentences, matrix)
        with self.library.transaction():
            self.library.set_chapters(episode_id, [(c.start, c.title, c.paragraph) for c in found], "found")
        return len(found)

    def _forget_passages(self, episode_id: str, tables: Tables = LIVE) -> list[int]:
        """Delete an episode's passages (and their keyword counts); return their ids."""
        rows = self.db.execute(f"SELECT id, text FROM {tables.passages} WHERE episode_id = ?",
                               (episode_id,)).fetchall()
        if tables is LIVE:
            keywords.count_terms(self.db, [text for _, text in rows], sign=-1)
        self.db.execute(f"DELETE FROM {tables.passages} WHERE episode_id = ?", (episode_id,))
        return [passage_id for passage_id, _ in rows]

    def _insert(self, p: passage_builder.Passage, vector: np.ndarray, sentence_vectors: np.ndarray,
                tables: Tables = LIVE) -> int:
        sentences = json.dumps([[s.at, _ms(s.start), s.offset] for s in p.sentences])
        cursor = self.db.execute(
            f"INSERT INTO {tables.passages} (episode_id, idx, text, start_ms, end_ms, speaker, turn, first_segment, "
            "last_segment, sentences) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (p.episode_id, p.idx, p.text, _ms(p.start), _ms(p.end), p.speaker, p.turn,
             p.first_segment, p.last_segment, sentences),
        )
        self.db.execute(f"INSERT INTO {tables.vectors} (passage_id, vector) VALUES (?, ?)",
                        (cursor.lastrowid, vector.astype(np.float16).tobytes()))
        scales, quantised = quantise(sentence_vectors)
        self.db.execute(f"INSERT INTO {tables.sentence_vectors} (passage_id, scales, vectors) VALUES (?, ?, ?)",
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

    def rename_speaker(self, old: str, new: str, episodes: list[str]) -> int:
        """Follow a speaker's new name in these episodes' passages (live and being rebuilt) and counts;
        nothing is embedded again (a passage's vector is of its words, not its speaker). Passages renamed."""
        marks = ",".join("?" * len(episodes))
        changed = 0
        for table in (LIVE.passages, NEXT.passages):
            changed += self.db.execute(f"UPDATE {table} SET speaker = ? WHERE speaker = ? AND episode_id IN ({marks})",
                                       (new, old, *episodes)).rowcount
        for episode_id in episodes:
            rows = dict((name, counts) for name, *counts in self.db.execute(
                "SELECT speaker, words, turns, questions, first, hosting, guesting FROM speaker_stats "
                "WHERE episode_id = ? AND speaker IN (?, ?)", (episode_id, old, new)))
            if old not in rows:
                continue
            merged = [a + b for a, b in zip(rows[old], rows.get(new, [0] * 6))]
            merged[3] = min(rows[old][3], rows.get(new, rows[old])[3])  # the turn they first spoke in
            self.db.execute("DELETE FROM speaker_stats WHERE episode_id = ? AND speaker IN (?, ?)", (episode_id, old, new))
            self.db.execute("INSERT INTO speaker_stats (episode_id, speaker, words, turns, questions, first, hosting, "
                            "guesting) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (episode_id, new, *merged))
        self._bump()
        return changed

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

    # Reindexing, beside the live index

    def pending_reindex(self) -> tuple[str, int] | None:
        """(model, episodes built) of a reindex that was started and not finished (killed), or None."""
        model = self.meta("next_model")
        if model is None:
            return None
        return model, self.db.execute("SELECT count(*) FROM next_indexed").fetchone()[0]

    def reindexing(self) -> Generator[Indexing | Waiting, None, SyncReport]:
        """Rebuild every passage and vector (after changing the model or the passage rules), lazily:
        events as ``syncing``'s, then the report.

        The new index is built beside the live one and swapped in with one transaction, so searches
        meanwhile read the old one, whole. A reindex killed midway resumes here, with the same model,
        from what it had built. The model loads first: one that can't be loaded changes nothing.
        """
        self.embedder  # noqa: B018 - loads it, or raises RuntimeError, before anything is written
        report = SyncReport(rebuilt=True)
        owned = yield from self._taking_lock()
        try:
            building = self._begin_next()
            todo, done, passages = self.stale_episodes(NEXT), 0, 0
            yield Indexing(0, len(todo), 0)
            for batch in self._batches(todo):
                self._embed(batch)
                _, _, ids, embedded = self._write(batch, NEXT)
                building.add(ids, embedded)
                done, passages = done + len(batch), passages + len(ids)
                yield Indexing(done, len(todo), passages)
            report.passages = self._swap(building)
            report.episodes = self.db.execute("SELECT count(*) FROM indexed_episodes").fetchone()[0]
            more = self.sync()  # episodes added while the swap was being prepared
            report.episodes += more.episodes
            report.passages += more.passages
        finally:
            if owned:
                self._lock.release()
        return report

    def reindex(self) -> SyncReport:
        """``reindexing`` driven to its end: the report."""
        return finish(self.reindexing())

    def _begin_next(self) -> VectorIndex:
        """Start (or resume, with the same model) building the next index; its vectors so far, in FAISS."""
        with self.library.transaction():
            if self.meta("next_model") != self.model:
                for table in (NEXT.sentence_vectors, NEXT.vectors, NEXT.passages, NEXT.indexed):
                    self.db.execute(f"DELETE FROM {table}")
                # The next ids continue past every live one, so no id ever names two passages.
                self.db.execute("DELETE FROM sqlite_sequence WHERE name = ?", (NEXT.passages,))
                self.db.execute("INSERT INTO sqlite_sequence (name, seq) SELECT ?, coalesce(max(seq), 0) "
                                "FROM sqlite_sequence WHERE name = ?", (NEXT.passages, LIVE.passages))
                self._set_meta("next_model", self.model)
        building = VectorIndex(self.embedder.dim, nprobe=self.config.nprobe)
        rows = self.db.execute(f"SELECT passage_id, vector FROM {NEXT.vectors} ORDER BY passage_id").fetchall()
        if rows:
            building.add(*_decoded(rows, self.embedder.dim))
        return building

    def _swap(self, building: VectorIndex) -> int:
        """Make the next index the live one, in one transaction; its passages."""
        db = self.db
        with self.library.transaction():
            # An episode replaced since it was built is dropped from the swap: the next sync indexes it.
            changed = ("SELECT n.episode_id FROM next_indexed n JOIN episodes e ON e.id = n.episode_id "
                       "WHERE e.content_hash != n.content_hash")
            dropped = [row[0] for row in db.execute(f"SELECT id FROM {NEXT.passages} WHERE episode_id IN ({changed})")]
            db.execute(f"DELETE FROM {NEXT.passages} WHERE episode_id IN ({changed})")
            db.execute(f"DELETE FROM {NEXT.indexed} WHERE episode_id IN ({changed})")
            db.execute("DROP TRIGGER passages_ai")
            db.execute("DROP TRIGGER passages_ad")
            for table in (LIVE.sentence_vectors, LIVE.vectors, LIVE.passages, LIVE.indexed):
                db.execute(f"DELETE FROM {table}")
            columns = "id, episode_id, idx, text, start_ms, end_ms, speaker, turn, first_segment, last_segment, " \
                      "sentences"
            db.execute(f"INSERT INTO passages ({columns}) SELECT {columns} FROM {NEXT.passages}")
            db.execute("INSERT INTO vectors SELECT * FROM next_vectors")
            db.execute("INSERT INTO sentence_vectors SELECT * FROM next_sentence_vectors")
            db.execute("INSERT INTO indexed_episodes SELECT * FROM next_indexed")
            db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')")
            for trigger in FTS_TRIGGERS:
                db.execute(trigger)
            db.execute("DELETE FROM term_df")
            db.execute("INSERT INTO term_df (stem, df) SELECT term, doc FROM passages_vocab")
            for table in (NEXT.sentence_vectors, NEXT.vectors, NEXT.passages, NEXT.indexed):
                db.execute(f"DELETE FROM {table}")
            db.execute("DELETE FROM index_meta WHERE key = 'next_model'")
            self._bump()
            self._set_meta("vectors_since", self.generation)  # a FAISS file from before this is not ours
            count = db.execute("SELECT count(*) FROM passages").fetchone()[0]
        building.remove(dropped)
        self._save(building, self.generation)
        return count

    # The FAISS side

    def vectors(self) -> VectorIndex:
        """The FAISS index, loaded and checked against SQLite (made to agree, or rebuilt, when it does not).

        What was repaired is saved when the index lock is free; a search never waits for it.
        """
        generation = self.generation
        if self._vectors is not None and self._loaded_stamp.get("generation") == generation:
            return self._vectors
        self.config = Config.from_json(self.meta("config"), model=self.model)  # `podkb config` elsewhere
        stored = self._stored_ids()
        loaded = VectorIndex.load(self.path, self.dim, self.config.nprobe)
        if not isinstance(loaded, str) and loaded[1].get("generation", 0) < int(self.meta("vectors_since") or 0):
            loaded = UPGRADED  # written before the last reindex swapped the index: not this index's
        if isinstance(loaded, str):
            if loaded not in ("missing", UPGRADED) or (loaded == "missing" and len(stored)):
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
            vectors.add(missing, self.passage_vectors(missing.tolist())[1])
        return bool(len(extra) or len(missing))

    def passage_vectors(self, passage_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of those of these passages that have a stored vector, in passage id order: the
        float16 copy in SQLite, exact where an approximate FAISS index holds 8-bit codes."""
        rows = []
        for start in range(0, len(passage_ids), 10_000):
            chunk = list(passage_ids[start:start + 10_000])
            rows += self.db.execute(f"SELECT passage_id, vector FROM vectors WHERE passage_id IN "
                                    f"({','.join('?' * len(chunk))}) ORDER BY passage_id", chunk).fetchall()
        return _decoded(rows, self.dim)

    def _rebuild(self) -> VectorIndex:
        rows = self.db.execute("SELECT passage_id, vector FROM vectors ORDER BY passage_id").fetchall()
        return VectorIndex.build(self.dim, *_decoded(rows, self.dim), self.config.switch_size, self.config.nprobe)

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


def _decoded(rows, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of (passage_id, float16 vector blob) as (ids, float32 matrix)."""
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float16).astype(np.float32)
    return ids, matrix.reshape(len(rows), dim)


def dequantise(scales: bytes, vectors: bytes, dim: int) -> np.ndarray:
    scale = np.frombuffer(scales, dtype=np.float32)
    return np.frombuffer(vectors, dtype=np.int8).reshape(len(scale), dim).astype(np.float32) * scale[:, None]

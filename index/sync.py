"""Keeping the index in step with the episodes: what is new or changed is indexed (``syncing``), the whole
index rebuilt (``reindexing``), an episode forgotten (``remove``), a speaker's new name followed.

Only one process indexes a knowledge base at a time (an OS file lock, lock.py); others wait for it,
while searches go on reading what is committed: a search that finds the lock taken reads what is
there instead of waiting. Episodes are embedded in batches across episodes (many small episodes cost
what their passages cost), and each batch is written in one transaction, so a kill leaves whole
episodes indexed or none.

A reindex (another model, new passage rules) builds the whole index beside the live one, in the
``next_*`` tables, and swaps it in with one transaction: searches meanwhile read the old index, whole,
and a killed reindex resumes from what it had built.

Both jobs are lazy generators of events (``Indexing``, ``Waiting``) that end with ``Done`` and its
``SyncReport`` (ingest/events.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..ingest.events import Done, Indexing, SyncReport, Waiting
from ..ingest.events import done as done_of
from ..ingest.settings import number

from . import chapters, conversation, meta, recurring, tables
from . import passages as passage_builder
from .embed import encode_passages
from .schema import FTS_TRIGGERS
from .store import Index
from .tables import LIVE, NEXT, Names
from .vectors import VectorIndex

# Episodes are gathered until this many passages, then embedded together ($PODKB_BATCH_PASSAGES: fewer
# holds less in memory; 1 embeds one episode at a time).
BATCH_PASSAGES = 256
EMBED_CHUNK = 128  # passages embedded between two progress events


@dataclass
class _Built:
    """One episode's passages, built and (once its batch is embedded) with their vectors."""

    episode_id: str
    content_hash: str
    passages: list
    vectors: np.ndarray | None = None
    sentence_vectors: list | None = None


def syncing(index: Index, wait: bool = True) -> Iterator[Indexing | Waiting | Done]:
    """Index episodes that are new or changed, lazily: ``Indexing`` events as it goes (``Waiting`` first
    if another process is indexing this knowledge base and we wait for it), then ``Done``. Cheap when
    nothing changed: no model, no FAISS. With ``wait=False`` nothing waits: if another process is
    indexing, the report says ``busy`` and nothing is done."""
    report = SyncReport()
    if tables.stale(index.db):
        owned = yield from _taking_lock(index, wait)
        if owned is None:
            report.busy = True
        else:
            try:
                yield from _index_stale(index, report)
            finally:
                if owned:
                    index.lock.release()
    yield Done(report=report)


def sync(index: Index, wait: bool = True) -> SyncReport:
    """``syncing`` driven to its end: the report."""
    return done_of(syncing(index, wait)).report


def reindexing(index: Index) -> Iterator[Indexing | Waiting | Done]:
    """Rebuild every passage and vector (after changing the model or the passage rules), lazily: events
    as ``syncing``'s, then ``Done``.

    The new index is built beside the live one and swapped in with one transaction, so searches meanwhile
    read the old one, whole. A reindex killed midway resumes here, with the same model, from what it had
    built. The model loads first: one that can't be loaded changes nothing.
    """
    index.embedder  # noqa: B018 - loads it, or raises RuntimeError, before anything is written
    report = SyncReport(rebuilt=True)
    owned = yield from _taking_lock(index)
    try:
        building = _begin_next(index)
        todo, done, passages = tables.stale(index.db, NEXT), 0, 0
        yield Indexing(0, len(todo), 0)
        for batch in _batches(index, todo):
            for embedded in _embed(index, batch):
                yield Indexing(done, len(todo), passages + embedded)
            _, _, ids, embedded = _write(index, batch, NEXT)
            building.add(ids, embedded)
            done, passages = done + len(batch), passages + len(ids)
            yield Indexing(done, len(todo), passages)
        report.passages = _swap(index, building)
        report.episodes = tables.indexed(index.db)
        more = sync(index)  # episodes added while the swap was being prepared
        report.episodes += more.episodes
        report.passages += more.passages
    finally:
        if owned:
            index.lock.release()
    yield Done(report=report)


def reindex(index: Index) -> SyncReport:
    """``reindexing`` driven to its end: the report."""
    return done_of(reindexing(index)).report


def remove(index: Index, episode_id: str) -> int:
    """Remove an episode from the library and its passages from the index; how many passages.

    SQLite is changed at once, even while another process indexes; the FAISS file follows now if the
    lock is free, else whoever holds it (or the next search) makes it agree.
    """
    def forget():
        ids = tables.forget(index.db, episode_id)
        index.bump()
        return ids

    ids = index.library.remove(episode_id, also=forget)
    if meta.get(index.db, "dim") is not None:  # never indexed: no FAISS file to bring in step, no model to load
        index.vectors()
    return len(ids)


def rename_speaker(index: Index, old: str, new: str, episodes: list[str]) -> int:
    """Follow a speaker's new name in these episodes' passages (live and being rebuilt) and counts; nothing
    is embedded again (a passage's vector is of its words, not its speaker). Passages renamed."""
    changed = tables.rename_speaker(index.db, old, new, episodes)
    index.bump()
    return changed


# Inside

def _index_stale(index: Index, report: SyncReport) -> Iterator[Indexing]:
    """Under the lock: index what is stale now, batch by batch, counting it into ``report``."""
    index.follow_stored_model()
    vectors = index.vectors()
    stale = tables.stale(index.db)  # again: whoever held the lock may have done them
    done = 0
    yield Indexing(0, len(stale), 0)
    for batch in _batches(index, stale):
        for embedded in _embed(index, batch):
            yield Indexing(done, len(stale), report.passages + embedded)
        written, removed, ids, embedded = _write(index, batch, LIVE)
        vectors.remove(removed)
        vectors.add(ids, embedded)
        report.episodes += written
        report.passages += len(ids)
        report.removed += len(removed)
        done += len(batch)
        yield Indexing(done, len(stale), report.passages)
    if report.episodes:
        with index.library.transaction():
            tables.tidy_keywords(index.db)
        generation = index.generation
        index.reconcile(vectors)  # a removal that did not wait for the lock
        index.save(vectors, generation)


def _taking_lock(index: Index, wait: bool = True) -> Iterator[Waiting]:
    """Take the knowledge base's index lock (the one indexer), yielding ``Waiting`` first if another process
    holds it: True when taken here (the caller releases it), False when already held, None when it is not
    free and ``wait`` is False."""
    lock = index.lock
    if lock.held:
        return False
    if not lock.acquire(blocking=False):
        if not wait:
            return None
        if lock.contended:
            yield Waiting(str(index.library.dir))
        lock.acquire()  # waits; raises StoreError where the lock can't be opened
    return True


def _batches(index: Index, episode_ids: list[str]) -> Iterator[list[_Built]]:
    """The episodes' passages, built and gathered into batches of about BATCH_PASSAGES."""
    batch, size, limit = [], 0, number("batch_passages", BATCH_PASSAGES)
    for episode_id in episode_ids:
        content_hash = index.library.content_hash(episode_id)
        if content_hash is None:
            batch.append(_Built(episode_id, "", []))  # removed meanwhile: counted, not written
            continue
        built = [p for p in passage_builder.build(episode_id, index.library.segments(episode_id))
                 if p.words >= passage_builder.INDEX_MIN_WORDS]
        batch.append(_Built(episode_id, content_hash, built))
        size += len(built)
        if size >= limit:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _embed(index: Index, batch: list[_Built]) -> Iterator[int]:
    """Embed a batch's passages, EMBED_CHUNK at a time, yielding how many are embedded so far after each
    chunk: a long first episode shows it is moving (a piped log too), not a minute of silence."""
    passages = [p for b in batch for p in b.passages]
    vectors, sentences = [], []
    for at in range(0, len(passages), EMBED_CHUNK):
        chunk = passages[at:at + EMBED_CHUNK]
        embedded, found = encode_passages(index.embedder, [p.text for p in chunk], [p.spans for p in chunk])
        vectors.append(embedded)
        sentences += found
        yield at + len(chunk)
    every = np.concatenate(vectors) if vectors else None
    at = 0
    for b in batch:
        n = len(b.passages)
        b.vectors = every[at:at + n] if n else np.zeros((0, index.embedder.dim), dtype=np.float32)
        b.sentence_vectors = sentences[at:at + n]
        at += n


def _write(index: Index, batch: list[_Built], names: Names) -> tuple[int, list[int], np.ndarray, np.ndarray]:
    """Store a batch in one transaction: (episodes written, ids removed, ids added, their vectors). An
    episode removed or replaced while it was embedded is skipped: the next sync sees it as it is; one
    whose speakers were renamed meanwhile is written with their names as they are now."""
    db, library = index.db, index.library
    written, removed, ids, vectors, texts = 0, [], [], [], []
    with library.transaction():
        for b in batch:
            if library.content_hash(b.episode_id) != b.content_hash:
                continue
            # A speaker renamed while this batch was embedded: the segments say who speaks now.
            speakers = library.segment_speakers(b.episode_id)
            for p in b.passages:
                p.speaker = speakers.get(p.first_segment, p.speaker)
            removed += tables.forget(db, b.episode_id, names)
            for p, v, sv in zip(b.passages, b.vectors, b.sentence_vectors):
                ids.append(tables.insert(db, p, v, sv, names))
                vectors.append(v)
            texts += [p.text for p in b.passages]
            # These three are the same for either index, live or next.
            tables.write_speakers(db, b.episode_id, conversation.counts(b.passages))
            tables.write_shingles(db, b.episode_id, recurring.kept([p.text for p in b.passages]))
            _write_chapters(index, b)
            tables.mark_indexed(db, b.episode_id, b.content_hash, names)
            written += 1
        if names is LIVE:
            tables.count_terms(db, texts)  # once a batch: it tokenises through an FTS5 table
            index.bump()
    matrix = np.vstack(vectors) if vectors else np.zeros((0, index.embedder.dim), dtype=np.float32)
    return written, removed, np.array(ids, dtype=np.int64), matrix


def _write_chapters(index: Index, built: _Built) -> None:
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
    index.library.set_chapters(built.episode_id, chapters.stored(chapters.fill_times(sentences), np.vstack(rows)),
                               "found")


def _begin_next(index: Index) -> VectorIndex:
    """Start (or resume, with the same model) building the next index; its vectors so far, in FAISS."""
    with index.library.transaction():
        if meta.get(index.db, "next_model") != index.model:
            tables.begin_next(index.db)
            meta.put(index.db, "next_model", index.model)
    building = VectorIndex(index.embedder.dim, nprobe=index.config.nprobe)
    ids, matrix = tables.every_vector(index.db, index.embedder.dim, NEXT)
    if len(ids):
        building.add(ids, matrix)
    return building


def _swap(index: Index, building: VectorIndex) -> int:
    """Make the next index the live one, in one transaction; its passages."""
    with index.library.transaction():
        dropped, count = tables.swap(index.db, FTS_TRIGGERS)
        meta.drop(index.db, "next_model")
        index.bump()
        meta.put(index.db, "vectors_since", index.generation)  # a FAISS file from before this is not ours
    building.remove(dropped)
    index.save(building, index.generation)
    return count

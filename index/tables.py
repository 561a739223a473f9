"""The index's tables, and every statement on them.

- ``passages`` (and ``passages_fts``, its FTS5 keyword index, kept by triggers), ``vectors`` (float16, the
  truth the FAISS file is rebuilt from), ``sentence_vectors`` (int8 with a scale per sentence) and
  ``indexed_episodes`` (which version of each episode is indexed);
- their ``next_*`` twins, where a reindex builds beside the live index and swaps in (``NEXT``);
- ``term_df``: in how many passages each keyword stem is, for keyword search;
- ``speaker_stats``: what each speaker of an episode did, from which its hosts are found;
- ``shingles``: a sample of each episode's word shingles, from which recurring talk is found.

Functions take a bare ``sqlite3.Connection`` (a search's or a writer's) and hand back values: passages,
numpy arrays, dicts. Nothing else in podkb writes SQL that names these tables, except their migrations
(schema.py); a new passage column is this module's ``COLUMNS`` and ``_values``, a migration, and the
``Passage`` it fills.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import numpy as np

from ..ingest.timecode import milliseconds as _ms

from . import keywords, recurring
from .passages import Passage, Sentence


@dataclass(frozen=True)
class Names:
    """Where an index lives: the live tables, or the next ones a reindex builds."""

    passages: str
    vectors: str
    sentence_vectors: str
    indexed: str

    @property
    def all(self) -> tuple[str, str, str, str]:
        """Its tables, those that refer to passages first (the order to empty them in)."""
        return self.sentence_vectors, self.vectors, self.passages, self.indexed


LIVE = Names("passages", "vectors", "sentence_vectors", "indexed_episodes")
NEXT = Names("next_passages", "next_vectors", "next_sentence_vectors", "next_indexed")

# A passage's stored columns, in order; its sentences are [character, start ms, source offset] as JSON, its
# prints the kept shingle hashes of its text (recurring.py) as little-endian int64.
COLUMNS = ("episode_id", "idx", "text", "start_ms", "end_ms", "speaker", "turn", "first_segment", "last_segment",
           "sentences", "prints")
_READ = ", ".join(f"p.{name}" for name in ("id", *COLUMNS))


def _values(p: Passage) -> tuple:
    """A passage's values for ``COLUMNS``."""
    sentences = json.dumps([[s.at, _ms(s.start), s.offset] for s in p.sentences])
    prints = np.array(recurring.fingerprints(p.text), dtype="<i8").tobytes()
    return (p.episode_id, p.idx, p.text, _ms(p.start), _ms(p.end), p.speaker, p.turn, p.first_segment,
            p.last_segment, sentences, prints)


def _passage(row) -> Passage:
    passage_id, episode_id, idx, text, start_ms, end_ms, speaker, turn, first, last, marks, prints = row
    return Passage(episode_id, idx, text, _seconds(start_ms), _seconds(end_ms), speaker, turn, first, last,
                   [Sentence(at, _seconds(ms), offset) for at, ms, offset in json.loads(marks)], passage_id,
                   None if prints is None else tuple(np.frombuffer(prints, dtype="<i8").tolist()))


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def _marks(values) -> str:
    return ",".join("?" * len(values))


# Passages, as search reads them

def passages(db: sqlite3.Connection, ids: list[int]) -> dict[int, tuple[Passage, str, str | None, str | None, str | None]]:
    """Passage id → (the passage, its episode's title, show, media and source), for those that exist."""
    rows = db.execute(f"SELECT {_READ}, e.title, e.show, e.media, e.source FROM passages p "
                      f"JOIN episodes e ON e.id = p.episode_id WHERE p.id IN ({_marks(ids)})", ids)
    return {row[0]: (_passage(row[:-4]), *row[-4:]) for row in rows}


def following(db: sqlite3.Connection, episode_id: str, idx: int, limit: int) -> list[Passage]:
    """Up to ``limit`` passages of an episode after its passage number ``idx``, in order."""
    rows = db.execute(f"SELECT {_READ} FROM passages p WHERE p.episode_id = ? AND p.idx > ? ORDER BY p.idx LIMIT ?",
                      (episode_id, idx, limit)).fetchall()
    return [_passage(row) for row in rows]


def episode_end(db: sqlite3.Connection, episode_id: str) -> float | None:
    """When an indexed episode's last passage ends."""
    row = db.execute("SELECT max(end_ms) FROM passages WHERE episode_id = ?", (episode_id,)).fetchone()
    return row[0] / 1000 if row and row[0] is not None else None


def turn_endings(db: sqlite3.Connection, episode_id: str, turns: set[int]) -> dict[int, list[str]]:
    """Turn → the sentences of its last passage (the whole text when none is marked), for these turns."""
    rows = db.execute(f"SELECT turn, text, sentences FROM passages WHERE episode_id = ? AND turn IN "
                      f"({_marks(turns)}) ORDER BY idx", [episode_id, *sorted(turns)]).fetchall()
    last: dict[int, tuple[str, str]] = {}
    for turn, text, marks in rows:
        last[turn] = (text, marks)  # the turn's last passage, as rows come in order
    found = {}
    for turn, (text, marks) in last.items():
        bounds = [m[0] for m in json.loads(marks)] + [len(text)]
        found[turn] = [text[a:b] for a, b in zip(bounds, bounds[1:])] or [text]
    return found


def speakers(db: sqlite3.Connection, ids: list[int]) -> list[tuple[int, str, str | None]]:
    """(passage id, episode id, speaker) of these passages."""
    return db.execute(f"SELECT id, episode_id, speaker FROM passages WHERE id IN ({_marks(ids)})", ids).fetchall()


def sentences_in_order(db: sqlite3.Connection):
    """(episode id, the sentences of a passage) of every passage, the episodes in the order they were added."""
    rows = db.execute("SELECT p.episode_id, p.text, p.sentences FROM passages p JOIN episodes e ON e.id = p.episode_id "
                      "ORDER BY e.added_at, p.idx")
    for episode_id, text, marks in rows:
        bounds = [m[0] for m in json.loads(marks)] + [len(text)]
        yield episode_id, [text[a:b] for a, b in zip(bounds, bounds[1:])]


def count(db: sqlite3.Connection) -> int:
    return db.execute("SELECT count(*) FROM passages").fetchone()[0]


def counts(db: sqlite3.Connection) -> dict[str, int]:
    """Passages indexed per episode id."""
    return dict(db.execute("SELECT episode_id, count(*) FROM passages GROUP BY episode_id"))


# Narrowing and keyword search

def _where(filters) -> tuple[str, list]:
    """A query.Filters as SQL over passages ``p`` and their episodes ``e``."""
    clauses, params = [], []
    if filters.show:
        clauses.append("e.show = ? COLLATE NOCASE")
        params.append(filters.show)
    if filters.episode:
        clauses.append("e.id = ?")
        params.append(filters.episode)
    if filters.speaker:
        clauses.append("p.speaker = ? COLLATE NOCASE")
        params.append(filters.speaker)
    if filters.date_from:
        clauses.append("e.date >= ?")
        params.append(filters.date_from)
    if filters.date_to:
        clauses.append("substr(e.date, 1, ?) <= ?")
        params.extend([len(filters.date_to), filters.date_to])
    return " AND ".join(clauses), params


def allowed(db: sqlite3.Connection, filters) -> np.ndarray:
    """The ids of the passages the filters let through."""
    where, params = _where(filters)
    rows = db.execute(f"SELECT p.id FROM passages p JOIN episodes e ON e.id = p.episode_id WHERE {where}", params)
    return np.array([row[0] for row in rows], dtype=np.int64)


def saying(db: sqlite3.Connection, expression: str) -> np.ndarray:
    """The ids (sorted) of the passages that match an FTS5 expression, such as a phrase query."""
    rows = db.execute("SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?", (expression,))
    return np.array(sorted(row[0] for row in rows), dtype=np.int64)


def bm25(db: sqlite3.Connection, expression: str, filters, pool: int) -> list[tuple[int, float]]:
    """The ``pool`` passages that match ``expression`` best by BM25 (as a score: higher is better)."""
    where, params = _where(filters)
    rows = db.execute(
        "SELECT p.id, -bm25(passages_fts) FROM passages_fts "
        "JOIN passages p ON p.id = passages_fts.rowid JOIN episodes e ON e.id = p.episode_id "
        f"WHERE passages_fts MATCH ? {'AND ' + where if where else ''} ORDER BY bm25(passages_fts) LIMIT ?",
        [expression, *params, pool],
    )
    return [(row[0], row[1]) for row in rows]


OPTIMIZE_MAX = 200_000  # passages up to which an add merges the keyword index whole (0.05 s at 10k)


def tidy_keywords(db: sqlite3.Connection) -> None:
    """Merge the keyword index's segments, several per add, into one: a search then looks each word up once,
    not once a segment (15 segments, 160 lookups a search on Founders Talk before; bench/RESULTS.md, issue
    41). Past OPTIMIZE_MAX passages, where that rewrite takes long, FTS5's own merging is left to do it."""
    if count(db) <= OPTIMIZE_MAX:
        db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('optimize')")


def term_df(db: sqlite3.Connection, stems: list[str]) -> dict[str, int]:
    """In how many passages each of these keyword stems is."""
    return dict(db.execute(f"SELECT stem, df FROM term_df WHERE stem IN ({_marks(stems)})", stems).fetchall())


def count_terms(db: sqlite3.Connection, texts: list[str], sign: int = 1) -> None:
    """Add (or with sign=-1 take away) the passages ``texts`` to the term_df counts."""
    found: dict[str, int] = {}
    for terms in keywords.fts_terms(texts):
        for stem in set(terms):
            found[stem] = found.get(stem, 0) + 1
    db.executemany(
        "INSERT INTO term_df (stem, df) VALUES (?, ?) ON CONFLICT(stem) DO UPDATE SET df = max(0, df + excluded.df)",
        [(stem, sign * n) for stem, n in found.items()],
    )


# Vectors

def has_vectors(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM vectors LIMIT 1").fetchone() is not None


def vector_ids(db: sqlite3.Connection) -> np.ndarray:
    rows = db.execute("SELECT passage_id FROM vectors ORDER BY passage_id").fetchall()
    return np.array([row[0] for row in rows], dtype=np.int64)


def vectors(db: sqlite3.Connection, ids: list[int], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of those of these passages that have a stored vector, in passage id order."""
    rows = []
    for start in range(0, len(ids), 10_000):
        chunk = list(ids[start:start + 10_000])
        rows += db.execute(f"SELECT passage_id, vector FROM vectors WHERE passage_id IN ({_marks(chunk)}) "
                           "ORDER BY passage_id", chunk).fetchall()
    return _decoded(rows, dim)


def every_vector(db: sqlite3.Connection, dim: int, names: Names = LIVE) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of every passage of the live index (or the next one), in passage id order."""
    rows = db.execute(f"SELECT passage_id, vector FROM {names.vectors} ORDER BY passage_id").fetchall()
    return _decoded(rows, dim)


def sentence_vectors(db: sqlite3.Connection, ids: list[int], dim: int) -> dict[int, np.ndarray]:
    """The stored sentence vectors of these passages (float32, one row per sentence); absent for passages
    indexed before they were kept."""
    if not ids:
        return {}
    rows = db.execute(f"SELECT passage_id, scales, vectors FROM sentence_vectors WHERE passage_id IN ({_marks(ids)})",
                      ids).fetchall()
    if not rows:
        return {}
    every = _dequantised(b"".join(row[1] for row in rows), b"".join(row[2] for row in rows), dim)  # one pass
    ends = np.cumsum([len(row[1]) // 4 for row in rows])  # four bytes a scale: one scale a sentence
    return {row[0]: every[end - len(row[1]) // 4:end] for row, end in zip(rows, ends)}


def episode_sentences(db: sqlite3.Connection, episode_id: str, dim: int):
    """(passage text, first segment, its sentences' bounds and start ms, their vectors) of each passage of an
    indexed episode, in order; passages whose stored vectors don't match their sentences are left out."""
    rows = db.execute("SELECT p.text, p.first_segment, p.sentences, s.scales, s.vectors FROM passages p "
                      "JOIN sentence_vectors s ON s.passage_id = p.id WHERE p.episode_id = ? ORDER BY p.idx",
                      (episode_id,)).fetchall()
    for text, first_segment, marks, scales, blob in rows:
        marks = json.loads(marks)
        block = _dequantised(scales, blob, dim)
        if len(block) == len(marks):
            yield text, first_segment, marks, block


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of unit vectors → (float32 scale per row, int8 rows)."""
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12).astype(np.float32) / 127 if len(vectors) else \
        np.zeros(0, dtype=np.float32)
    return scales, np.round(vectors / scales[:, None]).astype(np.int8) if len(vectors) else np.zeros((0,), np.int8)


def _dequantised(scales: bytes, blob: bytes, dim: int) -> np.ndarray:
    scale = np.frombuffer(scales, dtype=np.float32)
    return np.frombuffer(blob, dtype=np.int8).reshape(len(scale), dim).astype(np.float32) * scale[:, None]


def _decoded(rows, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of (passage_id, float16 vector blob) as (ids, float32 matrix)."""
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float16).astype(np.float32)
    return ids, matrix.reshape(len(rows), dim)


# Hosts and recurring talk

def write_speakers(db: sqlite3.Connection, episode_id: str, rows: list[tuple]) -> None:
    """An episode's speaker counts: (speaker, words, turns, questions, first, hosting, guesting) each."""
    db.execute("DELETE FROM speaker_stats WHERE episode_id = ?", (episode_id,))
    db.executemany("INSERT INTO speaker_stats (episode_id, speaker, words, turns, questions, first, hosting, guesting) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [(episode_id, *row) for row in rows])


def speaker_counts(db: sqlite3.Connection) -> list[tuple]:
    """(episode id, show, speaker, words, turns, questions, first, hosting, guesting) of every indexed speaker."""
    return db.execute("SELECT s.episode_id, e.show, s.speaker, s.words, s.turns, s.questions, s.first, s.hosting, "
                      "s.guesting FROM speaker_stats s JOIN episodes e ON e.id = s.episode_id").fetchall()


def write_shingles(db: sqlite3.Connection, episode_id: str, values) -> None:
    db.execute("DELETE FROM shingles WHERE episode_id = ?", (episode_id,))
    db.executemany("INSERT OR IGNORE INTO shingles (hash, episode_id) VALUES (?, ?)",
                   [(value, episode_id) for value in values])


def heard_in(db: sqlite3.Connection, values: list[int]) -> dict[int, set[str]]:
    """Shingle hash → the episodes it is heard in, for these hashes."""
    heard: dict[int, set[str]] = {}
    for start in range(0, len(values), 900):
        chunk = values[start:start + 900]
        for value, episode_id in db.execute(f"SELECT hash, episode_id FROM shingles WHERE hash IN ({_marks(chunk)})",
                                            chunk):
            heard.setdefault(value, set()).add(episode_id)
    return heard


# Keeping in step (sync.py)

def stale(db: sqlite3.Connection, names: Names = LIVE) -> list[str]:
    """Episodes not indexed (in the live or the next index), or indexed as they were before a change."""
    rows = db.execute(
        f"SELECT e.id FROM episodes e LEFT JOIN {names.indexed} i ON i.episode_id = e.id "
        "WHERE i.content_hash IS NULL OR i.content_hash != e.content_hash ORDER BY e.added_at, e.rowid"
    )
    return [row[0] for row in rows]


def indexed(db: sqlite3.Connection, names: Names = LIVE) -> int:
    """How many episodes the live (or the next) index holds."""
    return db.execute(f"SELECT count(*) FROM {names.indexed}").fetchone()[0]


def insert(db: sqlite3.Connection, passage: Passage, vector: np.ndarray, sentence_vectors: np.ndarray,
           names: Names = LIVE) -> int:
    """Store a passage with its vector and its sentences' vectors; its id."""
    cursor = db.execute(f"INSERT INTO {names.passages} ({', '.join(COLUMNS)}) VALUES ({_marks(COLUMNS)})",
                        _values(passage))
    db.execute(f"INSERT INTO {names.vectors} (passage_id, vector) VALUES (?, ?)",
               (cursor.lastrowid, vector.astype(np.float16).tobytes()))
    scales, quantised = quantise(sentence_vectors)
    db.execute(f"INSERT INTO {names.sentence_vectors} (passage_id, scales, vectors) VALUES (?, ?, ?)",
               (cursor.lastrowid, scales.tobytes(), quantised.tobytes()))
    return cursor.lastrowid


def mark_indexed(db: sqlite3.Connection, episode_id: str, content_hash: str, names: Names = LIVE) -> None:
    db.execute(f"INSERT OR REPLACE INTO {names.indexed} (episode_id, content_hash) VALUES (?, ?)",
               (episode_id, content_hash))


def forget(db: sqlite3.Connection, episode_id: str, names: Names = LIVE) -> list[int]:
    """Delete an episode's passages (and, from the live index, their keyword counts); their ids."""
    rows = db.execute(f"SELECT id, text FROM {names.passages} WHERE episode_id = ?", (episode_id,)).fetchall()
    if names is LIVE:
        count_terms(db, [text for _, text in rows], sign=-1)
    db.execute(f"DELETE FROM {names.passages} WHERE episode_id = ?", (episode_id,))
    return [passage_id for passage_id, _ in rows]


def rename_speaker(db: sqlite3.Connection, old: str, new: str, episodes: list[str]) -> int:
    """Call ``old`` ``new`` in these episodes' passages (live and next) and speaker counts, merging the
    counts when ``new`` speaks there already; passages renamed."""
    changed = 0
    for table in (LIVE.passages, NEXT.passages):
        changed += db.execute(f"UPDATE {table} SET speaker = ? WHERE speaker = ? AND episode_id IN ({_marks(episodes)})",
                              (new, old, *episodes)).rowcount
    for episode_id in episodes:
        rows = dict((name, counts) for name, *counts in db.execute(
            "SELECT speaker, words, turns, questions, first, hosting, guesting FROM speaker_stats "
            "WHERE episode_id = ? AND speaker IN (?, ?)", (episode_id, old, new)))
        if old not in rows:
            continue
        merged = [a + b for a, b in zip(rows[old], rows.get(new, [0] * 6))]
        merged[3] = min(rows[old][3], rows.get(new, rows[old])[3])  # the turn they first spoke in
        db.execute("DELETE FROM speaker_stats WHERE episode_id = ? AND speaker IN (?, ?)", (episode_id, old, new))
        db.execute("INSERT INTO speaker_stats (episode_id, speaker, words, turns, questions, first, hosting, "
                   "guesting) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (episode_id, new, *merged))
    return changed


def begin_next(db: sqlite3.Connection) -> None:
    """Empty the next index, its ids to continue past every live one (so no id ever names two passages)."""
    for table in NEXT.all:
        db.execute(f"DELETE FROM {table}")
    db.execute("DELETE FROM sqlite_sequence WHERE name = ?", (NEXT.passages,))
    db.execute("INSERT INTO sqlite_sequence (name, seq) SELECT ?, coalesce(max(seq), 0) "
               "FROM sqlite_sequence WHERE name = ?", (NEXT.passages, LIVE.passages))


def swap(db: sqlite3.Connection, triggers) -> tuple[list[int], int]:
    """Make the next index the live one (in the caller's transaction): (the ids of the passages it dropped,
    the passages live now). An episode replaced since it was built is dropped: the next sync indexes it.
    The keyword index is rebuilt once, with its ``triggers`` (schema.FTS_TRIGGERS) off meanwhile."""
    changed = ("SELECT n.episode_id FROM next_indexed n JOIN episodes e ON e.id = n.episode_id "
               "WHERE e.content_hash != n.content_hash")
    dropped = [row[0] for row in db.execute(f"SELECT id FROM {NEXT.passages} WHERE episode_id IN ({changed})")]
    db.execute(f"DELETE FROM {NEXT.passages} WHERE episode_id IN ({changed})")
    db.execute(f"DELETE FROM {NEXT.indexed} WHERE episode_id IN ({changed})")
    db.execute("DROP TRIGGER passages_ai")
    db.execute("DROP TRIGGER passages_ad")
    for table in LIVE.all:
        db.execute(f"DELETE FROM {table}")
    columns = ", ".join(("id", *COLUMNS))
    db.execute(f"INSERT INTO passages ({columns}) SELECT {columns} FROM {NEXT.passages}")
    db.execute("INSERT INTO vectors SELECT * FROM next_vectors")
    db.execute("INSERT INTO sentence_vectors SELECT * FROM next_sentence_vectors")
    db.execute("INSERT INTO indexed_episodes SELECT * FROM next_indexed")
    db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')")
    for trigger in triggers:
        db.execute(trigger)
    db.execute("DELETE FROM term_df")
    db.execute("INSERT INTO term_df (stem, df) SELECT term, doc FROM passages_vocab")
    for table in NEXT.all:
        db.execute(f"DELETE FROM {table}")
    return dropped, count(db)

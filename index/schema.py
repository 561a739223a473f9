"""The index's tables in the knowledge base's SQLite file, as numbered migrations (tables.py holds every
statement on them after they are made)."""
import json

from ..ingest.migrations import Migrations

from . import tables
from .passages import Passage, Sentence

migration = Migrations("index")


# The passages table, live and next (a reindex builds the next one beside it, m006): one definition.
PASSAGES = """CREATE TABLE {passages} (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            episode_id TEXT NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            text TEXT NOT NULL,
            start_ms INTEGER,
            end_ms INTEGER,
            speaker TEXT,
            turn INTEGER NOT NULL,
            first_segment INTEGER NOT NULL,
            last_segment INTEGER NOT NULL,
            sentences TEXT NOT NULL
        )"""
# float16 vectors: the FAISS file is rebuilt from these, never the other way round.
VECTORS = ("CREATE TABLE {vectors} (passage_id INTEGER PRIMARY KEY REFERENCES {passages}(id) ON DELETE CASCADE, "
           "vector BLOB NOT NULL)")
INDEXED = ("CREATE TABLE {indexed} (episode_id TEXT PRIMARY KEY REFERENCES episodes(id) ON DELETE CASCADE, "
           "content_hash TEXT NOT NULL)")
# Each passage's sentences, embedded at index time, so a search picks the sentence to cite (and the answer
# after a question) without embedding anything but the query. int8 with a float32 scale per sentence:
# cosine against the float vectors stays above 0.999.
SENTENCE_VECTORS = ("CREATE TABLE {sentence_vectors} (passage_id INTEGER PRIMARY KEY REFERENCES {passages}(id) "
                    "ON DELETE CASCADE, scales BLOB NOT NULL, vectors BLOB NOT NULL)")
# The keyword index follows the passages table through these triggers; a reindex's swap drops them,
# moves the rows, rebuilds the FTS5 index once, and puts them back (tables.swap).
FTS_TRIGGERS = (
    "CREATE TRIGGER passages_ai AFTER INSERT ON passages BEGIN "
    "INSERT INTO passages_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER passages_ad AFTER DELETE ON passages BEGIN "
    "INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
)


def _create(db, statement: str, names: tables.Names) -> None:
    db.execute(statement.format(passages=names.passages, vectors=names.vectors, indexed=names.indexed,
                                sentence_vectors=names.sentence_vectors))


@migration
def m001_create_passages(db):
    _create(db, PASSAGES, tables.LIVE)
    db.execute("CREATE INDEX passages_episode ON passages(episode_id, idx)")
    _create(db, VECTORS, tables.LIVE)
    _create(db, INDEXED, tables.LIVE)
    db.execute("CREATE TABLE index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        "CREATE VIRTUAL TABLE passages_fts USING fts5(text, content='passages', content_rowid='id', "
        "tokenize='porter unicode61')"
    )
    for trigger in FTS_TRIGGERS:
        db.execute(trigger)


@migration
def m002_create_vocabulary(db):
    # Per-term document counts, so keyword search can skip words that are everywhere.
    db.execute("CREATE VIRTUAL TABLE passages_vocab USING fts5vocab(passages_fts, row)")


@migration
def m003_create_term_frequencies(db):
    # Document frequency per Porter stem, kept by the index as passages come and go:
    # fts5vocab computes the same by walking the index, ~30 ms a word at 1M passages.
    db.execute("CREATE TABLE term_df (stem TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID")
    db.execute("INSERT INTO term_df (stem, df) SELECT term, doc FROM passages_vocab")


@migration
def m004_create_sentence_vectors(db):
    _create(db, SENTENCE_VECTORS, tables.LIVE)


@migration
def m005_term_frequencies_by_the_index_own_stems(db):
    # term_df was keyed by another Porter stemmer's stems, which disagree with FTS5's on some words;
    # it is now kept by FTS5's own (keywords.fts_terms): recount it once from the index itself.
    db.execute("DELETE FROM term_df")
    db.execute("INSERT INTO term_df (stem, df) SELECT term, doc FROM passages_vocab")


@migration
def m006_create_the_next_index(db):
    # A reindex builds here, beside the live tables, then swaps them in one transaction (sync.py), so
    # searches meanwhile read the whole old index, never a half-deleted one. Ids continue past the live
    # ones, so a passage id never means two passages. A killed reindex resumes from what is here.
    _create(db, PASSAGES, tables.NEXT)
    db.execute("CREATE INDEX next_passages_episode ON next_passages(episode_id, idx)")
    _create(db, VECTORS, tables.NEXT)
    _create(db, SENTENCE_VECTORS, tables.NEXT)
    _create(db, INDEXED, tables.NEXT)


@migration
def m007_create_speaker_stats(db):
    # Words and questions per speaker of each indexed episode: who is the host (conversation.py).
    db.execute(
        "CREATE TABLE speaker_stats (episode_id TEXT NOT NULL REFERENCES episodes(id) ON DELETE CASCADE, "
        "speaker TEXT NOT NULL, words INTEGER NOT NULL, turns INTEGER NOT NULL, questions INTEGER NOT NULL, "
        "first INTEGER NOT NULL, hosting INTEGER NOT NULL, guesting INTEGER NOT NULL, PRIMARY KEY (episode_id, speaker))"
    )
    from .conversation import counts

    episodes: dict[str, list] = {}
    for episode_id, text, speaker, turn, sentences in db.execute(
            "SELECT episode_id, text, speaker, turn, sentences FROM passages ORDER BY episode_id, idx"):
        marks = [Sentence(at, None) for at, *_ in json.loads(sentences)]
        episodes.setdefault(episode_id, []).append(Passage(episode_id, 0, text, None, None, speaker, turn, 0, 0, marks))
    for episode_id, passages in episodes.items():
        tables.write_speakers(db, episode_id, counts(passages))


@migration
def m008_create_shingles(db):
    # A sample of each indexed passage's word shingles, by episode: text a show repeats from episode to
    # episode (sponsor reads, intros) is recognised by it (recurring.py).
    db.execute("CREATE TABLE shingles (hash INTEGER NOT NULL, episode_id TEXT NOT NULL REFERENCES episodes(id) "
               "ON DELETE CASCADE, PRIMARY KEY (hash, episode_id)) WITHOUT ROWID")
    db.execute("CREATE INDEX shingles_episode ON shingles(episode_id)")
    from .recurring import kept

    episodes: dict[str, list[str]] = {}
    for episode_id, text in db.execute("SELECT episode_id, text FROM passages ORDER BY episode_id, idx"):
        episodes.setdefault(episode_id, []).append(text)
    for episode_id, texts in episodes.items():
        tables.write_shingles(db, episode_id, kept(texts))


@migration
def m009_passages_keep_their_prints(db):
    # Each passage's recurring-talk fingerprints (recurring.py), kept with it so a search reads them instead of
    # hashing every 5-word shingle of its candidates. Passages stored before have none (NULL): a search makes
    # theirs from the text, the same values, until `podkb reindex` stores them.
    for names in (tables.LIVE, tables.NEXT):
        db.execute(f"ALTER TABLE {names.passages} ADD COLUMN prints BLOB")

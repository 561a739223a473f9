"""Search made cheaper (issue 41) without changing what it finds: each short cut against the long way round,
on the real samples and the real model."""
import sqlite3

import faiss
import numpy as np
from podkb import KnowledgeBase
from podkb.index import collapse, highlight, spans, tables
from podkb.index.query import Query
from podkb.index.vectors import VectorIndex
from podkb.ingest.dedup import shingles, word_shingles

from .conftest import TRANSCRIPTS


def exhaustive_best(said, query_vector, known, first=0, within=None):
    """spans.best the long way: every span scored, the lean included, the first of the best."""
    end = len(said) if within is None else within
    found = [(span, spans.score(span, query_vector)) for span in spans.spans(said[:end], known=known)
             if span.first >= first and span.vector is not None]
    return max(found, key=lambda item: item[1]) if found else None


def test_the_best_span_is_the_one_scoring_every_span_finds(real_kb):
    """Leans are computed only for spans near enough to win; the span and its score are those of scoring all."""
    with KnowledgeBase(real_kb) as kb:
        index = kb._index
        compared = 0
        for question in ("how do I avoid burnout", "how many hours to become an expert",
                         "what should I do before posting online", "how to learn deep learning"):
            query = index.query_embedder.encode([question])[0]
            for hit in kb.search(question, k=10):
                said, inside = highlight.said_of(index, _candidate(index, hit), frozenset())
                known = Query.of(question).known
                quick, slow = spans.best(said, query, known), exhaustive_best(said, query, known)
                assert (quick is None) == (slow is None)
                if quick is not None:
                    assert (quick[0].first, quick[0].last, quick[0].text, quick[1]) == \
                        (slow[0].first, slow[0].last, slow[0].text, slow[1])
                    compared += 1
        assert compared >= 20


def _candidate(index, hit):
    from podkb.index.hits import Candidate

    parts = tables.passages(index.db, hit.passage_ids)
    return Candidate(passage_id=hit.passage_ids[0], episode_id=hit.episode_id, episode_title=hit.episode_title,
                     show=None, score=hit.score, parts=[parts[pid][0] for pid in hit.passage_ids if pid in parts])


def test_word_shingles_are_the_same_shingles_as_joined_strings():
    for text in ("Rest before you're tired -- and take whole days off. Rest before you're tired!", "two words",
                 "", "Ünïcode wörds, 10,000 hours; the same three words the same three words"):
        assert {" ".join(s) for s in word_shingles(text, 3)} == shingles(text, 3)
    collapse.shingles_of.cache_clear()
    assert collapse.shingles_of("a b c d", 3) == frozenset({("a", "b", "c"), ("b", "c", "d")})


def test_sentence_vectors_read_in_one_statement_are_the_rows_read_one_by_one(real_kb):
    db = sqlite3.connect(real_kb / "podkb.db")
    ids = [row[0] for row in db.execute("SELECT passage_id FROM sentence_vectors ORDER BY passage_id LIMIT 40")]
    together = tables.sentence_vectors(db, ids + [10 ** 9], 384)
    assert sorted(together) == ids
    for pid in ids:
        scales, blob = db.execute("SELECT scales, vectors FROM sentence_vectors WHERE passage_id = ?", (pid,)).fetchone()
        alone = np.frombuffer(blob, dtype=np.int8).reshape(-1, 384).astype(np.float32) * \
            np.frombuffer(scales, dtype=np.float32)[:, None]
        np.testing.assert_array_equal(together[pid], alone)
    assert tables.sentence_vectors(db, [10 ** 9], 384) == {}


def test_an_add_leaves_the_keyword_index_in_one_segment_and_bm25_unchanged(tmp_path):
    from .fake_embedder import HashEmbedder

    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        for path in sorted(TRANSCRIPTS.iterdir())[:3]:  # three adds: three syncs, each writing segments
            kb.add([path])
    db = sqlite3.connect(tmp_path / "kb" / "podkb.db")
    assert db.execute("SELECT count(DISTINCT segid) FROM passages_fts_idx").fetchone()[0] == 1
    from podkb.index.query import Filters

    merged = tables.bm25(db, '"learn" OR "practice" OR "burnout"', Filters(), 50)
    db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')")  # FTS5 from scratch
    assert merged and tables.bm25(db, '"learn" OR "practice" OR "burnout"', Filters(), 50) == merged


def test_a_single_query_searches_faiss_on_one_thread_and_gives_the_threads_back():
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((300, 8)).astype(np.float32)
    index = VectorIndex.build(8, np.arange(300), vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    before = faiss.omp_get_max_threads()
    scores, ids = index.search(vectors[5] / np.linalg.norm(vectors[5]), 10)
    assert ids[0] == 5 and len(ids) == 10 and faiss.omp_get_max_threads() == before


def test_reading_no_or_unknown_sentence_vectors_is_empty():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE sentence_vectors (passage_id INTEGER, scales BLOB, vectors BLOB)")
    assert tables.sentence_vectors(db, [], 4) == {} and tables.sentence_vectors(db, [1, 2], 4) == {}


def test_sentence_shapes_read_from_lower_case_are_those_the_patterns_find_ignoring_case():
    """The shape patterns (spans.py) are written in lower case and read lowered text: on every sentence of the
    samples, in their own case and in capitals, each finds what it finds ignoring case on the text as said."""
    import re

    from podkb.index.passages import sentence_bounds

    patterns = [spans._ANNOUNCES, spans._PREAMBLE, spans._BACK, spans._TRAILS, spans._CONCLUDES, spans._REJECTS,
                spans._PROMO, spans._ADVICE]
    assert not any(p.flags & re.IGNORECASE for p in patterns)
    ignoring = [re.compile(p.pattern, re.IGNORECASE) for p in patterns]
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in sorted(TRANSCRIPTS.iterdir())
             if path.is_file()]
    sentences = [" ".join(text[a:b].split()) for text in texts for a, b in sentence_bounds(text)]
    sentences += [s.upper() for s in sentences] + ["Here's What I'd Do:", "And So They Were Wrong, But --",
                                                   "Subscribe To The Show And Leave Us A Review.", "There are Three Things."]
    found = 0
    for sentence in sentences:
        low = sentence.lower()
        for quick, slow in zip(patterns, ignoring):
            assert bool(quick.search(low)) == bool(slow.search(sentence)), (quick.pattern[:40], sentence)
            found += bool(quick.search(low))
        assert spans.trails(sentence) == bool(ignoring[3].search(sentence))
        assert spans.advice(sentence) == len(ignoring[7].findall(spans._QUOTED.sub(" ", sentence)))
    assert found > 50  # the patterns do find shapes in these sentences

"""Keyword search: SQLite FTS5 with BM25. User text is turned into quoted terms, never passed raw.

Only the query's distinctive words are searched. FTS5 ranks every passage that matches, so
its cost grows with the postings of the words searched, while BM25's ranking is decided by
the rare ones. Words are taken rarest first while their postings stay within MAX_POSTINGS
(about 2.7 µs a posting at 1M passages), and none found in more than MAX_DF of all passages.
Document frequencies come from the term_df table (tables.py), keyed by the very terms FTS5 indexes:
text is stemmed by SQLite's own porter tokenizer (an in-memory FTS5 table here, the one SQL this
module sends), since another Porter implementation disagrees on some words ("technologies",
"possibly") and skews the counts.
"""
from __future__ import annotations

import re
import sqlite3

_TERM = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits, as FTS5 unicode61 splits
MAX_DF = 0.2
MAX_TERMS = 6
MAX_POSTINGS = 5_000  # bench/search.py: keeps FTS5 near 15 ms at 1M passages
STOPWORDS = frozenset(
    "a an and are as at be but by do does for from how i if in into is it its me my of on or so that the "
    "their there this to was we what when where which who why will with you your can should would".split()
)


def terms(query: str) -> list[str]:
    words = [w.lower() for w in _TERM.findall(query)]
    content = [w for w in words if w not in STOPWORDS]
    return list(dict.fromkeys(content or words))


def fts_terms(texts: list[str]) -> list[list[str]]:
    """Each text's terms, in order, exactly as the index's tokenizer (porter unicode61) makes them."""
    if not texts:
        return []
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61')")
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
        db.executemany("INSERT INTO t(rowid, x) VALUES (?, ?)", enumerate(texts))
        found: list[list[str]] = [[] for _ in texts]
        for term, doc in db.execute("SELECT term, doc FROM v ORDER BY doc, offset"):
            found[doc].append(term)
        return found
    finally:
        db.close()


def stem_words(words: list[str]) -> list[str]:
    """Each word's term in the index (the word itself, should the tokenizer drop it)."""
    return [terms[0] if terms else word.lower() for word, terms in zip(words, fts_terms(words))]


def distinctive(found: list[str], df: dict[str, int], total: int) -> list[str]:
    """A query's words (``found``), rarest first, without those in more than MAX_DF of ``total`` passages;
    ``df``: in how many passages each word's stem is (tables.term_df)."""
    if not found or total == 0:
        return found[:MAX_TERMS]
    ranked = sorted(found, key=lambda word: df.get(word, 0))
    kept, postings = [], 0
    for word in ranked[:MAX_TERMS]:
        count = df.get(word, 0)
        if count > MAX_DF * total or postings + count > MAX_POSTINGS:
            break
        kept.append(word)
        postings += count
    if kept:
        return kept
    # Only everyday words: search the rarest if that stays cheap, else leave it to dense search.
    return [ranked[0]] if df.get(ranked[0], 0) <= MAX_POSTINGS else []


_QUOTED = re.compile(r'"([^"]*)"|“([^”]*)”|„([^“”]*)[“”]')


def phrases(query: str) -> tuple[list[str], str]:
    """The quoted phrases of a query, and the query with their quotes taken away (its words stay, for the
    meaning): 'the "seen and the unseen" podcast' → (['seen and the unseen'], 'the seen and the unseen podcast')."""
    found = [" ".join(_TERM.findall(next(g for g in m.groups() if g is not None))).lower()
             for m in _QUOTED.finditer(query)]
    plain = _QUOTED.sub(lambda m: " " + next(g for g in m.groups() if g is not None) + " ", query)
    return [phrase for phrase in found if phrase], " ".join(plain.split())


def phrase_expression(found: list[str]) -> str | None:
    """An FTS5 MATCH string that wants every phrase, words in order: '"seen and the unseen"'."""
    if not found:
        return None
    return " AND ".join('"' + phrase.replace('"', '""') + '"' for phrase in found)


def match_expression(words: list[str]) -> str | None:
    """An FTS5 MATCH string that ORs the words, each quoted; None when there are none.

    Quoting makes AND/OR/NEAR, '*', '"', '(' and ':' plain words, so no input can raise.
    """
    if not words:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)

"""Keyword search: SQLite FTS5 with BM25. User text is turned into quoted terms, never passed raw.

Only the query's distinctive words are searched. FTS5 ranks every passage that matches, so
its cost grows with the postings of the words searched, while BM25's ranking is decided by
the rare ones. Words are taken rarest first while their postings stay within MAX_POSTINGS,
and none found in more than MAX_DF of all passages. Document frequencies come from an
fts5vocab table, looked up by the Porter stem that the FTS5 tokenizer indexed.
"""
from __future__ import annotations

import re
import sqlite3

import snowballstemmer

_TERM = re.compile(r"\w+", re.UNICODE)
_STEMMER = snowballstemmer.stemmer("porter")
MAX_DF = 0.2
MAX_TERMS = 6
MAX_POSTINGS = 20_000  # bench/search.py: keeps FTS5 near 10 ms at 1M passages
STOPWORDS = frozenset(
    "a an and are as at be but by do does for from how i if in into is it its me my of on or so that the "
    "their there this to was we what when where which who why will with you your can should would".split()
)


def terms(query: str) -> list[str]:
    words = [w.lower() for w in _TERM.findall(query)]
    content = [w for w in words if w not in STOPWORDS]
    return list(dict.fromkeys(content or words))


def distinctive(db: sqlite3.Connection, vocab: str, query: str, total: int) -> list[str]:
    """The query's words, rarest first, without those in more than MAX_DF of ``total`` passages."""
    found = terms(query)
    if not found or total == 0:
        return found[:MAX_TERMS]
    stems = _STEMMER.stemWords(found)
    rows = db.execute(f"SELECT term, doc FROM {vocab} WHERE term IN ({','.join('?' * len(stems))})", stems)
    df = dict(rows.fetchall())
    ranked = sorted(zip(found, stems), key=lambda pair: df.get(pair[1], 0))
    kept, postings = [], 0
    for word, stem in ranked[:MAX_TERMS]:
        count = df.get(stem, 0)
        if count > MAX_DF * total or (kept and postings + count > MAX_POSTINGS):
            break
        kept.append(word)
        postings += count
    if kept:
        return kept
    # Only everyday words: search the rarest if that stays cheap, else leave it to dense search.
    return [ranked[0][0]] if df.get(ranked[0][1], 0) <= MAX_POSTINGS else []


def match_expression(words: list[str]) -> str | None:
    """An FTS5 MATCH string that ORs the words, each quoted; None when there are none.

    Quoting makes AND/OR/NEAR, '*', '"', '(' and ':' plain words, so no input can raise.
    """
    if not words:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)

"""Keyword search: SQLite FTS5 with BM25. User text is turned into quoted terms, never passed raw.

Only the query's distinctive words are searched. FTS5 ranks every passage that matches, so
its cost grows with the postings of the words searched, while BM25's ranking is decided by
the rare ones. Words are taken rarest first while their postings stay within MAX_POSTINGS
(about 2.7 µs a posting at 1M passages), and none found in more than MAX_DF of all passages.
Document frequencies come from the term_df table, by the Porter stem FTS5 indexes.
"""
from __future__ import annotations

import re
import sqlite3
import unicodedata

import snowballstemmer

_TERM = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits, as FTS5 unicode61 splits
_STEMMER = snowballstemmer.stemmer("porter")
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


def _fold(word: str) -> str:
    """Lower case without diacritics, as FTS5's unicode61 tokenizer folds it."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


def stem_words(words: list[str]) -> list[str]:
    """Porter stems as SQLite's porter tokenizer makes them: words under 3 letters stay whole."""
    folded = [_fold(w) for w in words]
    return [w if len(w) < 3 else _STEMMER.stemWord(w) for w in folded]


def stems(text: str) -> set[str]:
    """The distinct stems of ``text``, as FTS5 indexes them."""
    return set(stem_words(_TERM.findall(text)))


def count_terms(db: sqlite3.Connection, texts: list[str], sign: int = 1) -> None:
    """Add (or with sign=-1 take away) the passages ``texts`` from the term_df counts."""
    counts: dict[str, int] = {}
    for text in texts:
        for stem in stems(text):
            counts[stem] = counts.get(stem, 0) + 1
    db.executemany(
        "INSERT INTO term_df (stem, df) VALUES (?, ?) ON CONFLICT(stem) DO UPDATE SET df = max(0, df + excluded.df)",
        [(stem, sign * n) for stem, n in counts.items()],
    )


def distinctive(db: sqlite3.Connection, query: str, total: int, table: str = "term_df") -> list[str]:
    """The query's words, rarest first, without those in more than MAX_DF of ``total`` passages."""
    found = terms(query)
    if not found or total == 0:
        return found[:MAX_TERMS]
    stemmed = stem_words(found)
    rows = db.execute(f"SELECT stem, df FROM {table} WHERE stem IN ({','.join('?' * len(stemmed))})", stemmed)
    df = dict(rows.fetchall())
    ranked = sorted(zip(found, stemmed), key=lambda pair: df.get(pair[1], 0))
    kept, postings = [], 0
    for word, stem in ranked[:MAX_TERMS]:
        count = df.get(stem, 0)
        if count > MAX_DF * total or postings + count > MAX_POSTINGS:
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

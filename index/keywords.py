"""Keyword search: SQLite FTS5 with BM25. User text is turned into quoted terms, never passed raw."""
from __future__ import annotations

import re

_TERM = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be but by do does for from how i if in into is it its me my of on or so that the "
    "their there this to was we what when where which who why will with you your can should would".split()
)


def terms(query: str) -> list[str]:
    words = [w.lower() for w in _TERM.findall(query)]
    content = [w for w in words if w not in STOPWORDS]
    return list(dict.fromkeys(content or words))


def match_expression(query: str) -> str | None:
    """An FTS5 MATCH string that ORs the query's words, each quoted; None when there are none.

    Quoting makes AND/OR/NEAR, '*', '"', '(' and ':' plain words, so no input can raise.
    """
    found = terms(query)
    if not found:
        return None
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in found)

"""What a search or a question asks, worked out once: ``Query``, and the ``Filters`` that narrow it.

A ``Query`` is built once per search or ``ask`` and handed down: ranking, highlight, spans, points and
the judge read its words from it instead of deriving them again. Its vector is embedded once, by
whoever first needs it (ranking.py), unless the caller set it (``ask`` embeds the question as asked).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..ingest.decode import well_formed

from . import keywords
from .conversation import question_like


@dataclass
class Filters:
    """Which passages a search may find: of a show, an episode, a speaker, between two dates (YYYY[-MM[-DD]])."""

    show: str | None = None
    episode: str | None = None
    speaker: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def __bool__(self) -> bool:
        return any((self.show, self.episode, self.speaker, self.date_from, self.date_to))


@dataclass
class Query:
    """A search as podkb reads it.

    ``text``: as asked (well formed, quotes and all); ``plain``: its words with the quotes of its quoted
    phrases taken away, spaces normalised; ``phrases``: those phrases, which a hit must say word for word;
    ``terms``: its keywords; ``asks``: whether it asks something (then a host's question is followed to
    the guest's reply); ``vector``: ``plain`` embedded (``ask`` sets the text as asked instead)."""

    text: str
    plain: str
    phrases: list[str]
    terms: list[str]
    asks: bool
    vector: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def of(cls, text: str) -> "Query":
        text = well_formed(text)
        phrases, plain = keywords.phrases(text)
        return cls(text, plain, phrases, keywords.terms(plain), question_like(plain))

    @cached_property
    def known(self) -> frozenset[str]:
        """Its terms of four letters or more: what a sentence that only restates it shares with it."""
        return frozenset(w for w in self.terms if len(w) >= 4)

    @cached_property
    def stems(self) -> list[str]:
        """Its terms as the keyword index stems them (keywords.fts_terms)."""
        return keywords.stem_words(self.terms)

    @cached_property
    def phrase_terms(self) -> list[tuple[str, ...]]:
        """Its quoted phrases, each as the keyword index tokenises it: a sentence that says one has them in a row."""
        return [tuple(terms) for terms in keywords.fts_terms(list(self.phrases)) if terms]

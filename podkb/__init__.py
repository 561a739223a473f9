"""podkb: a knowledge base of podcast and lecture transcripts with cited, timestamped search.

    import podkb

    with podkb.KnowledgeBase("my-kb") as kb:
        kb.add(["transcripts/"])
        for hit in kb.search("how to avoid burnout", k=3):
            print(hit.citation, hit.text)

The package is the repository's folders, mapped in at build time (pyproject.toml), and the data flows
the way they read: ``podkb.ingest`` (files, audio and feeds → episodes and segments) → ``podkb.index``
(segments → passages, vectors and keywords → hits) → this folder (``KnowledgeBase``, the one door; the
quote collections; the Ray cluster) → ``podkb.ui`` (the CLI, the web app, the exports, the MCP server).

This folder owns the door (knowledgebase.py; folder.py, where a knowledge base is and its store opened;
info.py), the quote collections (quotes.py: their tables), quotes' audio (clips.py), the Ray backend
(cluster.py) and the events a UI renders (events.py); it may import ``podkb.ingest`` and
``podkb.index``, never ``podkb.ui``.

This module is the face of podkb for a user interface: ``KnowledgeBase``, the value types it takes and
gives, its errors, and the few helpers every interface writes and reads alike (times, citations,
dates). ``podkb.events`` holds the events of its long jobs. A user interface imports these two and
nothing deeper (tests/test_layout.py checks it). Names load on first use, so ``import podkb`` is cheap.
"""
from __future__ import annotations

import importlib
from pathlib import Path

# Run from a source checkout (python -c from its root, with or without an install), this folder
# shadows the installed package: find ingest/, index/ and ui/ beside it, where they are kept.
_checkout = Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "ingest" / "__init__.py").is_file():
    __path__.append(str(_checkout))  # noqa: F821 (a package's __path__)

_FACE = {  # name: (module under podkb, its name there)
    # The door
    "KnowledgeBase": ("knowledgebase", "KnowledgeBase"),
    "home": ("folder", "home"),
    # What it takes and gives
    "Episode": ("ingest.models", "Episode"),
    "Segment": ("ingest.models", "Segment"),
    "EpisodeInfo": ("ingest.manifest", "EpisodeInfo"),
    "AddResult": ("ingest.store", "AddResult"),
    "FeedOptions": ("ingest.feeds", "FeedOptions"),
    "WhisperOptions": ("ingest.audio", "WhisperOptions"),
    "Query": ("index.query", "Query"),
    "Filters": ("index.query", "Filters"),
    "Hit": ("index.hits", "Hit"),
    "Citation": ("index.hits", "Citation"),
    "Point": ("index.points", "Point"),
    "Answer": ("index.points", "Answer"),
    "Chapter": ("index.chapters", "Chapter"),
    "Config": ("index.config", "Config"),
    "Reranker": ("index.rerank", "CrossEncoderReranker"),
    "Quote": ("quotes", "Quote"),
    "Written": ("written", "Written"),
    "Writing": ("written", "Writing"),
    "Info": ("info", "Info"),
    "Renamed": ("ingest.voices", "Renamed"),
    # Its errors
    "BadInput": ("ingest.errors", "BadInput"),
    "StoreError": ("ingest.errors", "StoreError"),
    "NotIndexed": ("folder", "NotIndexed"),
    "NoKnowledgeBase": ("folder", "NoKnowledgeBase"),
    "ModelMismatch": ("index.store", "ModelMismatch"),
    "ClusterError": ("cluster", "ClusterError"),
    "AlreadySaved": ("quotes", "AlreadySaved"),
    "ClipError": ("clips", "ClipError"),
    # What every interface writes and reads alike
    "NO_ANSWER": ("index.points", "NO_ANSWER"),
    "format_timestamp": ("ingest.timecode", "format_timestamp"),
    "parse_clock": ("ingest.timecode", "parse_clock"),
    "check_date": ("ingest.timecode", "check_date"),
    "said_at": ("index.hits", "said_at"),
    "link": ("index.hits", "link"),
    "web_url": ("index.hits", "web_url"),
    "well_formed": ("ingest.decode", "well_formed"),
    "one_line": ("ingest.decode", "one_line"),
    "replacing": ("ingest.files", "replacing"),
    "not_regular": ("ingest.files", "not_regular"),
    "store_problem": ("ingest.errors", "store_problem"),
    "podcasting20": ("index.chapters", "podcasting20"),
    "parse_tags": ("quotes", "parse_tags"),
    "moment": ("quotes", "moment"),
    "SETTINGS": ("ingest.settings", "SETTINGS"),
    "flag": ("ingest.settings", "flag"),
    "TRANSCRIPT_FORMATS": ("ingest.formats", "FORMATS"),
    "format_labels": ("ingest.formats", "labels"),
    "AUDIO_SUFFIXES": ("ingest.audio", "AUDIO_SUFFIXES"),
    "SUFFIXES": ("ingest.importer", "SUFFIXES"),
    # A quote's audio clip
    "cut_clip": ("clips", "cut"),
    "clips_for": ("clips", "clips_for"),
    "clip_encoding": ("clips", "encoding"),
    "is_url": ("clips", "is_url"),
}

__all__ = sorted(_FACE)


def __getattr__(name: str):
    if name not in _FACE:
        raise AttributeError(f"module 'podkb' has no attribute {name!r}")
    module, attribute = _FACE[name]
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FACE))

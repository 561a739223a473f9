"""podkb: a knowledge base of podcast and lecture transcripts with cited, timestamped search.

    import podkb

    with podkb.KnowledgeBase("my-kb") as kb:
        kb.add(["transcripts/"])
        for hit in kb.search("how to avoid burnout", k=3):
            print(hit.citation, hit.text)

The package is the repository's three folders, mapped in at build time (pyproject.toml):
``podkb.ingest`` (files, audio and feeds → episodes and segments), ``podkb.index``
(segments → passages, vectors and keywords → hits) and ``podkb.ui`` (the CLI, the web app
and the exports). ``KnowledgeBase`` is the one object over them.
"""
from __future__ import annotations

from pathlib import Path

# Run from a source checkout (python -c from its root, with or without an install), this folder
# shadows the installed package: find ingest/, index/ and ui/ beside it, where they are kept.
_checkout = Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "ingest" / "__init__.py").is_file():
    __path__.append(str(_checkout))  # noqa: F821 (a package's __path__)

from .knowledgebase import KnowledgeBase  # noqa: E402

__all__ = ["KnowledgeBase"]

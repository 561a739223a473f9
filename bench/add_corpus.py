"""What `podkb add` of a real back catalogue costs against a bare encode of the same texts, in one run.

    .venv/bin/python bench/add_corpus.py [--corpus DIR] [--show NAME] [--model NAME]

Times the whole `KnowledgeBase.add` a user makes (read every file, store, build passages, embed
them and their sentences, keywords, FAISS, chapters, hosts, recurring reads; the model load
included) into a new knowledge base. Then, as the floor, the same passage and sentence texts
encoded bare: by sentence-transformers' `encode` in fp32 (what the issue measured), and by the
engine podkb chose for this machine (bf16, ONNX or fp32), without anything else. Default corpus:
Founders Talk, 50 real episodes (tests/eval/founderstalk).
"""
from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stored_texts(folder: Path) -> tuple[list[str], list[str]]:
    """The passage texts a knowledge base stored, and its sentences as podkb embeds them."""
    from podkb import KnowledgeBase
    from podkb.index.embed import sentence_text

    db = sqlite3.connect(folder / "podkb.db")
    passages = [text for (text,) in db.execute("SELECT text FROM passages ORDER BY id")]
    db.close()
    with KnowledgeBase(folder) as kb:
        sentences = [sentence_text(s) for ep in kb.episodes() for s, _, _ in kb.sentences(ep.id)[0]]
    return passages, sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "eval" / "founderstalk" / "episodes")
    parser.add_argument("--show", default="Founders Talk")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()

    from podkb import KnowledgeBase
    from podkb.index.embed import load, resolve
    from podkb.ingest import EpisodeInfo

    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        with KnowledgeBase(Path(tmp) / "kb", model=args.model) as kb:
            outcomes = kb.add([str(args.corpus)], EpisodeInfo(show=args.show))
            engine, model = kb.info().engine, kb.model
        added = time.perf_counter() - began
        passages, sentences = stored_texts(Path(tmp) / "kb")

    from sentence_transformers import SentenceTransformer

    bare = SentenceTransformer(resolve(model), device="cpu")
    bare.encode(passages[:64])
    began = time.perf_counter()
    bare.encode(passages, batch_size=64, normalize_embeddings=True)
    bare.encode(sentences, batch_size=64, normalize_embeddings=True)
    fp32 = time.perf_counter() - began

    chosen = load(model)
    chosen.encode(passages[:64])
    began = time.perf_counter()
    chosen.encode(passages)
    chosen.encode(sentences)
    engine_only = time.perf_counter() - began

    print(f"## `podkb add` of a real corpus against a bare encode: `bench/add_corpus.py` "
          f"({date.today()}, {platform.node()}, {platform.machine()}, {os.cpu_count()} cores)\n")
    print(f"{len(outcomes)} episodes, {len(passages):,} passages, {len(sentences):,} sentences; model {model}, "
          f"engine {engine}\n")
    print("| run | seconds | passages/s | × bare fp32 encode |")
    print("|---|---|---|---|")
    for name, seconds in (("`podkb add` (whole call, model load included)", added),
                          ("bare encode, fp32 (sentence-transformers)", fp32),
                          (f"bare encode, podkb's engine ({engine})", engine_only)):
        print(f"| {name} | {seconds:.1f} | {len(passages) / seconds:.1f} | {seconds / fp32:.2f} |")


if __name__ == "__main__":
    main()

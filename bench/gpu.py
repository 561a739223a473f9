"""The GPU run of issue 41, one script: embeddings, vector search and Whisper on CUDA, each beside its baseline.

    bash bench/gpu.sh              # what to run on a machine with a GPU (it calls this)
    python bench/gpu.py [--passages 20000] [--vectors 1000000] [--model FOLDER]

1. Embeddings: podkb's SentenceEmbedder (index/embed.py; the engine index/engine.py chooses there, fp16 on
   CUDA when it agrees with fp32) against sentence-transformers out of the box (`SentenceTransformer(folder,
   device="cuda").encode`), in passages a second, on 100-word passages of the Founders Talk transcripts
   (tests/eval/founderstalk), and the least cosine between the two's vectors.
2. Vector search at --vectors unit vectors of the model's size: podkb's VectorIndex on the GPU when faiss
   has GPU support, else a torch matrix product and top-k on CUDA (the fallback ENVIRONMENT.md names: the
   lent machines have no faiss-gpu), against FAISS (or numpy) on this machine's CPU; p50 over 100 queries
   of the 200 candidates a search asks for, and whether the GPU's top 200 are the CPU's.
3. Whisper: faster-whisper's tiny model loaded and run on CUDA (ctranslate2), if it and its CUDA libraries
   load; else the reason, in one line.

Each part says plainly when it cannot run and why; nothing here is needed by podkb itself. On a machine
without podkb's environment (the lent GPU machines have torch and sentence-transformers but not podkb's
other dependencies), podkb's index modules are loaded from this checkout without its package imports.
"""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import re
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def podkb_modules():
    """(embed, vectors) modules of this checkout: the installed podkb when it is this one, else loaded from
    the folders without running the packages' __init__ (which import all of podkb's dependencies)."""
    try:
        import podkb  # noqa: F401
        from podkb.index import embed
        return embed, _vectors()
    except ImportError:
        pass
    for name, folder in (("podkb", "podkb"), ("podkb.ingest", "ingest"), ("podkb.index", "index")):
        package = types.ModuleType(name)
        package.__path__ = [str(ROOT / folder)]
        sys.modules[name] = package
    return importlib.import_module("podkb.index.embed"), _vectors()


def _vectors():
    try:
        return importlib.import_module("podkb.index.vectors")
    except ImportError as error:  # no faiss here
        return f"{error}"


def passages(count: int) -> list[str]:
    """100-word passages of real interview transcripts, as many as asked (the corpus repeated if need be)."""
    words = []
    for path in sorted((ROOT / "tests" / "eval" / "founderstalk" / "episodes").glob("*.md")):
        words += re.sub(r"\*\*[^*]+\*\*:?|^#.*$|\[[\d:]+\]", " ", path.read_text(encoding="utf-8"), flags=re.M).split()
    chunks = [" ".join(words[i:i + 100]) for i in range(0, len(words) - 99, 100)]
    return [chunks[i % len(chunks)] for i in range(count)]


def timed(call, *args):
    began = time.perf_counter()
    out = call(*args)
    return out, time.perf_counter() - began


def embeddings(embed, folder: str, texts: list[str]) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    print(f"\n### 1. Embeddings: {len(texts):,} passages of 100 words, {folder}\n")
    if not torch.cuda.is_available():
        print("skipped: torch sees no CUDA device")
        return
    plain = SentenceTransformer(folder, device="cuda")
    plain.encode(texts[:256])
    base, plain_s = timed(plain.encode, texts)
    embedder = embed.SentenceEmbedder(folder)  # the engine it chooses on this GPU, checked against fp32
    embedder.encode(texts[:256])
    ours, ours_s = timed(embedder.encode, texts)
    cosine = float(np.min(np.sum(ours * (base / np.linalg.norm(base, axis=1, keepdims=True)), axis=1)))
    print("| run | seconds | passages/s |\n|---|---|---|")
    print(f"| sentence-transformers out of the box (fp32, batch 32) | {plain_s:.2f} | {len(texts) / plain_s:,.0f} |")
    print(f"| podkb's SentenceEmbedder: {embedder.choice.describe()} | {ours_s:.2f} | {len(texts) / ours_s:,.0f} |")
    print(f"\nleast cosine between the two's vectors: {cosine:.5f}; device {embedder.device}, "
          f"{torch.cuda.get_device_name(0)}")


def search(vectors_module, dim: int, count: int, queries: int = 100, pool: int = 200) -> None:
    import torch

    print(f"\n### 2. Vector search: {count:,} vectors of {dim}, top {pool} of each of {queries} queries\n")
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((256, dim)).astype(np.float32)
    data = centres[rng.integers(0, 256, count)] + 0.6 * rng.standard_normal((count, dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    asked = data[rng.integers(0, count, queries)] + 0.1 * rng.standard_normal((queries, dim)).astype(np.float32)
    asked /= np.linalg.norm(asked, axis=1, keepdims=True)
    ids = np.arange(count, dtype=np.int64)

    def p50(call) -> tuple[float, list]:
        call(asked[0])
        found, ms = [], []
        for q in asked:
            began = time.perf_counter()
            found.append(call(q))
            ms.append((time.perf_counter() - began) * 1000)
        return statistics.median(ms), found

    rows = []
    if isinstance(vectors_module, str):
        cpu_ms, cpu = p50(lambda q: np.argsort(-(data @ q))[:pool])
        rows.append((f"numpy on the CPU ({os.cpu_count()} cores; no faiss here: {vectors_module})", cpu_ms))
    else:
        index = vectors_module.VectorIndex.build(dim, ids, data, switch_size=count + 1)  # exact, as podkb's Flat
        cpu_ms, cpu = p50(lambda q: index.search(q, pool)[1])
        rows.append((f"podkb's VectorIndex (FAISS Flat) on the CPU, {os.cpu_count()} cores", cpu_ms))
    gpu = None
    if not torch.cuda.is_available():
        print("skipped on the GPU: torch sees no CUDA device")
    elif not isinstance(vectors_module, str) and hasattr(__import__("faiss"), "StandardGpuResources"):
        os.environ["PODKB_FAISS_GPU"] = "1"
        gpu_ms, gpu = p50(lambda q: index.search(q, pool)[1])
        rows.append(("podkb's VectorIndex on the GPU (faiss-gpu, PODKB_FAISS_GPU=1)", gpu_ms))
    else:
        matrix = torch.from_numpy(data).to("cuda", torch.float16)

        def on_gpu(q):
            scores = matrix @ torch.from_numpy(q).to("cuda", torch.float16)
            return torch.topk(scores.float(), pool).indices.cpu().numpy()

        gpu_ms, gpu = p50(on_gpu)
        rows.append(("torch on CUDA, fp16 matrix product and top-k (no faiss-gpu here)", gpu_ms))
    print("| search | p50 ms a query |\n|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.2f} |")
    if gpu is not None:
        overlap = np.mean([len(set(a[:pool].tolist()) & set(b[:pool].tolist())) / pool for a, b in zip(cpu, gpu)])
        print(f"\nthe GPU's top {pool} against the CPU's: {overlap:.3f} of them the same")


def whisper() -> None:
    print("\n### 3. Whisper on CUDA\n")
    try:
        import ctranslate2
        from faster_whisper import WhisperModel
    except ImportError as error:
        print(f"skipped: {error}")
        return
    if ctranslate2.get_cuda_device_count() < 1:
        print("skipped: ctranslate2 sees no CUDA device")
        return
    model = os.environ.get("PODKB_GPU_WHISPER") or str(ROOT / "build" / "gpu-whisper")
    try:
        loaded = WhisperModel(model, device="cuda", compute_type="float16")
        audio = (0.1 * np.sin(np.linspace(0, 30 * 440 * 2 * np.pi, 16000 * 30))).astype(np.float32)
        (segments, info), seconds = timed(loaded.transcribe, audio)
        list(segments)
        print(f"faster-whisper ran on CUDA (float16): 30 s of audio in {seconds:.2f} s, language {info.language}")
    except Exception as error:  # noqa: BLE001 - say what stopped it, in one line
        print(f"did not run on CUDA: {(str(error).splitlines() or [type(error).__name__])[0]} (podkb transcribes "
              "on the CPU instead: ingest/audio.py)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=20_000)
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--model", default=None, help="a sentence-transformers folder (default: podkb's own)")
    args = parser.parse_args()
    embed, vectors_module = podkb_modules()
    folder = args.model or (str(ROOT / "build" / "gpu-model") if (ROOT / "build" / "gpu-model").is_dir()
                            else embed.resolve(embed.DEFAULT_MODEL))
    print(f"## GPU run: `bench/gpu.sh` ({time.strftime('%Y-%m-%d')}, {platform.node()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()})")
    for part in (lambda: embeddings(embed, folder, passages(args.passages)),
                 lambda: search(vectors_module, 384, args.vectors), whisper):
        try:
            part()
        except Exception as error:  # noqa: BLE001 - one part failing does not stop the others
            print(f"failed: {type(error).__name__}: {(str(error).splitlines() or [''])[0]}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Search speed at 10k, 100k and 1M passages: podkb against a naive baseline, in one run.

    .venv/bin/python bench/search.py [--sizes 10000,100000,1000000] [--queries 100]

Corpora are synthetic, made by varying the samples: each passage mixes two real passages
of transcripts/ (its vector a noisy blend of their real all-MiniLM-L6-v2 vectors, its text
their sentences spliced), so the data keeps the real vectors' clusters and the real words.

podkb: FAISS (flat below index.vectors.SWITCH_SIZE, IVF with 8-bit scalar quantisation from
there) + SQLite FTS5 BM25, fused as index.ranking does. Baseline: numpy brute force + rank_bm25.
Latency includes embedding the query with the real model. RAM is the size of the vector index
(and of the baseline's float32 matrix); recall@10 compares the approximate index with exact search.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import re
import sqlite3
import tempfile
import time
from datetime import date
from pathlib import Path

import faiss
import numpy as np

from ingest import Library, add_paths
from index import Index
from index.evaluate import load_questions
from index.keywords import distinctive, match_expression, terms
from index.ranking import _convex
from index.vectors import NPROBE, SWITCH_SIZE, VectorIndex

ROOT = Path(__file__).resolve().parent.parent
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def base_passages() -> tuple[list[str], np.ndarray, Index]:
    kb = Path(tempfile.mkdtemp(prefix="podkb-bench-"))
    library = Library(kb)
    list(add_paths(library, [str(ROOT / "transcripts")]))
    index = Index(library)
    index.sync()
    rows = library.db.execute("SELECT p.text, v.vector FROM passages p JOIN vectors v ON v.passage_id = p.id").fetchall()
    texts = [r[0] for r in rows]
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).astype(np.float32).reshape(len(rows), -1)
    return texts, vectors, index


def synthesize(n: int, texts: list[str], vectors: np.ndarray, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(texts), n), rng.integers(0, len(texts), n)
    w = rng.uniform(0.55, 0.95, n).astype(np.float32)[:, None]
    out = w * vectors[a] + (1 - w) * vectors[b] + rng.normal(0, 0.03, (n, vectors.shape[1])).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    sentences = [_SENTENCE.split(t) for t in texts]
    made = []
    for i, j in zip(a.tolist(), b.tolist()):
        left, right = sentences[i], sentences[j]
        made.append(" ".join(left[: max(1, len(left) * 2 // 3)] + right[len(right) * 2 // 3:]))
    return made, out


def percentiles(samples: list[float]) -> tuple[float, float]:
    ms = np.array(samples) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def build_fts(texts: list[str], folder: Path) -> tuple[sqlite3.Connection, float]:
    db = sqlite3.connect(folder / "fts.db")
    db.execute("CREATE VIRTUAL TABLE passages_fts USING fts5(text, tokenize='porter unicode61')")
    db.execute("CREATE VIRTUAL TABLE passages_vocab USING fts5vocab(passages_fts, row)")
    db.execute("CREATE TABLE term_df (stem TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID")
    started = time.perf_counter()
    with db:
        db.executemany("INSERT INTO passages_fts(rowid, text) VALUES (?, ?)", enumerate(texts))
        db.execute("INSERT INTO term_df SELECT term, doc FROM passages_vocab")  # as index.schema's m003 does
    return db, time.perf_counter() - started


def fts_search(db: sqlite3.Connection, query: str, k: int, total: int) -> list[tuple[int, float]]:
    expression = match_expression(distinctive(db, query, total))
    if expression is None:
        return []  # only everyday words: index.ranking leaves these to dense search too
    rows = db.execute(
        "SELECT rowid, -bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ? ORDER BY bm25(passages_fts) LIMIT ?",
        (expression, k),
    )
    return rows.fetchall()


def run_size(n, texts, vectors, queries, query_vectors, embed, bm25_max, folder):
    corpus, matrix = synthesize(n, texts, vectors)
    ids = np.arange(n, dtype=np.int64)
    result = {"n": n}

    started = time.perf_counter()
    vindex = VectorIndex.build(matrix.shape[1], ids, matrix)
    result["build_s"] = time.perf_counter() - started
    result["kind"] = f"IVF{faiss.downcast_index(vindex.index).nlist},SQ8 nprobe {NPROBE}" if vindex.approximate else "flat"
    result["ram_mb"] = faiss.serialize_index(vindex.index).nbytes / 2**20
    db, result["fts_build_s"] = build_fts(corpus, folder)
    result["fts_mb"] = os.path.getsize(folder / "fts.db") / 2**20

    dense_t, hybrid_t, recall, approximate = [], [], [], []
    for query, qv in zip(queries, query_vectors):
        t0 = time.perf_counter()
        v = embed(query)
        scores, found = vindex.search(v, 50)
        t1 = time.perf_counter()
        keyword = fts_search(db, query, 50, n)
        _convex(list(zip(found.tolist(), scores.tolist())), keyword)
        t2 = time.perf_counter()
        dense_t.append(t1 - t0)
        hybrid_t.append(t2 - t0)
        approximate.append(vindex.search(qv, 10)[1])
    # Exact search for recall, outside the timed loop: OpenBLAS threads spinning after a
    # large matmul would otherwise slow the next query's embedding.
    for qv, found in zip(query_vectors, approximate):
        exact = np.argpartition(-(matrix @ qv), 10)[:10]
        recall.append(len(set(exact.tolist()) & set(found.tolist())) / 10)
    result["dense_p50"], result["dense_p99"] = percentiles(dense_t)
    result["hybrid_p50"], result["hybrid_p99"] = percentiles(hybrid_t)
    result["recall"] = float(np.mean(recall))
    db.close()
    (folder / "fts.db").unlink()

    # The naive baseline: brute force over a float32 matrix, and rank_bm25.
    result["base_ram_mb"] = matrix.nbytes / 2**20
    brute_t = []
    for query in queries:
        t0 = time.perf_counter()
        v = embed(query)
        top = np.argpartition(-(matrix @ v), 50)[:50]
        brute_t.append(time.perf_counter() - t0)
    result["brute_p50"], result["brute_p99"] = percentiles(brute_t)
    if n <= bm25_max:
        from rank_bm25 import BM25Okapi

        started = time.perf_counter()
        bm25 = BM25Okapi([terms(text) for text in corpus])
        result["bm25_build_s"] = time.perf_counter() - started
        hybrid_base = []
        for query in queries[:20]:
            t0 = time.perf_counter()
            v = embed(query)
            dense_scores = matrix @ v
            top = np.argpartition(-dense_scores, 50)[:50]
            keyword_scores = bm25.get_scores(terms(query))
            best = np.argpartition(-keyword_scores, 50)[:50]
            _convex([(int(i), float(dense_scores[i])) for i in top], [(int(i), float(keyword_scores[i])) for i in best])
            hybrid_base.append(time.perf_counter() - t0)
        result["base_hybrid_p50"], result["base_hybrid_p99"] = percentiles(hybrid_base)
        del bm25
    del matrix, corpus, vindex
    gc.collect()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--bm25-max", type=int, default=100_000,
                        help="largest corpus for the rank_bm25 baseline (it holds every document's term counts in Python dicts)")
    args = parser.parse_args()
    texts, vectors, index = base_passages()
    questions = [q.q for q in load_questions(ROOT / "tests" / "eval" / "questions.toml")]
    # The learner questions, then the first 6-10 words of sample sentences, as people type them.
    rng = np.random.default_rng(1)
    phrases = [" ".join(s.split()[: int(rng.integers(6, 11))]) for t in texts for s in _SENTENCE.split(t) if len(s.split()) >= 6]
    queries = (questions + [phrases[i] for i in rng.permutation(len(phrases))])[: args.queries]
    embedder = index.embedder
    embed = lambda q: embedder.encode([q])[0]  # noqa: E731
    for q in queries[:3]:
        embed(q)
    query_vectors = embedder.encode(queries)
    print(f"# podkb search speed, {date.today()}, {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"faiss {faiss.__version__}, model {index.model}; {len(texts)} real passages varied; "
          f"{len(queries)} queries; flat below {SWITCH_SIZE:,}")
    print()
    print("| passages | podkb index | build s (vectors / FTS5) | index RAM MB | recall@10 | dense p50 / p99 ms | "
          "hybrid p50 / p99 ms | baseline RAM MB | numpy p50 / p99 ms | numpy+rank_bm25 hybrid p50 / p99 ms (build s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(s) for s in args.sizes.split(",")]:
            r = run_size(n, texts, vectors, queries, query_vectors, embed, args.bm25_max, Path(tmp))
            base = (f"{r['base_hybrid_p50']:.0f} / {r['base_hybrid_p99']:.0f} ({r['bm25_build_s']:.0f})"
                    if "bm25_build_s" in r else "not run (see --bm25-max)")
            print(f"| {n:,} | {r['kind']} | {r['build_s']:.1f} / {r['fts_build_s']:.1f} | {r['ram_mb']:.0f} | "
                  f"{r['recall']:.3f} | {r['dense_p50']:.1f} / {r['dense_p99']:.1f} | {r['hybrid_p50']:.1f} / "
                  f"{r['hybrid_p99']:.1f} | {r['base_ram_mb']:.0f} | {r['brute_p50']:.1f} / {r['brute_p99']:.1f} | {base} |",
                  flush=True)


if __name__ == "__main__":
    main()

"""Search speed at 10k, 100k and 1M passages: the whole `KnowledgeBase.search` call, against a naive
baseline in the same run.

    .venv/bin/python bench/search.py [--sizes 10000,100000,1000000] [--queries 100] [--keep DIR]

Each size is a real knowledge base (podkb.db with FTS5, term counts, float16 vectors and int8
sentence vectors; the FAISS file built by podkb itself) made by varying the samples: each passage
splices the first two thirds of one real passage's sentences with the last third of another's,
their stored sentence vectors with them, and its vector is a noisy blend of the two passages'
real all-MiniLM-L6-v2 vectors. The data keeps the real vectors' clusters and the real words.

podkb: `kb.search(query, k=10)`, the call the CLI, the web app and Python make: query embedding,
FAISS and FTS5 candidates, fusion, hits, collapse and the cited sentence (answer-first). Recall@10
compares its top 10 passages with the same call over an exact (flat) FAISS index. Past switch_size
the same store is also searched with the IVF/SQ8 candidates taken as FAISS scores them (no exact
re-scoring from SQLite's float16 vectors, as before issue 27): its recall and second-pass times.
Baseline: the query embedded the same way, then numpy brute force over a float32 matrix, and
rank_bm25 (up to --bm25-max passages: it keeps every document's term counts in Python dicts),
fused as podkb fuses.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import re
import shutil
import sqlite3
import tempfile
import time
from datetime import date
from pathlib import Path

import faiss
import numpy as np

from podkb import KnowledgeBase
from podkb.index import load
from podkb.index.config import Config
from podkb.index.embed import load_for_queries
from podkb.index.evaluate import load_questions
from podkb.index.keywords import terms
from podkb.index import ranking
from podkb.index.ranking import RESCORE, _convex
from podkb.index.vectors import VectorIndex

ROOT = Path(__file__).resolve().parent.parent
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
PER_EPISODE = 200


class Base:
    """The samples' real passages: text, sentence marks, vectors and sentence vectors."""

    def __init__(self, folder: Path):
        self.kb = KnowledgeBase(folder)
        self.kb.add([ROOT / "transcripts"])
        with sqlite3.connect(folder / "podkb.db") as db:  # the store's own tables, read as they are
            rows = db.execute(
            "SELECT p.text, p.sentences, p.start_ms, p.end_ms, p.speaker, v.vector, s.scales, s.vectors "
            "FROM passages p JOIN vectors v ON v.passage_id = p.id JOIN sentence_vectors s ON s.passage_id = p.id "
            "ORDER BY p.id").fetchall()
        self.dim = self.kb.info().dim
        self.rows = []
        for text, marks, start, end, speaker, vector, scales, svectors in rows:
            marks = json.loads(marks)
            ats = [m[0] for m in marks] + [len(text)]
            pieces = [text[ats[i]:ats[i + 1]].strip() for i in range(len(marks))]
            scale = np.frombuffer(scales, dtype=np.float32)
            quantised = np.frombuffer(svectors, dtype=np.int8).reshape(len(scale), self.dim)
            self.rows.append((pieces, marks, start, end, speaker, scale, quantised))
        self.vectors = np.frombuffer(b"".join(r[5] for r in rows), dtype=np.float16).astype(np.float32)
        self.vectors = self.vectors.reshape(len(rows), self.dim)


def synthesize(base: Base, n: int, seed: int = 0):
    """n passage rows (text, marks, start, end, speaker, scales, quantised) and their vectors."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(base.rows), n), rng.integers(0, len(base.rows), n)
    w = rng.uniform(0.55, 0.95, n).astype(np.float32)[:, None]
    vectors = w * base.vectors[a] + (1 - w) * base.vectors[b]
    vectors += rng.normal(0, 0.03, vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for i, j, vector in zip(a.tolist(), b.tolist(), vectors):
        left, right = base.rows[i], base.rows[j]
        keep_left, keep_right = max(1, len(left[0]) * 2 // 3), len(right[0]) * 2 // 3
        pieces = left[0][:keep_left] + right[0][keep_right:]
        text, marks = "", []
        for k, piece in enumerate(pieces):
            source = left[1][k] if k < keep_left else [0, left[3], None]
            marks.append([len(text) + (1 if text else 0), source[1], source[2]])
            text = f"{text} {piece}" if text else piece
        scales = np.concatenate([left[5][:keep_left], right[5][keep_right:]])
        quantised = np.concatenate([left[6][:keep_left], right[6][keep_right:]])
        yield (text, marks, left[2], left[3], left[4], scales, quantised), vector


def build(base: Base, n: int, folder: Path) -> tuple[KnowledgeBase, np.ndarray, float]:
    """A knowledge base of n synthetic passages in ``folder``: (it, its float32 vectors, seconds to build)."""
    started = time.perf_counter()
    kb = KnowledgeBase(folder, model=base.kb.model)  # creates the store and its tables
    config = kb.config.to_json()
    kb.close()
    # The rows are written straight into the store's tables (no public call imports passages with their
    # vectors ready-made): one connection and one transaction of its own, as a bulk loader would.
    db = sqlite3.connect(folder / "podkb.db", isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    matrix = np.empty((n, base.dim), dtype=np.float32)
    db.execute("BEGIN")
    for e in range((n + PER_EPISODE - 1) // PER_EPISODE):
        digest = hashlib.sha256(f"synthetic {e}".encode()).hexdigest()
        db.execute("INSERT INTO episodes (id, title, show, date, speakers, content_hash, added_at) "
                   "VALUES (?, ?, ?, ?, '[]', ?, '2026-11-23T00:00:00Z')",
                   (f"ep-{e}", f"Episode {e}", f"Show {e % 50}", f"20{10 + e % 15}-0{1 + e % 9}-1{e % 10}", digest))
        db.execute("INSERT INTO indexed_episodes (episode_id, content_hash) VALUES (?, ?)", (f"ep-{e}", digest))
    for i, (row, vector) in enumerate(synthesize(base, n)):
        text, marks, start, end, speaker, scales, quantised = row
        cursor = db.execute(
            "INSERT INTO passages (episode_id, idx, text, start_ms, end_ms, speaker, turn, first_segment, "
            "last_segment, sentences) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
            (f"ep-{i // PER_EPISODE}", i % PER_EPISODE, text, start, end, speaker, i % PER_EPISODE,
             i % PER_EPISODE, json.dumps(marks)))
        db.execute("INSERT INTO vectors (passage_id, vector) VALUES (?, ?)",
                   (cursor.lastrowid, vector.astype(np.float16).tobytes()))
        db.execute("INSERT INTO sentence_vectors (passage_id, scales, vectors) VALUES (?, ?, ?)",
                   (cursor.lastrowid, scales.tobytes(), quantised.tobytes()))
        matrix[i] = vector.astype(np.float16).astype(np.float32)
    db.execute("DELETE FROM term_df")
    db.execute("INSERT INTO term_df (stem, df) SELECT term, doc FROM passages_vocab")  # as migration m005
    for key, value in (("model", base.kb.model), ("dim", base.dim), ("generation", 1), ("config", config)):
        db.execute("INSERT OR REPLACE INTO index_meta (key, value) VALUES (?, ?)", (key, str(value)))
    db.execute("COMMIT")
    db.close()
    kb = KnowledgeBase(folder)
    kb.search("warm up")  # podkb builds and saves the FAISS file from SQLite, as after a crash or an upgrade
    return kb, matrix, time.perf_counter() - started


def percentiles(samples: list[float]) -> tuple[float, float]:
    ms = np.array(samples) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def top_passages(hits, k: int = 10) -> list[int]:
    return [pid for hit in hits for pid in hit.passage_ids][:k]


def run_size(base: Base, n: int, queries: list[str], bm25_max: int, folder: Path) -> dict:
    kb, matrix, build_s = build(base, n, folder)
    result = {"n": n, "build_s": build_s}
    result["kind"] = kb.info().index_kind
    result["index_mb"] = (folder / "passages.faiss").stat().st_size / 2**20
    result["db_mb"] = (folder / "podkb.db").stat().st_size / 2**20
    for q in queries[:3]:
        kb.search(q, k=10)  # warm: the model, the FAISS file and SQLite's pages
    # Two passes over the queries: the first reads the store's pages as they are first touched (the
    # state after a build or a reboot), the second finds them in memory (a knowledge base in use).
    for name in ("first", "second"):
        timings, found = [], []
        for q in queries:
            t0 = time.perf_counter()
            hits = kb.search(q, k=10)
            timings.append(time.perf_counter() - t0)
            found.append(top_passages(hits))
        result[name] = percentiles(timings)
    # The baseline in the same run: the IVF/SQ8 candidates taken as FAISS scores them (before issue 27).
    plain = []
    if kb._index.vectors().approximate:
        ranking.RESCORE, timings = 0, []
        try:
            for q in queries:
                t0 = time.perf_counter()
                plain.append(top_passages(kb.search(q, k=10)))
                timings.append(time.perf_counter() - t0)
        finally:
            ranking.RESCORE = RESCORE
        result["plain"] = percentiles(timings)

    # Recall@10 of the whole call: the same call with an exact (flat) FAISS index swapped in.
    if n >= kb.config.switch_size:  # approximate (IVF): swap an exact index in, beneath the public call
        vectors = kb._index.vectors()
        kb._index._vectors = VectorIndex.build(base.dim, vectors.ids(), matrix, switch_size=n + 1)
        recalls, exact = [], [top_passages(kb.search(q, k=10)) for q in queries]
        for truth, got in zip(exact, found):
            recalls.append(len(set(truth) & set(got)) / max(1, len(truth)))
        result["recall"] = float(np.mean(recalls))
        if plain:
            result["plain_recall"] = float(np.mean([len(set(e) & set(g)) / max(1, len(e)) for e, g in zip(exact, plain)]))
    else:
        result["recall"] = 1.0  # podkb's index is exact below switch_size
    embed = load_for_queries(kb.model) or load(kb.model)  # the query embedded as podkb embeds it
    kb.close()

    # The naive baseline: the same query embedding, numpy brute force, rank_bm25, the same fusion.
    result["base_mb"] = matrix.nbytes / 2**20
    brute = []
    for q in queries:
        t0 = time.perf_counter()
        v = embed.encode([q])[0]
        top = np.argpartition(-(matrix @ v), 50)[:50]
        brute.append(time.perf_counter() - t0)
    result["brute_p50"], result["brute_p99"] = percentiles(brute)
    if n <= bm25_max:
        from rank_bm25 import BM25Okapi

        with sqlite3.connect(folder / "podkb.db") as db:
            corpus = [terms(row[0]) for row in db.execute("SELECT text FROM passages ORDER BY id")]
        bm25 = BM25Okapi(corpus)
        del corpus
        hybrid = []
        for q in queries:
            t0 = time.perf_counter()
            v = embed.encode([q])[0]
            dense = matrix @ v
            top = np.argpartition(-dense, 50)[:50]
            scores = bm25.get_scores(terms(q))
            best = np.argpartition(-scores, 50)[:50]
            _convex([(int(i), float(dense[i])) for i in top], [(int(i), float(scores[i])) for i in best],
                    Config().dense_weight)
            hybrid.append(time.perf_counter() - t0)
        result["base_p50"], result["base_p99"] = percentiles(hybrid)
        del bm25
    del matrix
    gc.collect()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--bm25-max", type=int, default=100_000)
    parser.add_argument("--keep", help="build the knowledge bases in this folder and keep them")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="podkb-bench-"))
    base = Base(work / "samples")
    questions = [q.q for q in load_questions(ROOT / "tests" / "eval" / "questions.toml")]
    # The learner questions, then the first 6-10 words of sample sentences, as people type them.
    rng = np.random.default_rng(1)
    phrases = [" ".join(p.split()[: int(rng.integers(6, 11))]) for row in base.rows for p in row[0] if len(p.split()) >= 6]
    queries = (questions + [phrases[i] for i in rng.permutation(len(phrases))])[: args.queries]
    embedder = type(load_for_queries(base.kb.model) or load(base.kb.model)).__name__
    print(f"# podkb search speed, {date.today()}, {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"faiss {faiss.__version__}, model {base.kb.model} (queries by {embedder}); {len(base.rows)} real "
          f"passages varied; {len(queries)} queries, k=10")
    print()
    print("| passages | podkb index | build s | podkb.db MB | FAISS MB | recall@10 (whole call) | "
          "kb.search p50 / p99 ms, first pass | second pass | baseline RAM MB | numpy dense p50 / p99 ms | "
          "numpy + rank_bm25 hybrid p50 / p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in [int(s) for s in args.sizes.split(",")]:
        folder = work / f"kb-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        r = run_size(base, n, queries, args.bm25_max, folder)
        baseline = f"{r['base_p50']:.0f} / {r['base_p99']:.0f}" if "base_p50" in r else "not run (--bm25-max)"
        if "plain" in r:
            print(f"| {n:,} | {r['kind']}, no re-scoring (before) | | | | {r['plain_recall']:.3f} | | "
                  f"{r['plain'][0]:.1f} / {r['plain'][1]:.1f} | | | |", flush=True)
        print(f"| {n:,} | {r['kind']} | {r['build_s']:.0f} | {r['db_mb']:.0f} | {r['index_mb']:.0f} | "
              f"{r['recall']:.3f} | {r['first'][0]:.1f} / {r['first'][1]:.1f} | {r['second'][0]:.1f} / "
              f"{r['second'][1]:.1f} | {r['base_mb']:.0f} | "
              f"{r['brute_p50']:.1f} / {r['brute_p99']:.1f} | {baseline} |", flush=True)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    base.kb.close()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Recall@10 and speed of the whole search call against nprobe and re-scoring, on a store bench/search.py kept.

    .venv/bin/python bench/nprobe.py --keep DIR --size 1000000 [--nprobe 64,128,256] [--rescore 0,3]

Each setting runs the same 100 queries as bench/search.py twice (the second pass timed); recall@10 is
against the same call over an exact (flat) FAISS index of the same vectors, swapped in last.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import ROOT, Base, percentiles, top_passages  # noqa: E402

from podkb import KnowledgeBase  # noqa: E402
from podkb.index import ranking  # noqa: E402
from podkb.index.evaluate import load_questions  # noqa: E402
from podkb.index.vectors import VectorIndex  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", required=True)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--nprobe", default="64,128,256")
    parser.add_argument("--rescore", default="0,3")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    work = Path(args.keep)
    base = Base(work / "samples")
    questions = [q.q for q in load_questions(ROOT / "tests" / "eval" / "questions.toml")]
    rng = np.random.default_rng(1)
    phrases = [" ".join(p.split()[: int(rng.integers(6, 11))]) for row in base.rows for p in row[0] if len(p.split()) >= 6]
    queries = (questions + [phrases[i] for i in rng.permutation(len(phrases))])[: args.queries]
    base.kb.close()
    kb = KnowledgeBase(work / f"kb-{args.size}")
    vectors = kb._index.vectors()
    print(f"# {kb.info().index_kind}, {args.size:,} passages, {len(queries)} queries")
    runs = {}
    for rescore in [int(r) for r in args.rescore.split(",")]:
        for nprobe in [int(n) for n in args.nprobe.split(",")]:
            ranking.RESCORE, vectors.nprobe = rescore, nprobe
            for q in queries:
                kb.search(q, k=10)
            timings, found = [], []
            for q in queries:
                t0 = time.perf_counter()
                found.append(top_passages(kb.search(q, k=10)))
                timings.append(time.perf_counter() - t0)
            runs[(rescore, nprobe)] = (found, percentiles(timings))
    ids = vectors.ids()
    kb._index._vectors = VectorIndex.build(kb._index.dim, ids,
                                           kb._index.passage_vectors(ids.tolist())[1], switch_size=len(ids) + 1)
    exact = [top_passages(kb.search(q, k=10)) for q in queries]
    print("| re-scored candidates | nprobe | recall@10 (whole call) | p50 / p99 ms |")
    print("|---|---|---|---|")
    for (rescore, nprobe), (found, (p50, p99)) in runs.items():
        recall = np.mean([len(set(e) & set(g)) / max(1, len(e)) for e, g in zip(exact, found)])
        print(f"| {f'{rescore} x pool' if rescore else 'none (FAISS scores)'} | {nprobe} | {recall:.3f} | "
              f"{p50:.1f} / {p99:.1f} |", flush=True)
    kb.close()


if __name__ == "__main__":
    main()

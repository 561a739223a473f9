"""Query → hits: dense (FAISS) and keyword (FTS5/BM25) candidates, fused into one ranking.

Fusion is a convex combination of min-max normalised scores by default: on the evaluation
set (tests/eval) reciprocal rank fusion ranked below dense search alone, because BM25 on
paraphrased questions is noisy and RRF weighs its ranks as much as the dense ones.
RRF stays available (fusion="rrf").

Filters narrow the candidates before ranking. Near-identical passages (the same talk
transcribed twice) collapse into one hit that lists where else it appears, and neighbouring
passages join into one stretch (collapse.py). Each hit then cites its best sentence, or the
answer after a question (highlight.py).
"""
from __future__ import annotations

import numpy as np

from . import keywords, recurring, tables
from .collapse import collapse
from .highlight import choose, cite_spans
from .hits import Candidate, Hit, web_url
from .query import Filters, Query
from .store import Index

MODES = ("hybrid", "dense", "keyword")
FUSIONS = ("convex", "rrf")
RRF_K = 60
POOL = 200  # candidates from each side before fusion (200 beat 100 on both corpora, bench/RESULTS.md)
RESCORE = 3  # an approximate index's candidates, as many times POOL, re-scored exactly (issue 27)
HEAD = 10   # hits built per hit asked for (and two spare) before collapsing, more if too few are left: 5 lost
            # neighbours worth joining (Founders Talk hit@5 0.447 -> 0.435), 10 did not (bench/RESULTS.md)


def search(index: Index, query: Query | str, k: int = 10, mode: str = "hybrid", filters: Filters | None = None,
           reranker=None, highlight: bool = True, fusion: str = "convex", cited: int | None = None) -> list[Hit]:
    """The k best hits for ``query`` (a Query, or its text). ``highlight=False`` skips choosing sentences
    (and the answer after a question). ``cited``: how many of the first hits cite their best answer span
    (default all k; the rest cite their nearest sentence), for a caller that shows only those."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}")
    filters = filters or Filters()
    query = query if isinstance(query, Query) else Query.of(query)
    if not query.terms:
        return []
    pool = max(POOL, 5 * k)
    allowed = tables.allowed(index.db, filters) if filters else None
    if query.phrases:  # a quoted phrase must be there, words in order; the rest ranks by meaning and words
        having = tables.saying(index.db, keywords.phrase_expression(query.phrases))
        allowed = having if allowed is None else np.intersect1d(allowed, having)
    if allowed is not None and not len(allowed):
        return []
    if query.vector is None and mode != "keyword":
        query.vector = index.query_embedder.encode([query.plain])[0]
    ranked: dict[str, list[tuple[int, float]]] = {}
    if mode != "keyword":
        scores, ids = _dense(index, query.vector, pool, allowed)
        ranked["dense"] = _with_sentences(index, ids, scores, query.vector, index.config.sentence_weight)
    if mode != "dense":
        ranked["keyword"] = _keyword(index, query, pool, filters)
    if mode != "hybrid":
        fused = ranked[mode]
    else:
        fused = _rrf(ranked) if fusion == "rrf" else _convex(ranked["dense"], ranked["keyword"],
                                                             index.config.dense_weight)
    fused = _less_hosts(index, fused, index.config.host_penalty) if mode == "hybrid" else fused
    linked, head = index.library.linked(), HEAD * (k + 2)
    while True:  # hits are built for the head of the ranking, and more only if collapsing leaves too few
        hits = _candidates(index, fused[:head])
        _demote_recurring(index, hits, 4 * k + 10)
        if reranker is not None:
            hits = reranker.rerank(query.plain, hits)
        hits = collapse(hits, k + 2, linked)  # answer-first may merge two hits into one answer
        if len(hits) >= k + 2 or head >= len(fused):
            break
        head *= 4
    if highlight and hits:
        vector = query.vector if mode != "keyword" else None
        hits = choose(index, hits, query, vector, set(allowed.tolist()) if allowed is not None else None)
        if mode != "keyword" and not query.phrases:  # a quoted phrase is cited where it is said
            hits = cite_spans(index, hits, query, k if cited is None else min(k, cited))
    return [hit.hit() for hit in hits[:k]]


def _dense(index: Index, query_vector: np.ndarray, pool: int,
           allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The ``pool`` nearest passages and their scores. An approximate (IVF, 8-bit) index is asked for
    RESCORE times as many, re-scored with the exact float16 vectors in SQLite: its codes' rounding no
    longer decides which candidates make the pool (bench/RESULTS.md, issue 27)."""
    vectors = index.vectors()
    if not vectors.approximate or not RESCORE:
        return vectors.search(query_vector, pool, allowed)
    _, found = vectors.search(query_vector, RESCORE * pool, allowed)
    ids, matrix = index.passage_vectors(found.tolist())
    scores = matrix @ query_vector.astype(np.float32)
    best = np.argsort(-scores, kind="stable")[:pool]
    return scores[best], ids[best]


def _with_sentences(index: Index, ids: np.ndarray, scores: np.ndarray, query_vector: np.ndarray,
                    weight: float) -> list[tuple[int, float]]:
    """Dense candidates scored by their own vector and, ``weight`` of it, their best sentence's (stored)."""
    if not weight or not len(ids):
        return list(zip(ids.tolist(), scores.tolist()))
    sentences = index.sentence_vectors(ids.tolist())
    rescored = []
    for pid, score in zip(ids.tolist(), scores.tolist()):
        vectors = sentences.get(pid)
        best = float((vectors @ query_vector).max()) if vectors is not None and len(vectors) else score
        rescored.append((pid, (1 - weight) * score + weight * best))
    return sorted(rescored, key=lambda item: -item[1])


def _less_hosts(index: Index, fused: list[tuple[int, float]], penalty: float) -> list[tuple[int, float]]:
    """Fused scores with ``penalty`` taken off each interview host's passage (conversation.py)."""
    hosts = index.hosts() if penalty else {}
    if not hosts or not fused:
        return fused
    head = fused[:POOL * 2]
    rows = tables.speakers(index.db, [pid for pid, _ in head])
    hosting = {pid for pid, episode_id, speaker in rows if speaker in hosts.get(episode_id, ())}
    rescored = [(pid, score - penalty if pid in hosting else score) for pid, score in head] + fused[len(head):]
    return sorted(rescored, key=lambda item: -item[1])


def _demote_recurring(index: Index, hits: list[Candidate], window: int) -> None:
    """Sponsor reads and intros a show repeats (recurring.py) rank below what was said once, marked."""
    head = hits[:window]
    # Each candidate is one passage here; its fingerprints as stored, else made from its text (stored before).
    passages = [(h.passage_id, h.episode_id, h.parts[0].prints if h.parts[0].prints is not None
                 else recurring.fingerprints(h.text)) for h in head]
    wanted = recurring.wanted(passages)
    if not wanted:
        return
    heard = tables.heard_in(index.db, wanted)
    episodes = sorted({e for found in heard.values() for e in found} | {h.episode_id for h in head})
    found = recurring.recurring(passages, heard, index.library.shows(episodes))
    if not found:
        return
    for hit in head:
        if hit.passage_id in found:
            hit.recurring, hit.score = True, round(hit.score * recurring.DEMOTED, 6)
    hits.sort(key=lambda hit: -hit.score)


def _keyword(index: Index, query: Query, pool: int, filters: Filters) -> list[tuple[int, float]]:
    if query.phrases:  # BM25 of the phrases themselves: every candidate says them
        expression = keywords.phrase_expression(query.phrases)
    else:
        total, df = index.passage_count(), {}
        if query.terms and total:
            found = tables.term_df(index.db, query.stems)
            df = {word: found.get(stem, 0) for word, stem in zip(query.terms, query.stems)}
        expression = keywords.match_expression(keywords.distinctive(query.terms, df, total))
    if expression is None:
        return []
    return tables.bm25(index.db, expression, filters, pool)


def _normalised(results: list[tuple[int, float]]) -> dict[int, float]:
    if not results:
        return {}
    values = [score for _, score in results]
    low, high = min(values), max(values)
    return {pid: (score - low) / (high - low) if high > low else 1.0 for pid, score in results}


def _convex(dense: list[tuple[int, float]], keyword: list[tuple[int, float]],
            weight: float) -> list[tuple[int, float]]:
    d, k = _normalised(dense), _normalised(keyword)
    scores = {pid: weight * d.get(pid, 0.0) + (1 - weight) * k.get(pid, 0.0) for pid in d.keys() | k.keys()}
    return sorted(scores.items(), key=lambda item: -item[1])


def _rrf(ranked: dict[str, list[tuple[int, float]]]) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for results in ranked.values():
        for rank, (passage_id, _) in enumerate(results):
            scores[passage_id] = scores.get(passage_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda item: -item[1])


def _candidates(index: Index, ranked: list[tuple[int, float]]) -> list[Candidate]:
    if not ranked:
        return []
    by_id = tables.passages(index.db, [passage_id for passage_id, _ in ranked])
    found = []
    for passage_id, score in ranked:
        if passage_id not in by_id:
            continue
        passage, title, show, media, source = by_id[passage_id]
        found.append(Candidate(passage_id=passage_id, episode_id=passage.episode_id, episode_title=title, show=show,
                               score=round(float(score), 6), parts=[passage],
                               url=web_url(media) or web_url(source), media=None if web_url(media) else media))
    return found

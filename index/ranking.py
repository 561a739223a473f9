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

from dataclasses import dataclass

import numpy as np

from ..ingest.decode import well_formed

from . import keywords, recurring
from .collapse import collapse
from .highlight import choose, cite_spans
from .hits import Candidate, Hit, web_url
from .passages import COLUMNS, from_row
from .store import Index

MODES = ("hybrid", "dense", "keyword")
FUSIONS = ("convex", "rrf")
RRF_K = 60
POOL = 200  # candidates from each side before fusion (200 beat 100 on both corpora, bench/RESULTS.md)
RESCORE = 3  # an approximate index's candidates, as many times POOL, re-scored exactly (issue 27)
HEAD = 10   # hits built per hit asked for (and two spare) before collapsing, more if too few are left: 5 lost
            # neighbours worth joining (Founders Talk hit@5 0.447 -> 0.435), 10 did not (bench/RESULTS.md)


@dataclass
class Filters:
    show: str | None = None
    episode: str | None = None
    speaker: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def sql(self) -> tuple[str, list]:
        clauses, params = [], []
        if self.show:
            clauses.append("e.show = ? COLLATE NOCASE")
            params.append(self.show)
        if self.episode:
            clauses.append("e.id = ?")
            params.append(self.episode)
        if self.speaker:
            clauses.append("p.speaker = ? COLLATE NOCASE")
            params.append(self.speaker)
        if self.date_from:
            clauses.append("e.date >= ?")
            params.append(self.date_from)
        if self.date_to:
            clauses.append("substr(e.date, 1, ?) <= ?")
            params.extend([len(self.date_to), self.date_to])
        return " AND ".join(clauses), params

    def __bool__(self) -> bool:
        return any((self.show, self.episode, self.speaker, self.date_from, self.date_to))


def search(index: Index, query: str, k: int = 10, mode: str = "hybrid", filters: Filters | None = None,
           reranker=None, highlight: bool = True, fusion: str = "convex",
           query_vector: np.ndarray | None = None, cited: int | None = None) -> list[Hit]:
    """The k best hits for ``query``. ``highlight=False`` skips choosing sentences (and the answer after
    a question); ``query_vector`` saves embedding the query again when the caller has it. ``cited``: how
    many of the first hits cite their best answer span (default all k; the rest cite their nearest
    sentence), for a caller that shows only those."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}")
    filters = filters or Filters()
    quoted, query = keywords.phrases(well_formed(query))
    if not keywords.terms(query):
        return []
    pool = max(POOL, 5 * k)
    allowed = _allowed(index, filters) if filters else None
    if quoted:  # a quoted phrase must be there, words in order; the rest ranks by meaning and words
        having = _with_phrases(index, quoted)
        allowed = having if allowed is None else np.intersect1d(allowed, having)
    if allowed is not None and not len(allowed):
        return []
    if query_vector is None and mode != "keyword":
        query_vector = index.query_embedder.encode([query])[0]
    ranked: dict[str, list[tuple[int, float]]] = {}
    if mode != "keyword":
        scores, ids = _dense(index, query_vector, pool, allowed)
        ranked["dense"] = _with_sentences(index, ids, scores, query_vector, index.config.sentence_weight)
    if mode != "dense":
        ranked["keyword"] = _keyword(index, query, pool, filters, quoted)
    if mode != "hybrid":
        fused = ranked[mode]
    else:
        fused = _rrf(ranked) if fusion == "rrf" else _convex(ranked["dense"], ranked["keyword"],
                                                             index.config.dense_weight)
    fused = _less_hosts(index, fused, index.config.host_penalty) if mode == "hybrid" else fused
    linked, head = _linked(index), HEAD * (k + 2)
    while True:  # hits are built for the head of the ranking, and more only if collapsing leaves too few
        hits = _candidates(index, fused[:head])
        _demote_recurring(index, hits, 4 * k + 10)
        if reranker is not None:
            hits = reranker.rerank(query, hits)
        hits = collapse(hits, k + 2, linked)  # answer-first may merge two hits into one answer
        if len(hits) >= k + 2 or head >= len(fused):
            break
        head *= 4
    if highlight and hits:
        hits = choose(index, hits, query, query_vector if mode != "keyword" else None,
                       set(allowed.tolist()) if allowed is not None else None, quoted)
        if mode != "keyword" and not quoted:  # a quoted phrase is cited where it is said
            hits = cite_spans(index, hits, query, query_vector, k if cited is None else min(k, cited))
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
    rows = index.db.execute(f"SELECT id, episode_id, speaker FROM passages WHERE id IN ({','.join('?' * len(head))})",
                            [pid for pid, _ in head]).fetchall()
    hosting = {pid for pid, episode_id, speaker in rows if speaker in hosts.get(episode_id, ())}
    rescored = [(pid, score - penalty if pid in hosting else score) for pid, score in head] + fused[len(head):]
    return sorted(rescored, key=lambda item: -item[1])


def _demote_recurring(index: Index, hits: list[Candidate], window: int) -> None:
    """Sponsor reads and intros a show repeats (recurring.py) rank below what was said once, marked."""
    head = hits[:window]
    found = recurring.recurring(index.db, [(h.passage_id, h.episode_id, h.text) for h in head])
    if not found:
        return
    for hit in head:
        if hit.passage_id in found:
            hit.recurring, hit.score = True, round(hit.score * recurring.DEMOTED, 6)
    hits.sort(key=lambda hit: -hit.score)


def _allowed(index: Index, filters: Filters) -> np.ndarray:
    where, params = filters.sql()
    rows = index.db.execute(
        f"SELECT p.id FROM passages p JOIN episodes e ON e.id = p.episode_id WHERE {where}", params
    )
    return np.array([row[0] for row in rows], dtype=np.int64)


def _with_phrases(index: Index, quoted: list[str]) -> np.ndarray:
    """The passages that say every phrase, word for word (FTS5 phrase queries)."""
    rows = index.db.execute("SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?",
                            (keywords.phrase_expression(quoted),))
    return np.array(sorted(row[0] for row in rows), dtype=np.int64)


def _keyword(index: Index, query: str, pool: int, filters: Filters,
             quoted: list[str] = ()) -> list[tuple[int, float]]:
    total = index.passage_count()
    expression = keywords.match_expression(keywords.distinctive(index.db, query, total))
    if quoted:  # BM25 of the phrases themselves: every candidate says them
        expression = keywords.phrase_expression(list(quoted))
    if expression is None:
        return []
    where, params = filters.sql()
    rows = index.db.execute(
        "SELECT p.id, -bm25(passages_fts) FROM passages_fts "
        "JOIN passages p ON p.id = passages_fts.rowid JOIN episodes e ON e.id = p.episode_id "
        f"WHERE passages_fts MATCH ? {'AND ' + where if where else ''} ORDER BY bm25(passages_fts) LIMIT ?",
        [expression, *params, pool],
    )
    return [(row[0], row[1]) for row in rows]


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
    ids = [passage_id for passage_id, _ in ranked]
    rows = index.db.execute(
        f"SELECT {COLUMNS}, e.title, e.show, e.media, e.source FROM passages p "
        f"JOIN episodes e ON e.id = p.episode_id WHERE p.id IN ({','.join('?' * len(ids))})",
        ids,
    )
    by_id = {row[0]: row for row in rows}
    found = []
    for passage_id, score in ranked:
        row = by_id.get(passage_id)
        if row is None:
            continue
        title, show, media, source = row[-4:]
        found.append(Candidate(passage_id=passage_id, episode_id=row[1], episode_title=title, show=show,
                               score=round(float(score), 6), parts=[from_row(row[:-4])],
                               url=web_url(media) or web_url(source), media=None if web_url(media) else media))
    return found


def _linked(index: Index) -> set[tuple[str, str]]:
    rows = index.db.execute("SELECT id, duplicate_of FROM episodes WHERE duplicate_of IS NOT NULL").fetchall()
    return {pair for a, b in rows for pair in ((a, b), (b, a))}

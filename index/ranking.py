"""Query → hits: dense (FAISS) and keyword (FTS5/BM25) candidates, fused into one ranking.

Fusion is a convex combination of min-max normalised scores by default: on the evaluation
set (tests/eval) reciprocal rank fusion ranked below dense search alone, because BM25 on
paraphrased questions is noisy and RRF weighs its ranks as much as the dense ones.
RRF stays available (fusion="rrf").

Filters narrow the candidates before ranking. Near-identical passages (the same talk
transcribed twice) collapse into one hit that lists where else it appears.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ingest.dedup import containment
from ingest.dedup import shingles as shingles_of

from . import keywords
from .hits import Elsewhere, Hit, citation, link
from .store import Index

MODES = ("hybrid", "dense", "keyword")
FUSIONS = ("convex", "rrf")
DENSE_WEIGHT = 0.8
RRF_K = 60
HIGHLIGHT_WORDS = 32
SAME_PASSAGE = 0.5  # share of 3-word shingles that makes two passages one quote
# Between episodes linked as near-duplicates, passages are cut at different places, so
# half-overlapping windows of the same talk share less: measured 0.2–0.45 on the samples.
SAME_PASSAGE_LINKED = 0.2


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
           reranker=None, highlight: bool = True, fusion: str = "convex") -> list[Hit]:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}")
    filters = filters or Filters()
    if not keywords.terms(query):
        return []
    pool = max(50, 5 * k)
    allowed = _allowed(index, filters) if filters else None
    if allowed is not None and not len(allowed):
        return []
    query_vector = index.embedder.encode([query])[0] if mode != "keyword" else None
    ranked: dict[str, list[tuple[int, float]]] = {}
    if mode != "keyword":
        scores, ids = index.vectors().search(query_vector, pool, allowed)
        ranked["dense"] = list(zip(ids.tolist(), scores.tolist()))
    if mode != "dense":
        ranked["keyword"] = _keyword(index, query, pool, filters)
    if mode != "hybrid":
        fused = ranked[mode]
    else:
        fused = _rrf(ranked) if fusion == "rrf" else _convex(ranked["dense"], ranked["keyword"])
    hits = _hits(index, fused)
    if reranker is not None:
        hits = reranker.rerank(query, hits)
    hits = collapse(hits, k, _linked(index))
    if hits:
        _highlight(index, hits, query, query_vector if highlight else None)
    return hits


def _allowed(index: Index, filters: Filters) -> np.ndarray:
    where, params = filters.sql()
    rows = index.db.execute(
        f"SELECT p.id FROM passages p JOIN episodes e ON e.id = p.episode_id WHERE {where}", params
    )
    return np.array([row[0] for row in rows], dtype=np.int64)


def _keyword(index: Index, query: str, pool: int, filters: Filters) -> list[tuple[int, float]]:
    total = index.passage_count()
    expression = keywords.match_expression(keywords.distinctive(index.db, query, total))
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


def _convex(dense: list[tuple[int, float]], keyword: list[tuple[int, float]]) -> list[tuple[int, float]]:
    d, k = _normalised(dense), _normalised(keyword)
    scores = {pid: DENSE_WEIGHT * d.get(pid, 0.0) + (1 - DENSE_WEIGHT) * k.get(pid, 0.0) for pid in d.keys() | k.keys()}
    return sorted(scores.items(), key=lambda item: -item[1])


def _rrf(ranked: dict[str, list[tuple[int, float]]]) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for results in ranked.values():
        for rank, (passage_id, _) in enumerate(results):
            scores[passage_id] = scores.get(passage_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda item: -item[1])


def _hits(index: Index, ranked: list[tuple[int, float]]) -> list[Hit]:
    if not ranked:
        return []
    ids = [passage_id for passage_id, _ in ranked]
    rows = index.db.execute(
        "SELECT p.id, p.episode_id, e.title, e.show, p.speaker, p.start_ms, p.end_ms, p.text, p.sentences, "
        "p.first_segment, p.last_segment, coalesce(e.media, e.source) FROM passages p "
        f"JOIN episodes e ON e.id = p.episode_id WHERE p.id IN ({','.join('?' * len(ids))})",
        ids,
    )
    by_id = {row[0]: row for row in rows}
    hits = []
    for passage_id, score in ranked:
        row = by_id.get(passage_id)
        if row is None:
            continue
        (_, episode_id, title, show, speaker, start_ms, end_ms, text, sentences, first, last, url) = row
        start = None if start_ms is None else start_ms / 1000
        sentence_list = json.loads(sentences)
        offset = sentence_list[0][2] if sentence_list else None
        paragraph = first if start is None else None
        hit = Hit(
            passage_id=passage_id, episode_id=episode_id, episode_title=title, show=show, speaker=speaker,
            start=start, end=None if end_ms is None else end_ms / 1000, passage_start=start, text=text,
            highlight="", score=round(float(score), 6), citation="", link=url, paragraph=paragraph,
            offset=offset, first_segment=first, last_segment=last,
        )
        hit._sentences = sentence_list  # [[char in passage, start ms, source offset], ...]
        hits.append(hit)
    return hits


def _linked(index: Index) -> set[tuple[str, str]]:
    rows = index.db.execute("SELECT id, duplicate_of FROM episodes WHERE duplicate_of IS NOT NULL").fetchall()
    return {pair for a, b in rows for pair in ((a, b), (b, a))}


def collapse(hits: list[Hit], k: int, linked: set[tuple[str, str]] = frozenset()) -> list[Hit]:
    """Keep the best of each group of near-identical passages; note where the others are."""
    kept: list[tuple[Hit, set[str]]] = []

    def same(hit: Hit, shingles: set[str], other: Hit, other_shingles: set[str]) -> bool:
        if hit.episode_id == other.episode_id:
            # Passages cut from the same segment, or touching ones, are one stretch of talk.
            return hit.first_segment <= other.last_segment and hit.last_segment >= other.first_segment
        share = containment(shingles, other_shingles)
        return share >= SAME_PASSAGE or ((hit.episode_id, other.episode_id) in linked and share >= SAME_PASSAGE_LINKED)

    for hit in hits:
        shingles = shingles_of(hit.text, 3)
        twin = next((h for h, s in kept if same(hit, shingles, h, s)), None)
        if twin is not None:
            if twin.episode_id != hit.episode_id:
                twin.also_in.append(Elsewhere(hit.episode_id, hit.episode_title, hit.start, hit.passage_id))
            continue
        if len(kept) < k:
            kept.append((hit, shingles))
    return [hit for hit, _ in kept]


def _sentences(hit: Hit) -> list[tuple[str, float | None, int | None]]:
    marks = hit._sentences
    bounds = [m[0] for m in marks] + [len(hit.text)]
    return [(hit.text[bounds[i]:bounds[i + 1]].strip(), None if marks[i][1] is None else marks[i][1] / 1000,
             marks[i][2]) for i in range(len(marks))]


def _highlight(index: Index, hits: list[Hit], query: str, query_vector) -> None:
    """Mark each hit's best sentence and cite the moment it starts."""
    per_hit = [_sentences(hit) or [(hit.text, hit.start, hit.offset)] for hit in hits]
    if query_vector is not None:
        # A sentence's first words say what it is about; capping them keeps padding, and time, small.
        flat = [" ".join(s[0].split()[:HIGHLIGHT_WORDS]) for sentences in per_hit for s in sentences]
        vectors = index.embedder.encode(flat) if flat else np.zeros((0, 1))
        scores = iter((vectors @ query_vector).tolist())
        best = [max(range(len(s)), key=lambda i, row=[next(scores) for _ in s]: row[i]) for s in per_hit]
    else:
        wanted = keywords.terms(query)
        best = [max(range(len(s)), key=lambda i, s=s: _overlap(s[i][0], wanted)) for s in per_hit]
    for hit, sentences, choice in zip(hits, per_hit, best):
        text, start, offset = sentences[choice]
        hit.highlight = text
        if start is not None:
            hit.start = start
        if offset is not None:
            hit.offset = offset
        hit.citation = citation(hit.show, hit.episode_title, hit.speaker, hit.start, hit.paragraph)
        hit.link = link(hit.link, hit.start)
        del hit._sentences


def _overlap(sentence: str, wanted: list[str]) -> int:
    words = keywords.terms(sentence)
    return sum(1 for w in wanted if any(x.startswith(w[:5]) for x in words))

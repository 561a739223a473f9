"""An optional cross-encoder that re-scores the fused candidates, when the user names one."""
from __future__ import annotations

from .bundled import resolve
from .hits import Candidate

RERANK_POOL = 30


class CrossEncoderReranker:
    def __init__(self, name: str):
        from sentence_transformers import CrossEncoder

        self.name = name
        self.model = CrossEncoder(resolve(name))

    def rerank(self, query: str, hits: list[Candidate]) -> list[Candidate]:
        head, tail = hits[:RERANK_POOL], hits[RERANK_POOL:]
        if not head:
            return hits
        scores = self.model.predict([(query, hit.text) for hit in head])
        for hit, score in zip(head, scores):
            hit.score = round(float(score), 6)
        return sorted(head, key=lambda h: -h.score) + tail

"""Search quality on a set of questions with known answers: hit@1, hit@5 and MRR@10."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .hits import Hit
from .ranking import search
from .store import Index


@dataclass
class Answer:
    episode: str
    contains: str


@dataclass
class Question:
    q: str
    answers: list[Answer]
    kind: str = "advice"   # advice, paraphrase or keyword
    slice: str = "v1"


@dataclass
class Metrics:
    mode: str
    questions: int
    hit_at_1: float
    hit_at_5: float
    mrr_at_10: float
    misses: list[str] = field(default_factory=list)


def load_questions(path: str | Path) -> list[Question]:
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return [Question(item["q"], [Answer(**a) for a in item["answers"]], item.get("kind", "advice"),
                     item.get("slice", "v1")) for item in data["question"]]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def answers(hit: Hit, question: Question) -> bool:
    text = _norm(hit.text)
    episodes = {hit.episode_id, *(e.episode_id for e in hit.also_in)}
    return any(a.episode in episodes and _norm(a.contains) in text for a in question.answers)


def rank(index: Index, question: Question, mode: str = "hybrid", fusion: str = "convex") -> int | None:
    """Where the first hit that answers ``question`` ranks in the top 10 (1-based), or None."""
    hits = search(index, question.q, k=10, mode=mode, fusion=fusion)
    return next((n for n, hit in enumerate(hits, 1) if answers(hit, question)), None)


def metrics(name: str, questions: list[Question], ranks: list[int | None]) -> Metrics:
    n = max(1, len(questions))
    found = [r for r in ranks if r is not None]
    return Metrics(name, len(questions), round(sum(r == 1 for r in found) / n, 3),
                   round(sum(r <= 5 for r in found) / n, 3), round(sum(1 / r for r in found) / n, 3),
                   [q.q for q, r in zip(questions, ranks) if r is None])


def by_kind(index: Index, questions: list[Question], mode: str = "hybrid", fusion: str = "convex") -> dict[str, Metrics]:
    """Metrics for all questions ("all") and for each kind of question."""
    ranks = [rank(index, question, mode, fusion) for question in questions]
    out = {"all": metrics("all", questions, ranks)}
    for kind in sorted({q.kind for q in questions}):
        chosen = [(q, r) for q, r in zip(questions, ranks) if q.kind == kind]
        out[kind] = metrics(kind, [q for q, _ in chosen], [r for _, r in chosen])
    return out

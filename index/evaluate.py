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
    return [Question(item["q"], [Answer(**a) for a in item["answers"]]) for item in data["question"]]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def answers(hit: Hit, question: Question) -> bool:
    text = _norm(hit.text)
    episodes = {hit.episode_id, *(e.episode_id for e in hit.also_in)}
    return any(a.episode in episodes and _norm(a.contains) in text for a in question.answers)


def evaluate(index: Index, questions: list[Question], mode: str = "hybrid", fusion: str = "convex") -> Metrics:
    at1 = at5 = reciprocal = 0.0
    misses = []
    for question in questions:
        hits = search(index, question.q, k=10, mode=mode, fusion=fusion)
        rank = next((n for n, hit in enumerate(hits, 1) if answers(hit, question)), None)
        if rank is None:
            misses.append(question.q)
            continue
        at1 += rank == 1
        at5 += rank <= 5
        reciprocal += 1 / rank
    n = len(questions)
    name = f"{mode} ({fusion})" if mode == "hybrid" else mode
    return Metrics(name, n, round(at1 / n, 3), round(at5 / n, 3), round(reciprocal / n, 3), misses)

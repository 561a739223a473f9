"""Search quality with the real model on the learner questions: a regression fails CI.

Measured on 2026-11-23 (bench/quality.py, 127 questions, all-MiniLM-L6-v2, answer-first hits
and joined stretches): hybrid hit@5 0.748 and MRR@10 0.621 (advice questions 0.690 / 0.554),
dense 0.717 / 0.568, keyword 0.614 / 0.482. The floors leave a little room.
"""
from pathlib import Path

import pytest

from podkb.knowledgebase import open_store
from podkb.index import Index
from podkb.index.evaluate import by_kind, load_questions

pytestmark = pytest.mark.slow

QUESTIONS = load_questions(Path(__file__).with_name("questions.toml"))
LECTURES = ("fastai-lesson-8", "fastbook-reading-session")
HYBRID_HIT_AT_5, HYBRID_MRR = 0.72, 0.59
ADVICE_HIT_AT_5, ADVICE_MRR = 0.66, 0.52


@pytest.fixture(scope="module")
def metrics(real_kb):
    with open_store(real_kb) as library:
        index = Index(library)
        return {mode: by_kind(index, QUESTIONS, mode) for mode in ("keyword", "dense", "hybrid")}


def test_the_question_set_is_large_and_covers_advice_and_the_lectures():
    assert len(QUESTIONS) >= 120
    assert sum(q.kind == "advice" for q in QUESTIONS) >= 50
    assert sum(any(a.episode in LECTURES for a in q.answers) for q in QUESTIONS) >= 20
    assert len({q.q for q in QUESTIONS}) == len(QUESTIONS)


def test_hybrid_meets_its_measured_floor(metrics):
    hybrid = metrics["hybrid"]
    assert hybrid["all"].hit_at_5 >= HYBRID_HIT_AT_5, hybrid["all"].misses
    assert hybrid["all"].mrr_at_10 >= HYBRID_MRR, hybrid["all"].misses
    assert hybrid["advice"].hit_at_5 >= ADVICE_HIT_AT_5 and hybrid["advice"].mrr_at_10 >= ADVICE_MRR


def test_hybrid_beats_each_alone(metrics):
    assert metrics["hybrid"]["all"].mrr_at_10 > metrics["dense"]["all"].mrr_at_10
    assert metrics["hybrid"]["all"].mrr_at_10 > metrics["keyword"]["all"].mrr_at_10

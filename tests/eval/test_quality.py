"""Search quality with the real model on the learner questions: a regression fails CI.

Measured on 2026-11-23 (bench/quality.py), with answer-first hits and joined stretches: hybrid
hit@5 0.667 and MRR@10 0.606, dense 0.639 / 0.561, keyword 0.389 / 0.299 (before them: hybrid
0.667 / 0.580). The floors leave a little room.
"""
from pathlib import Path

import pytest

from ingest import Library
from index import Index
from index.evaluate import evaluate, load_questions

pytestmark = pytest.mark.slow

QUESTIONS = load_questions(Path(__file__).with_name("questions.toml"))
HYBRID_HIT_AT_5 = 0.63
HYBRID_MRR = 0.58


@pytest.fixture(scope="module")
def metrics(real_kb):
    with Library(real_kb) as library:
        index = Index(library)
        return {mode: evaluate(index, QUESTIONS, mode) for mode in ("keyword", "dense", "hybrid")}


def test_the_question_set_is_large_enough():
    assert len(QUESTIONS) >= 30


def test_hybrid_meets_its_measured_floor(metrics):
    hybrid = metrics["hybrid"]
    assert hybrid.hit_at_5 >= HYBRID_HIT_AT_5, hybrid.misses
    assert hybrid.mrr_at_10 >= HYBRID_MRR, hybrid.misses


def test_hybrid_beats_each_alone(metrics):
    assert metrics["hybrid"].mrr_at_10 > metrics["dense"].mrr_at_10
    assert metrics["hybrid"].mrr_at_10 > metrics["keyword"].mrr_at_10

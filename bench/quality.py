"""Search quality on both evaluation corpora in one run: the samples (tests/eval/questions.toml) and a
real interview podcast, Founders Talk (tests/eval/founderstalk.toml), per kind of question.

    .venv/bin/python bench/quality.py [--cache DIR] [--model NAME ...] [--setting KEY=VALUE ...] [--misses] [--ask]

Every figure is the whole `KnowledgeBase.search` call, as a user makes it: hit@1, hit@5 and MRR@10
over the top 10 hits (with --ask, the hits of `KnowledgeBase.ask`, whose first hits its answer spans
re-order). Knowledge bases are built once per model into --cache (default ~/.cache/podkb/quality)
and reused. --setting changes a ranking setting for the run only (e.g. dense_weight=0.7); repeat
--setting to compare several in one run ("name:k=v,k=v" for a row name).
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path

from podkb import KnowledgeBase
from podkb.index.evaluate import load_questions, metrics
from podkb.ingest import EpisodeInfo

ROOT = Path(__file__).resolve().parent.parent
CORPORA = {
    "samples": (ROOT / "tests" / "eval" / "questions.toml", [ROOT / "transcripts"], EpisodeInfo()),
    "founderstalk": (ROOT / "tests" / "eval" / "founderstalk.toml", [ROOT / "tests" / "eval" / "founderstalk" / "episodes"],
                     EpisodeInfo(show="Founders Talk")),
    "brainscience": (ROOT / "tests" / "eval" / "brainscience.toml", [ROOT / "tests" / "eval" / "brainscience" / "episodes"],
                     EpisodeInfo(show="Brain Science")),
}


def build(corpus: str, model: str | None, cache: Path) -> Path:
    folder = cache / f"{corpus}-{(model or 'default').replace('/', '_')}"
    with KnowledgeBase(folder, model=model, check_model=False) as kb:
        _, paths, info = CORPORA[corpus]
        began = time.perf_counter()
        kb.add([str(p) for p in paths], info)
        if model and kb.model != model:
            kb.reindex(model)
        if time.perf_counter() - began > 1:
            print(f"<!-- built {folder} in {time.perf_counter() - began:.0f} s -->")
    return folder


def settings(text: str) -> tuple[str, dict]:
    name, _, pairs = text.rpartition(":") if ":" in text else ("", "", text)
    values = {}
    for pair in filter(None, pairs.split(",")):
        key, _, value = pair.partition("=")
        values[key.strip()] = type_of(value.strip())
    return name or pairs, values


def type_of(value: str):
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value.lower(), value)


def evaluate(kb: KnowledgeBase, questions, overrides: dict, asked: bool = False) -> dict:
    from podkb.index.evaluate import answers

    ranks = []
    for question in questions:
        hits = kb.ask(question.q, k=10, sync=False).hits if asked else kb.search(question.q, k=10, sync=False)
        ranks.append(next((n for n, hit in enumerate(hits, 1) if answers(hit, question)), None))
    out = {"all": metrics("all", questions, ranks)}
    for kind in sorted({q.kind for q in questions}):
        chosen = [(q, r) for q, r in zip(questions, ranks) if q.kind == kind]
        out[kind] = metrics(kind, [q for q, _ in chosen], [r for _, r in chosen])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("PODKB_CACHE", Path.home() / ".cache" / "podkb"))
                        / "quality")
    parser.add_argument("--model", action="append", help="embedding model; repeat to compare (default: the default)")
    parser.add_argument("--setting", action="append", default=[], help="ranking settings for one row: [name:]k=v,...")
    parser.add_argument("--corpus", action="append", choices=list(CORPORA), help="only these corpora")
    parser.add_argument("--misses", action="store_true", help="list the questions missed in the top 10")
    parser.add_argument("--ask", action="store_true", help="the hits of ask (re-ordered by their answer spans), not search")
    args = parser.parse_args()
    print(f"# Search quality; {platform.node()} ({platform.machine()}, {os.cpu_count()} cores), {date.today()}")
    print()
    print("| corpus | model | settings | kind | questions | hit@1 | hit@5 | MRR@10 |")
    print("|---|---|---|---|---|---|---|---|")
    rows = [settings(s) for s in args.setting] or [("default", {})]
    for corpus in args.corpus or list(CORPORA):
        questions = load_questions(CORPORA[corpus][0])
        for model in args.model or [None]:
            with KnowledgeBase(build(corpus, model, args.cache)) as kb:
                base = asdict(kb.config)
                for name, overrides in rows:
                    kb.configure(**{k: v for k, v in base.items() if k != "model"})
                    if overrides:
                        kb.configure(**overrides)
                    result = evaluate(kb, questions, overrides, args.ask)
                    for kind, m in result.items():
                        print(f"| {corpus} | {kb.model} | {name} | {kind} | {m.questions} | {m.hit_at_1:.3f} | "
                              f"{m.hit_at_5:.3f} | {m.mrr_at_10:.3f} |")
                    if args.misses:
                        for q in result["all"].misses:
                            print(f"| | | | missed: {q} | | | | |")
                kb.configure(**{k: v for k, v in base.items() if k != "model"})


if __name__ == "__main__":
    main()

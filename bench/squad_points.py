"""A public benchmark anyone can rerun: key points on Spoken-SQuAD's held-out articles.

    .venv/bin/python bench/squad_points.py --squad spoken_test-v1.1.json [--code ROOT] [--questions 400]

Spoken-SQuAD (CC BY-SA 4.0, github.com/Chia-Hsuan-Lee/Spoken-SQuAD) holds SQuAD questions over ASR
transcripts of read Wikipedia articles. The answer judge of issue 37 (branch issue37-judge,
bench/train_judge.py there) trains on its first SQUAD_TRAIN articles; this benchmark uses only the
others (split by article, never by question), so that every version is measured on the same unseen ones. Each held-out article becomes one episode (its paragraphs as the paragraphs of a
plain-text transcript, each sentence given its capital as a transcriber writes it), all in one
knowledge base, built with ``podkb add``. Then every question (or the first --questions of them, in
order) is asked as a user asks it (``KnowledgeBase.ask``), and scored automatically: does the first key
point contain a gold answer (any of SQuAD's answer texts, case and punctuation ignored), does any point
shown, and was the question answered at all.

``--code ROOT`` runs another checkout of podkb (a git worktree of the commit before), as
bench/same_output.py does, so that both are measured on the same questions.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SQUAD_TRAIN = 36  # the articles the answer judge learns from (bench/train_judge.py, branch issue37-judge)


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def cased(text: str) -> str:
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text.strip())


def write_episodes(squad: Path, folder: Path) -> list[tuple[str, list[str]]]:
    """One plain-text transcript per held-out article in ``folder``; its (question, answers) in order."""
    data = json.loads(squad.read_text(encoding="utf-8"))["data"][SQUAD_TRAIN:]
    questions = []
    for article in data:
        name = re.sub(r"[^A-Za-z0-9]+", "-", article["title"]).strip("-").lower()
        text = "\n\n".join(cased(p["context"]) for p in article["paragraphs"])
        (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
        for paragraph in article["paragraphs"]:
            questions += [(qa["question"], [a["text"] for a in qa["answers"]]) for qa in paragraph["qas"]]
    return questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, required=True)
    parser.add_argument("--code", type=Path, default=HERE)
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--keep", type=Path, help="build the knowledge base here (and reuse it)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    from podkb import KnowledgeBase

    with tempfile.TemporaryDirectory(prefix="podkb-squad-") as tmp:
        episodes = Path(tmp) / "episodes"
        episodes.mkdir()
        questions = write_episodes(args.squad, episodes)
        folder = args.keep or Path(tmp) / "kb"
        with KnowledgeBase(folder) as kb:
            kb.add([str(episodes)])
            kb.ask("warm up")
            first = shown = answered = asked = 0
            began = time.perf_counter()
            for question, answers in questions[:args.questions]:
                gold = [norm(a) for a in answers if norm(a)]
                result = kb.ask(question, k=5)
                texts = [norm(p.text) for p in result.points]
                first += bool(texts) and any(g in texts[0] for g in gold)
                shown += any(g in t for t in texts for g in gold)
                answered += result.answered
                asked += 1
            took = time.perf_counter() - began
    print("| code | questions | first point holds a gold answer | any point does | answered | ms per ask |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.code.resolve().name} | {asked} | {first / asked:.3f} | {shown / asked:.3f} | "
          f"{answered / asked:.3f} | {1000 * took / asked:.0f} |")


if __name__ == "__main__":
    main()

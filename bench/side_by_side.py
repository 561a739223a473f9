"""Two checkouts of podkb timed side by side, in one run: the calls a user makes, interleaved.

    .venv/bin/python bench/side_by_side.py --before ROOT --after ROOT [--rounds 2] [--corpus brainscience]

Each checkout runs in processes of its own, with its folders first on ``sys.path`` (as
bench/same_output.py does), in turn: before, after, before, after, ... so that a busy moment of the
machine falls on both. Timed:

- the first build of the samples: ``podkb add transcripts/`` into a new folder, the whole command
  (model load, indexing, chapters) in a fresh process;
- ``podkb add`` of a real corpus (tests/eval/<corpus>/episodes, with its show), the same way;
- ``KnowledgeBase.search`` and ``KnowledgeBase.ask`` on the samples, every question of
  tests/eval/questions.toml, in one warm process per checkout and round (p50 and p90 in ms).

Prints a Markdown table for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
CORPORA = {"brainscience": "Brain Science", "founderstalk": "Founders Talk"}

_ADD = """
import sys
sys.path.insert(0, {root!r})
from podkb.ui.cli import cli
cli({args!r}, standalone_mode=False)
"""

_CALLS = """
import json, sys, time
sys.path.insert(0, {root!r})
from podkb import KnowledgeBase
questions = {questions!r}
out = {{"search": [], "ask": []}}
with KnowledgeBase({kb!r}) as kb:
    kb.search("warm up the model", k=5)
    kb.ask("warm up the judge", k=5)
    for call in ("search", "ask"):
        for question in questions:
            began = time.perf_counter()
            getattr(kb, call)(question, k=5)
            out[call].append((time.perf_counter() - began) * 1000)
print(json.dumps(out))
"""


def env() -> dict:
    return dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")


def add(root: Path, paths: list[str], show: str | None) -> float:
    """Seconds of a whole `podkb add` into a new folder, in a fresh process."""
    with tempfile.TemporaryDirectory(prefix="podkb-bench-") as tmp:
        args = ["add", *paths, "--kb", str(Path(tmp) / "kb")] + (["--show", show] if show else [])
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", _ADD.format(root=str(root), args=args)], check=True, env=env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
        return time.perf_counter() - began


def calls(root: Path, kb: Path, questions: list[str]) -> dict[str, list[float]]:
    done = subprocess.run([sys.executable, "-c", _CALLS.format(root=str(root), kb=str(kb), questions=questions)],
                          check=True, env=env(), capture_output=True, text=True, cwd=tempfile.gettempdir())
    return json.loads(done.stdout.strip().splitlines()[-1])


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=HERE)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--corpus", choices=list(CORPORA), default="brainscience")
    args = parser.parse_args()
    roots = {"before": args.before.resolve(), "after": args.after.resolve()}
    data = tomllib.loads((HERE / "tests/eval/questions.toml").read_text(encoding="utf-8"))
    questions = [item["q"] for item in data["question"]]
    corpus = str(HERE / "tests/eval" / args.corpus / "episodes")
    found = {name: {"samples": [], "corpus": [], "search": [], "ask": []} for name in roots}
    with tempfile.TemporaryDirectory(prefix="podkb-bench-kb-") as tmp:
        built = {}
        for name, root in roots.items():  # each checkout searches the samples as it built them
            built[name] = Path(tmp) / name
            subprocess.run([sys.executable, "-c", _ADD.format(root=str(root), args=[
                "add", str(HERE / "transcripts"), "--kb", str(built[name])])], check=True, env=env(),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
        for n in range(args.rounds):
            order = list(roots.items()) if n % 2 == 0 else list(reversed(roots.items()))
            for name, root in order:
                found[name]["samples"].append(add(root, [str(HERE / "transcripts")], None))
                found[name]["corpus"].append(add(root, [corpus], CORPORA[args.corpus]))
                timed = calls(root, built[name], questions)
                found[name]["search"] += timed["search"]
                found[name]["ask"] += timed["ask"]
                print(f"round {n + 1}, {name}: samples {found[name]['samples'][-1]:.1f} s, {args.corpus} "
                      f"{found[name]['corpus'][-1]:.1f} s", file=sys.stderr)
    print(f"## Side by side: `bench/side_by_side.py --before {args.before} --after {args.after}` "
          f"({date.today()}, {platform.node()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, {args.rounds} rounds interleaved)\n")
    print("| call | before | after | after / before |")
    print("|---|---|---|---|")
    for key, label in (("samples", "first build of the samples, `podkb add transcripts/` (s, median)"),
                       ("corpus", f"`podkb add` of {CORPORA[args.corpus]} (s, median)")):
        b, a = statistics.median(found["before"][key]), statistics.median(found["after"][key])
        print(f"| {label} | {b:.1f} | {a:.1f} | {a / b:.2f} |")
    for key in ("search", "ask"):
        for q in (0.5, 0.9):
            b, a = p(found["before"][key], q), p(found["after"][key], q)
            print(f"| `KnowledgeBase.{key}` p{int(q * 100)} (ms, {len(found['after'][key])} calls) | {b:.1f} | "
                  f"{a:.1f} | {a / b:.2f} |")


if __name__ == "__main__":
    main()

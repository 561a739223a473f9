"""What going through Simon Willison's `llm` costs against a hand-written client, for `podkb ask --llm`.

    .venv/bin/python bench/llm_client.py [--kb DIR] [--rounds 5]

Serves SmolLM2-135M-Instruct on 127.0.0.1 (tests/llmserver.py), then, for the same prompts (podkb's own,
from ask's spans for the advice questions of tests/eval/questions.toml), times in one process:
- `llm`: `llm.get_model(name).prompt(text, stream=True)`, read to its end (podkb/written.py's path), and
  the same through llm-ollama (`ollama/smollm2`, Ollama's protocol);
- the baseline: a hand-written streaming client for OpenAI's protocol on the standard library
  (http.client, server-sent events parsed by hand): what podkb would carry without `llm`.
Reports the first import of `llm` (in a fresh process), the time to the first words and to the end, and
what each path adds to the model's own generation (the same greedy reply, so the same tokens).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from llmserver import Served  # noqa: E402

from podkb import KnowledgeBase  # noqa: E402
from podkb.index.evaluate import load_questions  # noqa: E402
from podkb.written import prompt, sources  # noqa: E402


def by_hand(base: str, text: str):
    """A plain streaming chat completion over http.client: the text pieces as they arrive."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    body = json.dumps({"model": "smollm2", "stream": True, "messages": [{"role": "user", "content": text}]})
    connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    for line in response:
        line = line.strip()
        if line.startswith(b"data: ") and line != b"data: [DONE]":
            piece = json.loads(line[6:])["choices"][0]["delta"].get("content")
            if piece:
                yield piece
    connection.close()


def through_llm(name: str, text: str):
    import llm

    yield from llm.get_model(name).prompt(text, stream=True)


def timed(stream) -> tuple[float, float, str]:
    start = time.perf_counter()
    first, parts = None, []
    for piece in stream:
        if first is None:
            first = time.perf_counter() - start
        parts.append(piece)
    return first or 0.0, time.perf_counter() - start, "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb", type=Path, help="a knowledge base of the samples (default: built in a temp folder)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--questions", type=int, default=4)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp())
    server = Served(max_new_tokens=64)  # in a process of its own, as a user's server is
    server.load()
    (home / "extra-openai-models.yaml").write_text(
        f"- model_id: smollm2\n  model_name: smollm2\n  api_base: {server.base}/v1\n")
    os.environ.update(LLM_USER_PATH=str(home), OLLAMA_HOST=server.base)
    imported = subprocess.run([sys.executable, "-c", "import time; t = time.perf_counter(); import llm; "
                               "llm.get_model('smollm2'); print(time.perf_counter() - t)"],
                              capture_output=True, text=True, env=os.environ, check=True)
    kb = args.kb
    if kb is None:
        kb = home / "kb"
        with KnowledgeBase(kb) as base:
            base.add([str(ROOT / "transcripts")])
    questions = [q.q for q in load_questions(ROOT / "tests" / "eval" / "questions.toml") if q.kind == "advice"]
    with KnowledgeBase(kb) as base:
        texts = [prompt(q, sources(base.ask(q))) for q in questions[:args.questions]]
    paths = {"hand-written (http.client)": lambda text: by_hand(server.base, text),
             "llm, OpenAI protocol": lambda text: through_llm("smollm2", text),
             "llm-ollama, Ollama protocol": lambda text: through_llm("ollama/smollm2", text)}
    for path in paths.values():  # warm: imports, plugin registration, the model's first run
        timed(path(texts[0]))
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
    replies: dict[str, set[str]] = {name: set() for name in paths}
    for _ in range(args.rounds):
        for text in texts:
            for name, path in paths.items():  # interleaved: the machine's drift falls on each alike
                first, total, reply = timed(path(text))
                results[name].append((first, total))
                replies[name].add(reply)
    print(f"{len(texts)} prompts x {args.rounds} rounds, SmolLM2-135M (64 new tokens, greedy) on 127.0.0.1")
    print(f"first `import llm` + get_model in a fresh process: {float(imported.stdout):.2f} s\n")
    print("| client | first words p50 | whole reply p50 | whole reply mean |")
    print("|---|---|---|---|")
    for name, rows in results.items():
        firsts, totals = [r[0] for r in rows], [r[1] for r in rows]
        print(f"| {name} | {statistics.median(firsts) * 1000:.0f} ms | {statistics.median(totals) * 1000:.0f} ms "
              f"| {statistics.mean(totals) * 1000:.0f} ms |")
    same = len({frozenset(v) for v in replies.values()}) == 1
    print(f"\nthe same replies on every path: {same}")
    server.close()


if __name__ == "__main__":
    main()

"""Does a change keep podkb's answers byte for byte? The CLI's output for every question of the three
evaluation corpora, from two versions of the code, compared.

    .venv/bin/python bench/same_output.py build --code ROOT --kb DIR      # the corpora, added by ROOT's podkb add
    .venv/bin/python bench/same_output.py run --code ROOT --kb DIR --out FILE
    .venv/bin/python bench/same_output.py json --code ROOT --kb DIR --out FILE   # the JSON only, one open a corpus
    .venv/bin/python bench/same_output.py compare A B

``--code`` is a checkout of podkb (this one by default; a ``git worktree`` of the commit before for the
baseline): its folders are put first on ``sys.path``, so that version's podkb runs. ``build`` adds each
corpus with ``podkb add`` into DIR/<corpus>. ``run`` asks every question of every corpus (answerable
and not) as a user does, through the CLI in this process: ``podkb search --json``, ``podkb ask --json``,
``podkb search`` and ``podkb ask`` (the text a terminal shows, without colour), and writes one JSON line
per command with its stdout, stderr and exit code. ``compare`` says how many lines are the same and
shows the first that differ.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
CORPORA = {  # name: (questions, episodes, the show every episode belongs to)
    "samples": ("tests/eval/questions.toml", "transcripts", None),
    "founderstalk": ("tests/eval/founderstalk.toml", "tests/eval/founderstalk/episodes", "Founders Talk"),
    "brainscience": ("tests/eval/brainscience.toml", "tests/eval/brainscience/episodes", "Brain Science"),
}
COMMANDS = (("search", "--json"), ("ask", "--json"), ("search",), ("ask",))


def use(code: Path):
    """The CLI of the podkb in ``code``."""
    sys.path.insert(0, str(code.resolve()))
    import podkb
    from podkb.ui.cli import cli

    assert Path(podkb.__file__).resolve().is_relative_to(code.resolve()), podkb.__file__
    return cli


def questions(name: str) -> list[str]:
    data = tomllib.loads((HERE / CORPORA[name][0]).read_text(encoding="utf-8"))
    return [item["q"] for kind in ("question", "unanswerable") for item in data.get(kind, [])]


def build(cli, kb: Path) -> None:
    from click.testing import CliRunner

    for name, (_, episodes, show) in CORPORA.items():
        began = time.perf_counter()
        args = ["add", str(HERE / episodes), "--kb", str(kb / name)] + (["--show", show] if show else [])
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        print(f"{name}: exit {result.exit_code} in {time.perf_counter() - began:.0f} s; {result.stderr.strip()[-200:]}")


def run(cli, kb: Path, out: Path) -> None:
    from click.testing import CliRunner

    began, count = time.perf_counter(), 0
    with out.open("w", encoding="utf-8") as sink:
        for name in CORPORA:
            for question in questions(name):
                for command in COMMANDS:
                    result = CliRunner().invoke(cli, [command[0], question, *command[1:], "--kb", str(kb / name)])
                    line = {"corpus": name, "command": " ".join(command), "question": question,
                            "exit": result.exit_code, "stdout": result.stdout, "stderr": result.stderr}
                    if result.exception and not isinstance(result.exception, SystemExit):
                        line["exception"] = repr(result.exception)
                    sink.write(json.dumps(line, ensure_ascii=False) + "\n")
                    count += 1
    print(f"{count} commands in {time.perf_counter() - began:.0f} s -> {out}")


def run_json(code: Path, kb: Path, out: Path) -> None:
    """What `podkb search --json` and `podkb ask --json` print for every question, from one open knowledge base
    a corpus (the CLI opens it, and loads the model, once a command: an hour for the three corpora)."""
    import podkb  # noqa: F401 - ``use`` put this version first

    from podkb import KnowledgeBase

    began, count = time.perf_counter(), 0
    with out.open("w", encoding="utf-8") as sink:
        for name in CORPORA:
            with KnowledgeBase(kb / name) as base:
                for question in questions(name):
                    for command, payload in (("search --json", lambda: [h.to_dict() for h in base.search(question, k=10)]),
                                             ("ask --json", lambda: base.ask(question).to_dict())):
                        line = {"corpus": name, "command": command, "question": question, "exit": 0,
                                "stdout": json.dumps(payload(), indent=2, ensure_ascii=False) + "\n", "stderr": ""}
                        sink.write(json.dumps(line, ensure_ascii=False) + "\n")
                        count += 1
    print(f"{count} answers in {time.perf_counter() - began:.0f} s -> {out}")


def compare(a: Path, b: Path) -> int:
    left = a.read_text(encoding="utf-8").splitlines()
    right = b.read_text(encoding="utf-8").splitlines()
    same = sum(x == y for x, y in zip(left, right))
    print(f"{same} of {max(len(left), len(right))} commands give byte-identical output "
          f"({len(left)} in {a.name}, {len(right)} in {b.name})")
    shown = 0
    for x, y in zip(left, right):
        if x != y and shown < 3:
            x, y = json.loads(x), json.loads(y)
            print(f"\n{x['corpus']}: podkb {x['command']} {x['question']!r}")
            for key in ("exit", "stdout", "stderr", "exception"):
                if x.get(key) != y.get(key):
                    print(f"  {key}:\n    before: {str(x.get(key))[:600]!r}\n    after:  {str(y.get(key))[:600]!r}")
            shown += 1
    return 0 if same == len(left) == len(right) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["build", "run", "json", "compare"])
    parser.add_argument("files", nargs="*", type=Path, help="compare: the two outputs")
    parser.add_argument("--code", type=Path, default=HERE, help="the podkb checkout to run (default: this one)")
    parser.add_argument("--kb", type=Path, help="the folder of the corpora's knowledge bases")
    parser.add_argument("--out", type=Path, help="run: the output file (JSON lines)")
    args = parser.parse_args()
    if args.action == "compare":
        sys.exit(compare(*args.files))
    cli = use(args.code)
    if args.action == "build":
        build(cli, args.kb)
    elif args.action == "json":
        run_json(args.code, args.kb, args.out)
    else:
        run(cli, args.kb, args.out)


if __name__ == "__main__":
    main()

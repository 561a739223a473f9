"""`podkb mcp`: the official MCP client spawns it over stdio on the samples indexed with the real model;
hostile requests are sent as raw JSON-RPC lines to a server over a knowledge base of the fake embedder."""
import asyncio
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from .conftest import BAD, FAKE_MODEL, TRANSCRIPTS, built

BIN = Path(sys.executable).parent
TOOLS = {"search", "ask", "context", "episodes", "save_quote"}


@pytest.fixture
def kb(real_kb, tmp_path):
    copy = tmp_path / "kb"
    shutil.copytree(real_kb, copy)
    return copy


def serve(kb: Path, *extra: str) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if k != "PODKB_MODEL"}
    return StdioServerParameters(command=str(BIN / "podkb"), args=["mcp", "--kb", str(kb), *extra], env=env)


def session(kb: Path, *extra: str):
    """Run ``body(client)`` against a fresh server: the official client over stdio."""
    def run(body):
        async def main():
            async with stdio_client(serve(kb, *extra)) as (read, write), ClientSession(read, write) as client:
                await client.initialize()
                return await body(client)
        return asyncio.run(main())
    return run


def data(result):
    """A tool result's value (structured when the tool returns one), after checking it is not an error."""
    assert not result.is_error, result.content
    if result.structured_content is not None:
        value = result.structured_content
        return value["result"] if set(value) == {"result"} else value
    return json.loads(result.content[0].text)


def error_text(result) -> str:
    assert result.is_error, result
    return " ".join(getattr(c, "text", "") for c in result.content)


@pytest.mark.slow  # the real model
def test_tools_answer_with_citations_context_and_saved_quotes(kb):
    async def body(client):
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        search = tools["search"]
        assert search.input_schema["required"] == ["query"]
        assert search.input_schema["properties"]["k"]["type"] == "integer"
        assert set(search.input_schema["properties"]) == {"query", "k", "show", "episode", "speaker", "date_from",
                                                          "date_to"}
        assert "Show — Episode — Speaker — MM:SS" in search.description
        assert tools["save_quote"].input_schema["required"] == ["collection", "episode", "start"]

        hits = data(await client.call_tool("search", {"query": "how to avoid burnout"}))
        assert hits and hits[0]["show"] == "Chai Time Data Science" and isinstance(hits[0]["start"], float)
        top = hits[0]
        assert top["citation"].startswith("Chai Time Data Science — ") and top["time"] in top["citation"]

        around = data(await client.call_tool("context", {"episode": top["episode_id"], "start": top["start"]}))
        times = [line["start"] for line in around["lines"]]
        assert times and min(times) <= top["start"] <= max(times) + 30 and all(line["text"] for line in around["lines"])
        assert any(line["text"][:40] in top["text"] for line in around["lines"])

        answer = data(await client.call_tool("ask", {"question": "how many hours to become an expert"}))
        assert answer["points"] and all(p["citation"] for p in answer["points"])
        listed = data(await client.call_tool("episodes", {}))
        assert len(listed) == 5 and {"id", "show", "date", "duration", "source"} <= set(listed[0])

        saved = data(await client.call_tool("save_quote", {"collection": "Burnout", "episode": top["episode_id"],
                                                           "start": top["start"], "note": "from an assistant"}))
        page = await client.read_resource("podkb://collection/Burnout")
        episode = await client.read_resource(f"podkb://episode/{top['episode_id']}")
        return saved, page.contents[0].text, episode.contents[0].text

    saved, markdown, transcript = session(kb)(body)
    exported = subprocess.run([str(BIN / "podkb"), "export", "Burnout", "--kb", str(kb)], capture_output=True,
                              text=True, check=True).stdout
    assert markdown == exported and saved["text"].split()[0] in exported and "from an assistant" in exported
    assert transcript.splitlines()[0].startswith("Chai Time Data Science")
    assert re.match(r"\[\d\d:\d\d\] Sanyam Bhutani: ", transcript.splitlines()[1])


@pytest.mark.slow  # the real model
def test_bad_arguments_are_tool_errors_and_the_server_goes_on(kb):
    async def body(client):
        errors = [
            error_text(await client.call_tool("search", {})),
            error_text(await client.call_tool("search", {"query": "burnout", "k": "many"})),
            error_text(await client.call_tool("search", {"query": "   "})),
            error_text(await client.call_tool("search", {"query": "burnout", "k": 100000})),
            error_text(await client.call_tool("search", {"query": "burnout", "date_from": "2024-13"})),
            error_text(await client.call_tool("context", {"episode": "no-such-episode", "start": 10})),
            error_text(await client.call_tool("save_quote", {"collection": "X", "episode": "nope", "start": 1})),
            error_text(await client.call_tool("search", {"query": "burnout", "episode": "<script>"})),
        ]
        good = data(await client.call_tool("search", {"query": "how to avoid burnout", "k": 2}))
        return errors, good

    errors, good = session(kb)(body)
    assert "query" in errors[0] and "k" in errors[1] and "empty" in errors[2] and "between 1 and 50" in errors[3]
    assert "bad date" in errors[4] and "no episode 'no-such-episode'" in errors[5] and "no episode" in errors[6]
    assert len(good) == 2


@pytest.mark.slow  # the real model
def test_read_only_refuses_to_save(kb):
    async def body(client):
        return error_text(await client.call_tool("save_quote", {"collection": "X", "episode": "chai", "start": 60}))

    assert "read-only" in session(kb, "--read-only")(body)


@pytest.mark.slow  # the real model
def test_an_episode_added_by_another_process_shows_up_in_the_next_search(kb, tmp_path):
    talk = tmp_path / "glaciers.srt"
    talk.write_text("1\n00:00:01,000 --> 00:00:09,000\nTo photograph glaciers at dawn, bring spare batteries: "
                    "the cold drains them within an hour, so keep them in an inner pocket.\n")
    question = {"query": "how to photograph glaciers in the cold", "k": 3}

    async def body(client):
        before = data(await client.call_tool("search", question))
        adding = await asyncio.create_subprocess_exec(str(BIN / "podkb"), "add", str(talk), "--kb", str(kb),
                                                      stderr=asyncio.subprocess.PIPE,
                                                      env={k: v for k, v in os.environ.items() if k != "PODKB_MODEL"})
        during = 0
        while adding.returncode is None:  # searches while the other process writes and indexes: never an error
            data(await client.call_tool("search", question))
            during += 1
            try:
                await asyncio.wait_for(adding.wait(), timeout=0.01)
            except asyncio.TimeoutError:
                pass
        after = data(await client.call_tool("search", question))
        return before, adding, during, after

    before, added, during, after = session(kb)(body)
    assert added.returncode == 0 and during >= 1
    assert all(h["episode_id"] != "glaciers" for h in before)
    assert after[0]["episode_id"] == "glaciers" and after[0]["start"] == 1.0


@pytest.mark.slow  # the real model
def test_episodes_left_unindexed_are_indexed_while_the_server_serves_with_log_lines(kb, tmp_path):
    talk = tmp_path / "glaciers.srt"
    talk.write_text("1\n00:00:01,000 --> 00:00:09,000\nTo photograph glaciers at dawn, bring spare batteries: "
                    "the cold drains them within an hour, so keep them in an inner pocket.\n")
    env = {k: v for k, v in os.environ.items() if k != "PODKB_MODEL"}
    stored = subprocess.run([str(BIN / "podkb"), "add", str(talk), "--kb", str(kb), "--no-index"],
                            capture_output=True, text=True, env=env)
    assert stored.returncode == 0, stored.stderr
    question = {"query": "how to photograph glaciers in the cold", "k": 3}
    log = tmp_path / "server.log"

    async def body(client):
        while True:  # states to wait for: the episode is searchable, and the indexing said it is done
            hits = data(await client.call_tool("search", question))
            if hits and hits[0]["episode_id"] == "glaciers" and "indexed 1 episodes" in log.read_text():
                return hits
            await asyncio.sleep(0.05)

    async def main():
        with log.open("w") as errlog:
            async with stdio_client(serve(kb), errlog=errlog) as (read, write), ClientSession(read, write) as client:
                await client.initialize()
                return await asyncio.wait_for(body(client), timeout=300)

    hits = asyncio.run(main())
    assert hits[0]["start"] == 1.0
    lines = log.read_text().splitlines()
    assert "podkb mcp: indexing: 0 of 1 episodes, 0 passages" in lines, lines
    assert any(re.fullmatch(r"podkb mcp: indexed 1 episodes: \d+ passages with \S+", line) for line in lines), lines


class TestRawRequests:
    """Hostile requests as raw JSON-RPC lines, to a server over a knowledge base of their own (not the
    module's copy of the real-model samples) built with the fake embedder."""

    @pytest.fixture
    def kb(self, tmp_path):
        return tmp_path / "kb"

    # MCP answers a request holding a lone surrogate, and bad arguments are one-line tool errors

    def test_mcp_answers_requests_with_lone_surrogates(self, tmp_path, kb):
        built(kb, [TRANSCRIPTS / "karpathy-advice-for-beginners.txt", TRANSCRIPTS / "chai-time-robert-bracco-learning-to-learn.txt"],
              model=FAKE_MODEL)
        env = {**os.environ, "PODKB_MODEL": FAKE_MODEL, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        server = subprocess.Popen([str(Path(sys.executable).parent / "podkb"), "mcp", "--kb", str(kb)], env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        answers = queue.Queue()
        threading.Thread(target=lambda: [answers.put(line) for line in server.stdout], daemon=True).start()
        try:
            def call(n, method, params):
                line = json.dumps({"jsonrpc": "2.0", "id": n, "method": method, "params": params}).replace("BAD", BAD)
                server.stdin.write(line.encode() + b"\n")
                server.stdin.flush()
                try:
                    return json.loads(answers.get(timeout=120))  # a server that drops a request fails, not hangs
                except queue.Empty:
                    pytest.fail(f"the MCP server never answered request {n} ({method})")

            call(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                   "clientInfo": {"name": "t", "version": "1"}})
            server.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
            found = call(2, "tools/call", {"name": "search", "arguments": {"query": "hours BAD expert"}})
            assert found["id"] == 2 and not found["result"]["isError"]
            filtered = call(3, "tools/call", {"name": "search", "arguments": {"query": "hours", "speaker": "BAD"}})
            assert filtered["id"] == 3 and filtered["result"]["structuredContent"]["result"] == []
            resource = call(4, "resources/read", {"uri": "podkb://episode/BAD"})
            assert resource["id"] == 4 and "error" in resource
            bad = call(5, "tools/call", {"name": "search", "arguments": {"query": "hours", "k": "many"}})
            text = bad["result"]["content"][0]["text"]
            assert bad["result"]["isError"] and "\n" not in text and text.startswith("bad arguments for search: k:")
            untimed = call(6, "tools/call", {"name": "context", "arguments": {"episode": "karpathy", "start": "NaN"}})
            assert untimed["result"]["isError"] and "NaN" in untimed["result"]["content"][0]["text"]
            huge = call(7, "tools/call", {"name": "save_quote", "arguments": {"collection": "C", "episode": "chai",
                                                                            "start": 60, "note": "x" * 1_000_000}})
            assert huge["result"]["isError"] and "at most 10,000 characters" in huge["result"]["content"][0]["text"]
        finally:
            server.stdin.close()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()

"""Hardening, round 4 (issue 27): one bad item never costs the others, writers to a user's path never
clobber, and reading never creates. Each test failed on the code before it."""
import json
import os
import queue
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from podkb import KnowledgeBase
from podkb.ui.cli import cli

from .conftest import FAKE_MODEL, TRANSCRIPTS, built
from .fake_embedder import HashEmbedder
from .feedserver import FeedServer, Route

BAD = "\\udcff"  # a JSON escape of a lone surrogate, as a broken exporter writes it


def run(kb, *args, expect=0, env=None):
    result = CliRunner().invoke(cli, [*map(str, args), "--kb", str(kb)], env={"PODKB_MODEL": FAKE_MODEL, **(env or {})})
    assert result.exit_code == expect, result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr
    return result


# 1. One lone-surrogate escape in one file never costs the others

def test_a_folder_with_surrogate_escapes_adds_every_file(tmp_path, kb):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-whisper.json").write_text(
        '{"segments": [{"start": 0, "end": 5, "speaker": "Sp ' + BAD + '", "text": "Rest before you are tired."}]}')
    (folder / "b-podcasting.json").write_text(
        '{"segments": [{"speaker": "Host ' + BAD + '", "startTime": 0, "endTime": 4, "body": "Take whole days off."}]}')
    (folder / "c.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:04.000\nSleep eight hours every night.\n")
    (folder / "c.chapters.json").write_text('{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Intro '
                                            + BAD + '"}]}')
    (folder / "d.txt").write_text("Walk every day for an hour and you think better.")
    result = run(kb, "add", folder)
    assert "4 added" in result.output
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        speakers = {s for e in base.episodes() for s in e.speakers}
        assert {"Sp ?", "Host ?"} <= speakers
        assert [c.title for c in base.chapters("c")][0] == "Intro ?"


def test_a_followed_feed_with_a_surrogate_in_a_transcript_adds_its_items(tmp_path, kb):
    with FeedServer() as server:
        bad = ('{"segments": [{"speaker": "Guest ' + BAD + '", "startTime": 0, "endTime": 5, '
               '"body": "Book two gym sessions each week."}]}').encode()
        good = b"WEBVTT\n\n00:00.000 --> 00:04.000\nStop work at six every evening.\n"
        server.routes["/a.json"] = Route(bad, content_type="application/json")
        server.routes["/b.vtt"] = Route(good, content_type="text/vtt")
        server.routes["/feed.xml"] = Route(feed(server.url, [("a", f"{server.url}/a.json", "application/json"),
                                                             ("b", f"{server.url}/b.vtt", "text/vtt")]),
                                           content_type="application/rss+xml")
        result = run(kb, "feed", f"{server.url}/feed.xml", "--allow-private")
        assert "2 added" in result.output
        assert "nothing new" in run(kb, "feed", "--allow-private").output  # and again, no crash


def feed(base: str, items: list[tuple[str, str | None, str | None]], enclosures: dict | None = None) -> bytes:
    """An RSS feed whose items have a <podcast:transcript> (url, type), and an enclosure where given."""
    entries = []
    for guid, url, kind in items:
        transcript = f'<podcast:transcript url="{url}" type="{kind}"/>' if url else ""
        enclosure = (enclosures or {}).get(guid)
        enclosed = f'<enclosure url="{enclosure}" type="audio/mpeg" length="10"/>' if enclosure else ""
        entries.append(f"<item><guid>{guid}</guid><title>Item {guid}</title>{transcript}{enclosed}</item>")
    return ('<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
            f'<channel><title>Show</title><link>{base}</link>{"".join(entries)}</channel></rss>').encode()


# 2. export -o writes through links and keeps modes

@pytest.fixture
def quoted(kb, tmp_path):
    built(kb, [TRANSCRIPTS / "fastbook-reading-session-jeremy-howard.txt"], model=FAKE_MODEL)
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        base.quote("Rest", "fastbook", 60.0)
    return kb


def test_export_onto_a_symlink_writes_its_target_and_keeps_its_mode(quoted, tmp_path):
    target = tmp_path / "real.md"
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "link.md"
    link.symlink_to(target)
    run(quoted, "export", "Rest", "--format", "markdown", "-o", link)
    assert link.is_symlink() and target.read_text().startswith("# Rest")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []


def test_export_into_a_fifo_streams_and_a_full_device_is_an_error(quoted, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    run(quoted, "export", "Rest", "--format", "json", "-o", fifo)
    reader.join(30)
    assert json.loads(got[0])["collection"] == "Rest" and stat.S_ISFIFO(fifo.stat().st_mode)
    if Path("/dev/full").exists():
        result = run(quoted, "export", "Rest", "--format", "json", "-o", "/dev/full", expect=1)
        assert "cannot write /dev/full: No space left on device" in result.stderr
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


# 3. A speaker renamed while the episode is being indexed keeps the new name

def test_a_rename_during_indexing_survives(tmp_path, kb, monkeypatch):
    from podkb.index.store import Index

    path = tmp_path / "talk.vtt"
    path.write_text("WEBVTT\n\n" + "\n\n".join(
        f"00:{i:02d}.000 --> 00:{i:02d}.900\n<v Guest>Rest before you are tired, sentence {i}." for i in range(40)))
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        base.add([str(path)], index=False)
    embed = Index._embed

    def embed_then_rename(self, batch):  # another process renames while this one embeds
        embed(self, batch)
        with KnowledgeBase(kb, model=FAKE_MODEL) as other:
            assert other.rename_speaker("Guest", "Amit Varma") > 0

    monkeypatch.setattr(Index, "_embed", embed_then_rename)
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        base.sync()
    monkeypatch.undo()
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        hits = base.search("rest before you are tired", k=3)
        assert hits and all(h.speaker == "Amit Varma" for h in hits)
        assert base.search("rest", k=3, speaker="Amit Varma")
        assert base._library.db.execute("SELECT count(*) FROM speaker_stats WHERE speaker = 'Guest'").fetchone()[0] == 0


# 6. MCP answers a request holding a lone surrogate

def test_mcp_answers_requests_with_lone_surrogates(tmp_path, kb):
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


# 7. One malformed URL in one item costs that item, not the feed

def test_a_feed_with_one_broken_url_adds_its_good_items(tmp_path, kb):
    with FeedServer() as server:
        server.routes["/good.vtt"] = Route(b"WEBVTT\n\n00:00.000 --> 00:04.000\nRest before you are tired.\n",
                                           content_type="text/vtt")
        server.routes["/feed.xml"] = Route(feed(server.url, [("good", f"{server.url}/good.vtt", "text/vtt"),
                                                             ("broken", "http://[fe80::1/t.vtt", "text/vtt")],
                                                {"broken": "http://[fe80::1/x.mp3"}),
                                           content_type="application/rss+xml")
        result = run(kb, "feed", f"{server.url}/feed.xml", "--allow-private", expect=1)
        assert "1 added" in result.output and "Invalid IPv6 URL" in result.stderr
        with KnowledgeBase(kb, model=FAKE_MODEL) as base:
            assert [e.title for e in base.episodes()] == ["Item good"]
    result = run(kb, "feed", "http://[::1", expect=1)
    assert "not a URL" in result.stderr


# 8, 10, 11: side files are warnings, dates are ASCII, titles are capped

def test_a_broken_date_or_a_huge_title_in_an_info_json_is_a_warning(tmp_path, kb):
    (tmp_path / "talk.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:04.000\nRest before you are tired.\n")
    (tmp_path / "talk.info.json").write_text(json.dumps({"title": "T" * 100_000, "upload_date": "20211301"}))
    (tmp_path / "wide.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:04.000\nSleep eight hours a night.\n")
    (tmp_path / "wide.info.json").write_text(json.dumps({"title": "Wide", "upload_date": "２０２１０３０４"}))
    result = run(kb, "add", tmp_path / "talk.vtt", tmp_path / "wide.vtt")
    assert "2 added" in result.output
    assert "date '2021-13-01' is not a date" in result.stderr and "cut to 300" in result.stderr
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        episodes = {e.id: e for e in base.episodes()}
        assert episodes["talk"].date is None and len(episodes["talk"].title) == 300
        assert episodes["wide"].date is None


def test_dates_with_non_ascii_digits_are_refused(quoted):
    result = run(quoted, "edit", "fastbook", "--date", "２０２１-０３-０４", expect=1)
    assert "not a date" in result.stderr
    result = run(quoted, "search", "rest", "--from", "２０２０", expect=2)
    assert "YYYY" in result.stderr


@pytest.mark.parametrize("command", [["show", "x\udcff"], ["chapters", "x\udcff"], ["remove", "x\udcff"],
                                     ["export", "x\udcff", "--format", "json"], ["quote", "list", "x\udcff"],
                                     ["feeds", "--remove", "x\udcff"]])
def test_arguments_with_invalid_utf8_get_one_line(quoted, command):
    result = CliRunner().invoke(cli, [*command, "--kb", str(quoted)], env={"PODKB_MODEL": FAKE_MODEL})
    assert result.exit_code in (0, 1) and "Traceback" not in result.output + result.stderr
    assert result.exit_code == 0 or result.stderr.count("\n") == 1, result.stderr


def test_notes_and_renames_with_invalid_utf8_are_stored_well_formed(quoted):
    run(quoted, "quote", "add", "Rest", "--episode", "fastbook", "--start", "120", "--note", "n\udcff")
    with KnowledgeBase(quoted, model=FAKE_MODEL) as base:
        assert base.collections.quotes("Rest")[-1].note == "n?"
        assert base.quote("Rest", "fastbook", 300.0, note="\ud800").note == "?"


def test_the_small_ones(quoted, tmp_path):
    assert "cannot load the model /tmp" in run(quoted, "reindex", "--model", "/tmp", expect=1).stderr
    assert "no quote 99999" in run(quoted, "quote", "remove", "99999", expect=1).stderr
    run(quoted, "edit", "fastbook", "--title", "a\nb")
    with KnowledgeBase(quoted, model=FAKE_MODEL) as base:
        assert base.episode("fastbook").title == "a b"
    assert "empty --episode or --show" in run(quoted, "speakers", "--show", "", "--rename", "Jeremy Howard=J",
                                               expect=1).stderr
    with KnowledgeBase(quoted, model=FAKE_MODEL) as base:
        before = base.speakers()
    result = run(quoted, "speakers", "--rename", "Jeremy Howard=JH", "--rename", "Nobody=N", expect=1)
    assert "nothing was renamed" in result.stderr
    with KnowledgeBase(quoted, model=FAKE_MODEL) as base:
        assert base.speakers() == before  # the first rename was not applied either


def test_add_replace_takes_in_a_fixed_sidecar_of_an_unchanged_transcript(tmp_path, kb):
    (tmp_path / "talk.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:04.000\nRest before you are tired.\n")
    (tmp_path / "talk.info.json").write_text(json.dumps({"title": "Tlak with a typo"}))
    run(kb, "add", tmp_path / "talk.vtt")
    (tmp_path / "talk.info.json").write_text(json.dumps({"title": "Talk", "upload_date": "20210304"}))
    assert "unchanged" in run(kb, "add", tmp_path / "talk.vtt").output
    assert "1 replaced" in run(kb, "add", tmp_path / "talk.vtt", "--replace").output
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        [episode] = base.episodes()
        assert (episode.title, episode.date) == ("Talk", "2021-03-04")


# 14. A quote from an untimed transcript keeps its paragraph

def test_a_quote_from_an_untimed_transcript_is_cited_by_its_paragraph(kb):
    built(kb, [TRANSCRIPTS / "fastai-part1-2022-lesson-8.txt"], model=FAKE_MODEL)
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        hit = base.search("embedding matrix for movies", k=1)[0]
        assert hit.start is None and hit.citation.endswith(f"¶{hit.paragraph + 1}")
        quote = base.save_hit("Lesson", hit)
        assert quote.citation == hit.citation
        assert base.collections.quotes("Lesson")[0].citation == hit.citation
    exported = run(kb, "export", "Lesson", "--format", "markdown").stdout
    assert f"¶{hit.paragraph + 1}" in exported


# 17. An approximate index's candidates are re-scored with the exact vectors

def test_an_ivf_index_scores_its_candidates_as_the_exact_index_does(tmp_path):
    """IVF/SQ8 codes round every vector (by up to 6e-4 in a score here); the dense candidates are re-scored
    with SQLite's float16 copy, so with every list probed the dense hits and their scores are the exact
    index's, to float16's rounding."""
    queries = ["how to avoid burnout", "what should I learn first", "how many hours a week do you practise"]
    with KnowledgeBase(tmp_path / "exact", embedder=HashEmbedder()) as exact:
        exact.add([TRANSCRIPTS])
        want = [{h.passage_id: h.score for h in exact.search(q, k=10, mode="dense")} for q in queries]
    with KnowledgeBase(tmp_path / "ivf", embedder=HashEmbedder()) as ivf:
        ivf.configure(switch_size=300, nprobe=256)  # IVF256,SQ8, every list probed: only the codes differ
        ivf.add([TRANSCRIPTS])
        assert ivf.info().index_kind.startswith("IVF")
        got = [{h.passage_id: h.score for h in ivf.search(q, k=10, mode="dense")} for q in queries]
    assert [set(g) for g in got] == [set(w) for w in want]
    assert max(abs(g[p] - w[p]) for g, w in zip(got, want) for p in g) < 1.5e-4


# 16. Quiet stretches: a piped add says how indexing goes; a quote of sentences of one cue ends after it starts

def test_a_piped_add_prints_lines_as_indexing_goes(tmp_path, monkeypatch):
    from podkb.ui import progress

    monkeypatch.setattr(progress, "PIPED_EVERY", 0.0)  # every event a line, rather than one each 10 s
    monkeypatch.setenv("PODKB_BATCH_PASSAGES", "50")  # several batches out of the samples
    lines = run(tmp_path / "kb", "add", TRANSCRIPTS).stderr.splitlines()
    moving = [line for line in lines if line.startswith("indexing: ") and "done" not in line]
    assert len(moving) >= 2, lines  # counts while it runs, not one label and a silence
    assert all("episodes" in line and "passages" in line for line in moving)
    assert any(line.startswith("indexing: done, 5/5 episodes") for line in lines), lines


def test_a_quote_of_sentences_inside_one_cue_ends_after_it_starts(tmp_path):
    srt = tmp_path / "talk.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:09,000\nRest before you are tired, every single day. Sleep eight "
                   "hours every night without fail.\n\n2\n00:00:09,000 --> 00:00:15,000\nTake whole days off "
                   "from work each week.\n")
    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        kb.add([srt])
        hit = kb.search("rest before you are tired", k=1, mode="keyword")[0]
        one = kb.save_hit("rest", hit)
        two = kb.save_hit("rest, longer", hit, after=1)
        point = kb.ask("rest before you are tired", points=1).points[0]
    assert (one.start, one.end) == (1.0, 9.0)
    assert (two.start, two.end) == (1.0, 9.0) and "Sleep eight hours" in two.text
    assert point.end is None or point.end > point.start


# 18. The engine is timed interleaved, and a remembered choice is measured again on another CPU or library

class Recording:
    """An embedder whose engines give fp32's vectors; it records which engine ran, in order."""
    device = "cpu"

    def __init__(self):
        self.ran = []

    def onnx(self):
        return object()

    def run(self, texts, engine_name):
        import numpy as np
        self.ran.append(engine_name)
        vectors = np.ones((len(texts), 4), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_engines_are_timed_interleaved(monkeypatch):
    from podkb.index import engine

    monkeypatch.setattr(engine, "cpu_has_bf16", lambda: True)
    model = Recording()
    engine.measure(model, engine.candidates(model, "cpu"))
    timed = [name for name in model.ran[-engine.ROUNDS * 3:]]
    rounds = [timed[n:n + 3] for n in range(0, len(timed), 3)]
    assert all(sorted(r) == ["cpu-bf16", "cpu-fp32", "onnx-fp32"] for r in rounds), model.ran
    assert len({r[0] for r in rounds}) == 3  # the order rotates: no engine always runs first


def test_a_remembered_engine_is_measured_again_when_the_machine_changes(tmp_path, monkeypatch):
    from podkb.index import engine

    monkeypatch.setenv("PODKB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PODKB_ENGINE", raising=False)
    monkeypatch.setattr(engine, "cpu_has_bf16", lambda: True)
    model = Recording()
    engine.choose(model, "m", str(tmp_path), "cpu")
    measured = len(model.ran)
    engine.choose(model, "m", str(tmp_path), "cpu")
    assert len(model.ran) == measured  # remembered
    here = engine.machine()
    assert "cores" in here and "torch" in here and "onnxruntime" in here
    monkeypatch.setattr(engine, "machine", lambda: here.replace("torch", "torch 99.0 (upgraded);"))
    engine.choose(model, "m", str(tmp_path), "cpu")
    assert len(model.ran) > measured  # the libraries changed: measured again

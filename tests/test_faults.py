"""Faults: races between processes, kills, damaged or full storage. Each ends in one line, and
nothing is lost or silently corrupted. Real processes, real SQLite and FAISS files; kills and
races wait for states (a line in the embedder's log, a row in the store), never for a time."""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys

import faiss
import numpy as np
import pytest
from click.testing import CliRunner

from podkb.knowledgebase import open_store
from podkb.index import Index, sync
from podkb.index.vectors import VectorIndex

from .conftest import FAKE_MODEL, ROOT, TRANSCRIPTS, built, count_rows, index_of, one_error_each, run, wait_for
from .fake_embedder import HashEmbedder

WATCHED = "py:tests.fake_embedder:WatchedHashEmbedder"
PODKB = [sys.executable, "-c", "from podkb.ui.cli import main; main()"]


def talks(folder, n, prefix="talk", words=300):
    """``n`` SRT files of distinct talk, each long enough to make a few passages."""
    folder.mkdir(parents=True, exist_ok=True)
    for t in range(n):
        cues = []
        for i in range(words // 10):
            text = " ".join(f"{prefix}{t}w{i}x{j}" for j in range(9)) + " ends."
            cues.append(f"{i + 1}\n00:{i // 60:02d}:{i % 60:02d},000 --> 00:{i // 60:02d}:{i % 60:02d},900\n{text}\n")
        (folder / f"{prefix}-{t:02d}.srt").write_text("\n".join(cues))
    return folder


def environment(tmp_path, **extra):
    return {**os.environ, "PODKB_MODEL": WATCHED, "PODKB_TEST_LOG": str(tmp_path / "embedded.log"), **extra}


def podkb(*args, env, timeout=300, **kw):
    return subprocess.run([*PODKB, *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, **kw)


def start(*args, env):
    return subprocess.Popen([*PODKB, *map(str, args)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def logged_calls(tmp_path) -> list[list[str]]:
    log = tmp_path / "embedded.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def assert_faiss_agrees_with_sqlite(kb):
    """Read the files as they are on disk: the FAISS file holds exactly SQLite's passage ids."""
    with sqlite3.connect(kb / "podkb.db") as db:
        stored = sorted(row[0] for row in db.execute("SELECT passage_id FROM vectors"))
        dim = int(db.execute("SELECT value FROM index_meta WHERE key = 'dim'").fetchone()[0])
    held = VectorIndex(dim, faiss.read_index(str(kb / "passages.faiss"))).ids().tolist()
    assert held == stored, (len(held), len(stored))


# Races (issue items 1 and 3)

def test_two_searches_syncing_at_once_index_each_episode_once_and_leave_faiss_in_step(tmp_path):
    kb, env = tmp_path / "kb", environment(tmp_path)
    added = podkb("add", talks(tmp_path / "a", 8, "alpha"), talks(tmp_path / "b", 8, "beta"), "--no-index",
                  "--kb", kb, env=env)
    assert added.returncode == 0, added.stderr
    first, second = (start("search", query, "--json", "--kb", kb, env=env) for query in ("alpha3w2x4", "beta5w1x1"))
    found = []
    for process in (first, second):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        found.append(bool(json.loads(out)))
    # One indexed; the other, finding it at work, did not wait and searched what was indexed by then.
    assert any(found)
    again = podkb("search", "beta5w1x1", "--json", "--kb", kb, env=env)
    assert json.loads(again.stdout), again.stderr
    with sqlite3.connect(kb / "podkb.db") as db:
        passages = [row[0] for row in db.execute("SELECT text FROM passages")]
    embedded = [text for call in logged_calls(tmp_path) for text in call]
    assert sorted(t for t in embedded if t in set(passages)) == sorted(passages), "a passage was embedded twice"
    assert_faiss_agrees_with_sqlite(kb)


def held_indexer(tmp_path, episodes: int, held: int):
    """`podkb add` of ``episodes`` talks, held as it embeds the ``held``-th (from 1): with batches of one
    episode, each episode's passages are one embedding call, their sentences another."""
    hold_at = 2 * held - 1
    kb, gate = tmp_path / "kb", tmp_path / "gate"
    env = environment(tmp_path, PODKB_TEST_GATE=str(gate), PODKB_TEST_HOLD_AT=str(hold_at), PODKB_BATCH_PASSAGES="1")
    indexer = start("add", talks(tmp_path / "talks", episodes), "--kb", kb, env=env)
    wait_for(lambda: len(logged_calls(tmp_path)) >= hold_at or indexer.poll() is not None,
             f"the indexer to reach episode {hold_at}")
    assert indexer.poll() is None, indexer.communicate()
    return indexer, kb, gate, env


def test_episodes_removed_while_another_process_indexes_are_skipped_and_faiss_stays_in_step(tmp_path):
    # Held in talk-01's embedding, after talk-00; talk-02 and -03 wait their turn.
    indexer, kb, gate, env = held_indexer(tmp_path, episodes=4, held=2)
    for episode in ("talk-01", "talk-02"):
        removed = podkb("remove", episode, "--kb", kb, env=env)
        assert removed.returncode == 0, removed.stderr
    gate.touch()
    out, err = indexer.communicate(timeout=300)
    assert indexer.returncode == 0, err
    assert "Traceback" not in err
    with open_store(kb) as library:
        assert sorted(e.id for e in library.episodes()) == ["talk-00", "talk-03"]
        indexed = {row[0] for row in library.db.execute("SELECT DISTINCT episode_id FROM passages")}
    assert indexed == {"talk-00", "talk-03"}
    assert_faiss_agrees_with_sqlite(kb)


def test_a_kill_while_indexing_leaves_sqlite_as_the_truth_and_faiss_follows_it(tmp_path):
    indexer, kb, _, env = held_indexer(tmp_path, episodes=5, held=3)  # two episodes indexed, the third held
    indexer.send_signal(signal.SIGKILL)
    indexer.wait()
    assert count_rows(kb, "indexed_episodes") == 2
    # The next command finds the index behind SQLite and makes it agree; nothing is half-indexed.
    finished = podkb("search", "talk2w3x1", "--json", "--kb", kb, env=dict(env, PODKB_TEST_HOLD_AT="0"))
    assert finished.returncode == 0, finished.stderr
    assert count_rows(kb, "indexed_episodes") == 5
    assert_faiss_agrees_with_sqlite(kb)


# The FAISS file against SQLite (items 1 and 2)

def fake():
    """The fake embedder under the name the CLI loads it by (PODKB_MODEL), so both can open the index."""
    from podkb.index.embed import load

    return load(FAKE_MODEL)


@pytest.fixture
def indexed(kb):
    built(kb, [TRANSCRIPTS], embedder=fake())
    index = index_of(kb, fake())
    yield index.library, index
    index.library.close()


def fresh(kb) -> Index:
    """Another process's view: a new connection and a new Index on the same knowledge base."""
    return Index(open_store(kb), embedder=fake())


def test_damage_inside_the_faiss_file_is_detected_and_rebuilt_from_sqlite(indexed, kb):
    _, index = indexed
    query = HashEmbedder().encode(["how to avoid burnout"])[0]
    before = index.vectors().search(query, 5)[1].tolist()
    path = kb / "passages.faiss"
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    other = fresh(kb)
    assert other.vectors().search(query, 5)[1].tolist() == before
    assert any("checksum" in notice for notice in other.notices), other.notices
    assert_faiss_agrees_with_sqlite(kb)  # and the repaired file was saved


def test_a_stale_file_with_a_matching_generation_and_count_is_still_caught(indexed, kb, write):
    library, index = indexed
    stale = (kb / "passages.faiss").read_bytes(), json.loads((kb / "passages.faiss.json").read_text())
    gone = "karpathy-advice-chunks"
    sync.remove(index, gone)
    # Same number of passages again, other ids: what a lost race between two writers left behind.
    with sqlite3.connect(kb / "podkb.db") as db:
        (count,) = db.execute("SELECT count(*) FROM vectors").fetchone()
        generation = db.execute("SELECT value FROM index_meta WHERE key = 'generation'").fetchone()[0]
    (kb / "passages.faiss").write_bytes(stale[0])
    (kb / "passages.faiss.json").write_text(json.dumps({**stale[1], "generation": int(generation)}))
    vectors = fresh(kb).vectors()
    with sqlite3.connect(kb / "podkb.db") as db:
        stored = sorted(row[0] for row in db.execute("SELECT passage_id FROM vectors"))
    assert vectors.ids().tolist() == stored and count <= len(stale[0])


def test_a_garbled_stamp_is_rebuilt_with_a_warning_line(indexed, kb, monkeypatch):
    from click.testing import CliRunner

    from podkb.ui.cli import cli

    (kb / "passages.faiss.json").write_text("{not json")
    monkeypatch.setenv("PODKB_MODEL", FAKE_MODEL)
    result = CliRunner().invoke(cli, ["search", "burnout", "--kb", str(kb)])
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert str(kb) in line and "unreadable stamp; rebuilt it from podkb.db" in line
    assert_faiss_agrees_with_sqlite(kb)


def test_a_folder_where_the_faiss_file_belongs_is_one_line_and_no_temporary_file(indexed, kb, monkeypatch):
    from click.testing import CliRunner

    from podkb.ui.cli import cli

    (kb / "passages.faiss").unlink()
    (kb / "passages.faiss").mkdir()
    monkeypatch.setenv("PODKB_MODEL", FAKE_MODEL)
    result = CliRunner().invoke(cli, ["search", "burnout", "--kb", str(kb)])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert str(kb) in result.stderr and "passages.faiss is a folder" in result.stderr
    assert not list(kb.glob("*.tmp"))


# Empty indexes (item 4)

def test_searching_an_empty_or_passageless_knowledge_base_answers_no_passages(podkb, write, kb):
    from podkb import KnowledgeBase

    KnowledgeBase(kb).close()  # a knowledge base with nothing in it: said to be empty, and how to add
    for command in ("search", "ask"):
        result = podkb(command, "how to avoid burnout")
        assert "is empty: podkb add FILES" in result.stderr and "No passages found" not in result.stderr
    podkb("add", write("short.txt", "Hi."))  # one whose only episode is too short for a passage
    assert "No passages found" in podkb("search", "how to avoid burnout").stderr
    with open_store(kb) as library:
        from podkb.index import search_index
        assert search_index(Index(library, embedder=HashEmbedder()), "how to avoid burnout") == []


@pytest.mark.parametrize("command", [["search", "q"], ["ask", "q"], ["show", "e"], ["episodes"], ["chapters", "e"],
                                     ["speakers"], ["info"], ["collections"], ["quote", "list", "c"],
                                     ["export", "c", "--format", "json"], ["feeds"], ["feed"], ["serve"], ["mcp"],
                                     ["remove", "e"], ["edit", "e", "--title", "T"], ["reindex"], ["config"],
                                     ["config", "nprobe"]])
def test_a_command_that_reads_never_creates_a_knowledge_base_at_a_mistyped_path(command, tmp_path, monkeypatch):
    from podkb.ui.cli import cli

    monkeypatch.setenv("PODKB_MODEL", "py:tests.fake_embedder:HashEmbedder")
    typo = tmp_path / "typo"
    result = CliRunner().invoke(cli, [*command, "--kb", str(typo)])
    assert result.exit_code == 1, result.output
    assert f"no knowledge base at {typo} (podkb add FILES creates one)" in result.stderr
    assert not typo.exists()


# Storage (item 6): run in a private mount namespace, so nothing outlives the test

def in_namespace(script: str, env) -> subprocess.CompletedProcess:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a private tmpfs or read-only mount")
    result = subprocess.run(["unshare", "-m", "sh", "-euc", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    if "unshare:" in result.stderr and "Operation not permitted" in result.stderr:
        pytest.skip("unshare is not permitted here")
    return result


def test_a_full_disk_gets_one_line_per_file_the_rest_are_tried_and_nothing_stored_is_lost(tmp_path):
    disk, env = tmp_path / "disk", dict(os.environ, PODKB_MODEL=FAKE_MODEL)
    disk.mkdir()
    small = talks(tmp_path / "small", 1, "small", words=100)
    big = tmp_path / "big"
    big.mkdir()
    (big / "big.txt").write_text("\n".join(" ".join(f"word{i}x{j}" for j in range(10)) + "." for i in range(40_000)))
    late = talks(tmp_path / "late", 1, "late", words=50)
    command = " ".join(PODKB[:2]) + ' "from podkb.ui.cli import main; main()"'
    result = in_namespace(
        f"mount -t tmpfs -o size=3m tmpfs {disk}; "
        f"{command} add {small} --kb {disk}/kb; "
        f"{command} add {big}/big.txt {late} --kb {disk}/kb || echo exit=$?; "
        f"{command} episodes --kb {disk}/kb; ls -a {disk}/kb", env)
    assert "exit=1" in result.stdout, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert any(line.startswith(f"error: {big}/big.txt: not stored: ") and "no space left" in line for line in errors), \
        result.stderr
    assert any("late-00" in line for line in result.stdout.splitlines() + errors), "the file after it was not tried"
    assert "small-00" in result.stdout  # still listed: nothing stored was lost
    assert "Traceback" not in result.stderr and ".tmp" not in result.stdout


def test_a_read_only_knowledge_base_gets_one_line_naming_it(tmp_path, podkb, kb, write):
    podkb("add", write("one.txt", "A short transcript about learning every day."))
    env = dict(os.environ, PODKB_MODEL=FAKE_MODEL)
    command = " ".join(PODKB[:2]) + ' "from podkb.ui.cli import main; main()"'
    result = in_namespace(f"mount --bind {kb} {kb}; mount -o remount,ro,bind {kb}; "
                          f"{command} add {write('two.txt', 'Another transcript.')} --kb {kb}", env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(kb) in lines[0] and "can't be written" in lines[0], result.stderr


def test_a_damaged_database_gets_one_line_with_what_to_do(podkb, kb, write):
    podkb("add", write("one.txt", "A short transcript about learning every day. " * 200))
    path = kb / "podkb.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    half = len(data) // 2 // 4096 * 4096
    data[half:] = bytes(len(data) - half)  # the later half of the pages zeroed: it opens, then fails
    path.write_bytes(bytes(data))
    from click.testing import CliRunner

    from podkb.ui.cli import cli

    for command in (["episodes"], ["search", "learning"], ["add", str(write("two.txt", "More text."))]):
        result = CliRunner().invoke(cli, [*command, "--kb", str(kb)])
        assert result.exit_code == 1, (command, result.output)
        assert "Traceback" not in result.output
        assert result.stderr.count("\n") == 1, result.stderr
        assert str(kb) in result.stderr and "podkb.db is damaged" in result.stderr, (command, result.stderr)


def test_processes_opening_a_new_store_at_once_apply_each_migration_once(tmp_path):
    kb, go = tmp_path / "kb", tmp_path / "go"
    # Each process imports, says it is ready, then waits for the others: they open the store together.
    code = ("import sys, time; from pathlib import Path; from podkb import KnowledgeBase; "
            "Path(sys.argv[2]).touch(); "
            "exec('while not Path(sys.argv[3]).exists(): time.sleep(0.001)'); "
            "KnowledgeBase(sys.argv[1], model='hash').close()")
    processes = [subprocess.Popen([sys.executable, "-c", code, str(kb), str(tmp_path / f"ready-{n}"), str(go)],
                                  cwd=ROOT, stderr=subprocess.PIPE, text=True) for n in range(6)]
    wait_for(lambda: all((tmp_path / f"ready-{n}").exists() for n in range(6)), "every process to be ready")
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert all(p.returncode == 0 for p in processes), errors
    with sqlite3.connect(kb / "podkb.db") as db:
        names = [row[0] for row in db.execute("SELECT name FROM migrations")]
    assert len(names) == len(set(names)) and "index:m001_create_passages" in names


# Smaller faults (issue 17, item 9)

def test_a_closed_pipe_ends_a_command_quietly(tmp_path):
    kb, env = tmp_path / "kb", environment(tmp_path)
    assert podkb("add", TRANSCRIPTS, "--no-index", "--kb", kb, env=env).returncode == 0
    for command in (["episodes"], ["show", "fastbook"]):
        listing = subprocess.Popen([*PODKB, *command, "--kb", str(kb)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        listing.stdout.readline()
        listing.stdout.close()  # as `| head -1` does
        err = listing.stderr.read().decode()
        assert listing.wait(timeout=120) == 0, err
        assert err == "", err


def test_piped_commands_draw_no_progress_bars(tmp_path):
    kb, env = tmp_path / "kb", dict(environment(tmp_path), PODKB_MODEL="py:tests.fake_embedder:BarHashEmbedder")
    added = podkb("add", talks(tmp_path / "t", 3, words=2000), "--kb", kb, env=env)
    assert added.returncode == 0, added.stderr
    assert "Batches" not in added.stderr and "\r" not in added.stderr, added.stderr


# A piped add still says how indexing goes through its quiet stretches

def test_a_piped_add_prints_lines_as_indexing_goes(tmp_path, monkeypatch):
    from podkb.ui import progress

    monkeypatch.setattr(progress, "PIPED_EVERY", 0.0)  # every event a line, rather than one each 10 s
    monkeypatch.setenv("PODKB_BATCH_PASSAGES", "50")  # several batches out of the samples
    lines = run(tmp_path / "kb", "add", TRANSCRIPTS).stderr.splitlines()
    moving = [line for line in lines if line.startswith("indexing: ") and "done" not in line]
    assert len(moving) >= 2, lines  # counts while it runs, not one label and a silence
    assert all("episodes" in line and "passages" in line for line in moving)
    assert any(line.startswith("indexing: done, 5/5 episodes") for line in lines), lines


def test_a_piped_add_says_how_far_indexing_is_inside_its_first_batch(tmp_path, monkeypatch):
    """Issue 38: with piped output, `make run` said "indexing" and then nothing for about a minute: the first
    batch of passages was embedded whole before any event. Now each EMBED_CHUNK passages report."""
    from podkb.index.sync import BATCH_PASSAGES, EMBED_CHUNK
    from podkb.ui import progress

    monkeypatch.setattr(progress, "PIPED_EVERY", 0.0)
    lines = run(tmp_path / "kb", "add", TRANSCRIPTS).stderr.splitlines()
    early = [line for line in lines if re.match(r"indexing: 0/5 episodes, [1-9][\d,]* passages", line)]
    assert EMBED_CHUNK < BATCH_PASSAGES and early, lines  # moving before the first batch is written


def test_lone_surrogates_in_a_query_or_a_filter_are_no_crash(tmp_path):
    from podkb import KnowledgeBase

    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        kb.add([TRANSCRIPTS / "karpathy-advice-for-beginners.txt"])
        assert kb.search("10,000 \ud800 hours")[0].episode_id == "karpathy-advice"
        assert kb.search("hours", speaker="\udcff") == []
        assert kb.ask("hours \udcff").hits


def test_every_path_podkb_reads_that_is_a_fifo_is_one_line_never_a_hang(tmp_path):
    """Issue 38, the openers' kind: a path a user or a feed names (a transcript, a recording, --media, a feed
    file, a sidecar, a manifest, a Whisper model) that is a FIFO would block an open for ever. Each is refused
    by what it is, or passed over (a side file), and the rest goes on. The timeout bounds a hang; the answers
    come at once."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.srt").write_text("1\n00:00:01,000 --> 00:00:03,000\nRest before you are tired.\n")
    for name in ("talk.srt", "talk.wav", "feed.xml", "good.info.json", "good.chapters.json", "manifest.toml"):
        os.mkfifo(folder / name)
    model = tmp_path / "whisper"
    model.mkdir()
    os.mkfifo(model / "model.bin")
    env, kb = environment(tmp_path), tmp_path / "kb"
    added = podkb("add", folder / "talk.srt", folder / "talk.wav", folder / "good.srt", "--media", folder / "talk.wav",
                  "--whisper-model", model, "--kb", kb, "--no-index", env=env, timeout=120)
    fifo = "a named pipe (FIFO), not a regular file"
    errors = one_error_each(added.stderr, {folder / "talk.srt": fifo, folder / "talk.wav": fifo,
                                           folder / "good.srt": f"media '{folder / 'talk.wav'}': {fifo}"})
    assert len(errors) == 3 and added.returncode == 1
    walked = podkb("add", folder, "--kb", kb, "--no-index", env=env, timeout=120)
    assert walked.returncode == 0 and "added good" in walked.stdout, walked.stderr  # its FIFOs passed over
    followed = podkb("feed", folder / "feed.xml", "--kb", kb, "--no-index", env=env, timeout=120)
    assert followed.returncode == 1 and f"error: {folder / 'feed.xml'}: {fifo}" in followed.stderr
    speech = tmp_path / "speech.flac"
    shutil.copy(ROOT / "tests" / "audio" / "librispeech" / "1089-134686-0000.flac", speech)
    heard = podkb("add", speech, "--whisper-model", model, "--kb", kb, "--no-index", env=env, timeout=120)
    assert f"error: {speech}: Whisper model {model}: no model.bin in it" in heard.stderr, heard.stderr

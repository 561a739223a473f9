"""Readers never wait and never break (issue 17): searches while another process indexes, reindexes
or changes the model; a reindex built beside the live index; indexing batched across episodes.

Real processes on real SQLite and FAISS files. What a test waits for is a state (a line in the
embedder's log, a finished process, a set event), never a guessed time; the timeouts only bound how
long a test may take to fail.
"""
import json
import signal
import sqlite3
import threading

import pytest

from podkb import KnowledgeBase
from podkb.index import ModelMismatch

from .conftest import count_rows, wait_for
from .fake_embedder import HashEmbedder
from .test_faults import environment, logged_calls, podkb, start, talks

FAKE = "py:tests.fake_embedder:HashEmbedder"
WATCHED = "py:tests.fake_embedder:WatchedHashEmbedder"
NARROW = "py:tests.fake_embedder:NarrowHashEmbedder"


def indexed(tmp_path, n=4, model=FAKE):
    kb = tmp_path / "kb"
    done = podkb("add", talks(tmp_path / "talks", n), "--kb", kb, env=environment(tmp_path, PODKB_MODEL=model))
    assert done.returncode == 0, done.stderr
    return kb


def held(tmp_path, *args, at: int):
    """Start ``podkb ARGS`` with the watched embedder, and return once it is held in its ``at``-th embedding
    call (each batch is one episode: its passages, then its sentences)."""
    gate = tmp_path / "gate"
    env = environment(tmp_path, PODKB_TEST_GATE=str(gate), PODKB_TEST_HOLD_AT=str(at), PODKB_BATCH_PASSAGES="1")
    already = len(logged_calls(tmp_path))
    process = start(*args, env=env)
    wait_for(lambda: len(logged_calls(tmp_path)) >= already + at or process.poll() is not None,
             f"podkb {args[0]} to reach its embedding call {at}")
    assert process.poll() is None, process.communicate()
    return process, gate


def test_a_search_does_not_wait_for_another_process_that_is_indexing(tmp_path):
    kb = indexed(tmp_path, model=WATCHED)
    importer, gate = held(tmp_path, "add", talks(tmp_path / "more", 3, "extra"), "--kb", kb, at=1)
    try:
        found = podkb("search", "talk1w2x3", "--json", "--kb", kb, env=environment(tmp_path), timeout=120)
        assert found.returncode == 0, found.stderr
        assert json.loads(found.stdout)[0]["episode_id"] == "talk-01"  # what was committed before the add
        noted = podkb("search", "talk1w2x3", "--kb", kb, env=environment(tmp_path), timeout=120)
        assert "another podkb process is indexing" in noted.stderr
        assert importer.poll() is None  # still held: the searches did not wait for it
    finally:
        gate.touch()
        importer.communicate(timeout=300)
    assert importer.returncode == 0


def test_a_search_in_one_thread_does_not_wait_for_an_import_in_another(tmp_path):
    release, embedding = threading.Event(), threading.Event()

    class Held(HashEmbedder):
        def encode(self, texts, progress=False):
            if any("extra" in t for t in texts):
                embedding.set()
                release.wait(120)
            return super().encode(texts, progress)

    with KnowledgeBase(tmp_path / "kb", embedder=Held()) as kb:
        kb.add([talks(tmp_path / "talks", 2)])
        importer = threading.Thread(target=kb.add, args=([str(talks(tmp_path / "more", 2, "extra"))],))
        importer.start()
        assert embedding.wait(120)
        results = []
        searcher = threading.Thread(target=lambda: results.append(kb.search("talk1w2x3", k=3)))
        searcher.start()
        searcher.join(60)
        finished = not searcher.is_alive()
        release.set()
        importer.join(120)
        searcher.join(60)
        assert finished, "the search waited for the import"
        assert results[0][0].episode_id == "talk-01"


def test_a_long_lived_reader_follows_a_reindex_with_another_model(tmp_path):
    kb = indexed(tmp_path)
    with KnowledgeBase(kb) as reader:  # as the web app and the MCP server hold one
        assert reader.model == FAKE and reader.search("talk2w3x1")[0].episode_id == "talk-02"
        changed = podkb("reindex", "--model", NARROW, "--kb", kb, env=environment(tmp_path, PODKB_MODEL=FAKE))
        assert changed.returncode == 0, changed.stderr
        for _ in range(3):
            hits = reader.search("talk2w3x1")
            assert hits[0].episode_id == "talk-02"
        assert reader.model == NARROW and reader.info().dim == 32
        assert "talk-03" in {h.episode_id for h in reader.ask("talk3w1x1").hits}
    with KnowledgeBase(kb, model=FAKE, check_model=False) as pinned, pytest.raises(ModelMismatch, match="reindexed"):
        pinned.search("talk2w3x1")


def test_searches_during_a_reindex_read_the_whole_old_index_and_a_killed_reindex_resumes(tmp_path):
    kb = indexed(tmp_path, n=4, model=WATCHED)
    passages = count_rows(kb, "passages")
    with KnowledgeBase(kb) as reader:
        first = reader.search("talk3w1x1", k=5)
        before = [h.passage_id for h in first]
        reindexer, gate = held(tmp_path, "reindex", "--kb", kb, at=5)  # two episodes built, the third held
        hits = reader.search("talk3w1x1", k=5)
        assert [h.passage_id for h in hits] == before  # the old index, whole
        assert count_rows(kb, "passages") == passages
        reindexer.send_signal(signal.SIGKILL)
        reindexer.wait()
        assert [h.passage_id for h in reader.search("talk3w1x1", k=5)] == before
        assert "unfinished, with" in podkb("info", "--kb", kb, env=environment(tmp_path)).stdout
        calls = len(logged_calls(tmp_path))
        resumed = podkb("reindex", "--kb", kb, env=environment(tmp_path, PODKB_BATCH_PASSAGES="1"))
        assert resumed.returncode == 0, resumed.stderr
        assert len(logged_calls(tmp_path)) - calls == 4  # only the two episodes not built before the kill
        after = reader.search("talk3w1x1", k=5)
        assert [(h.episode_id, h.text) for h in after] == [(h.episode_id, h.text) for h in first]
        assert not set(h.passage_id for h in after) & set(before)  # the same passages rebuilt, under new ids
    with sqlite3.connect(kb / "podkb.db") as db:
        assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == passages
        assert db.execute("SELECT count(*) FROM next_passages").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM passages_fts WHERE passages_fts MATCH 'talk3w1x1'").fetchone()[0]
    assert "unfinished" not in podkb("info", "--kb", kb, env=environment(tmp_path)).stdout


def test_many_small_episodes_are_embedded_in_batches_across_episodes(tmp_path):
    folder = tmp_path / "small"
    folder.mkdir()
    for n in range(300):
        (folder / f"note-{n:03d}.txt").write_text(f"Note {n}: rest before you get tired, and keep notes{n} short.\n")
    kb = tmp_path / "kb"
    added = podkb("add", folder, "--no-index", "--kb", kb, env=environment(tmp_path))
    assert added.returncode == 0, added.stderr
    searched = podkb("search", "notes123", "--json", "--kb", kb, env=environment(tmp_path))
    assert json.loads(searched.stdout)[0]["episode_id"] == "note-123"
    calls = [call for call in logged_calls(tmp_path) if call != ["notes123"]]  # less the query's
    assert sum(len(call) for call in calls) == 600  # each passage and each sentence once
    assert len(calls) <= 6  # two calls per batch of 256 passages, not two per episode (600)
    assert count_rows(kb, "indexed_episodes") == 300

"""Many tabs searching at once while an import writes: nothing locks, nothing is corrupted (one
KnowledgeBase shared by threads, as the web app shares it)."""
import threading

from podkb import KnowledgeBase
from podkb.knowledgebase import open_store

from .conftest import FAKE_MODEL, TRANSCRIPTS


def indexed_engine(kb, monkeypatch) -> KnowledgeBase:
    """A knowledge base holding one indexed episode, with the fake embedder."""
    monkeypatch.setenv("PODKB_MODEL", FAKE_MODEL)
    shared = KnowledgeBase(kb)
    shared.add([str(TRANSCRIPTS / "chai-time-robert-bracco-learning-to-learn.txt")])
    return shared


def test_searches_from_many_threads_run_alongside_an_import(kb, tmp_path, monkeypatch):
    engine = indexed_engine(kb, monkeypatch)

    extra = tmp_path / "extra"
    extra.mkdir()
    for n in range(6):
        (extra / f"talk-{n}.srt").write_text(
            f"1\n00:00:01,000 --> 00:00:05,000\nTalk {n}: rest well, sleep eight hours, and learn a little every day.\n")
    errors, counts = [], []

    def searcher():
        try:
            for question in ("how to avoid burnout", "sleep eight hours", "learning to learn") * 5:
                counts.append(len(engine.search(question, k=5, sync=False)))
        except Exception as error:  # noqa: BLE001 - the assertion below reports it
            errors.append(repr(error))

    def importer():
        try:
            for talk in sorted(extra.iterdir()):
                [outcome] = engine.add([str(talk)])
                assert outcome.error is None, outcome.error
        except Exception as error:  # noqa: BLE001
            errors.append(repr(error))

    threads = [threading.Thread(target=searcher) for _ in range(8)] + [threading.Thread(target=importer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung: something is locked"
    assert errors == []
    assert len(counts) == 8 * 15 and all(n > 0 for n in counts)
    with open_store(kb) as library:
        assert library.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert len(library.episodes()) == 7
    # The shared index sees what the import added, without a restart.
    hits = engine.search("sleep eight hours", k=10, sync=False)
    assert {h.episode_id for h in hits} & {f"talk-{n}" for n in range(6)}


def test_a_search_does_not_wait_for_an_open_write_transaction(kb, monkeypatch):
    engine = indexed_engine(kb, monkeypatch)
    library = open_store(kb)
    with library.transaction():  # an import in the middle of writing an episode
        library.db.execute("UPDATE episodes SET title = title || ' (editing)'")
        done = threading.Event()

        def search():
            engine.search("how to avoid burnout", k=3, sync=False)
            done.set()

        threading.Thread(target=search).start()
        assert done.wait(timeout=20), "a reader blocked on the writer"
    library.close()


# A speaker renamed by another process while the episode is being indexed keeps the new name

def test_a_rename_during_indexing_survives(tmp_path, kb, monkeypatch):
    from podkb.index import sync

    path = tmp_path / "talk.vtt"
    path.write_text("WEBVTT\n\n" + "\n\n".join(
        f"00:{i:02d}.000 --> 00:{i:02d}.900\n<v Guest>Rest before you are tired, sentence {i}." for i in range(40)))
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        base.add([str(path)], index=False)
    embed = sync._embed

    def embed_then_rename(index, batch):  # another process renames while this one embeds
        yield from embed(index, batch)
        with KnowledgeBase(kb, model=FAKE_MODEL) as other:
            assert other.rename_speaker("Guest", "Amit Varma") > 0

    monkeypatch.setattr(sync, "_embed", embed_then_rename)
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        base.sync()
    monkeypatch.undo()
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        hits = base.search("rest before you are tired", k=3)
        assert hits and all(h.speaker == "Amit Varma" for h in hits)
        assert base.search("rest", k=3, speaker="Amit Varma")
        assert base._library.db.execute("SELECT count(*) FROM speaker_stats WHERE speaker = 'Guest'").fetchone()[0] == 0

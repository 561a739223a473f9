"""Many tabs searching at once while an import writes: nothing locks, nothing is corrupted (the web app's Engine)."""
import threading

from ingest import Library, add_paths
from index import Filters, search_index
from ui.web import Engine

from .conftest import FAKE_MODEL, TRANSCRIPTS


def indexed_engine(kb, monkeypatch) -> Engine:
    """An engine on a knowledge base holding one indexed episode, with the fake embedder."""
    monkeypatch.setenv("PODKB_MODEL", FAKE_MODEL)
    with Library(kb) as library:
        list(add_paths(library, [str(TRANSCRIPTS / "chai-time-robert-bracco-learning-to-learn.txt")]))
    engine = Engine(kb)
    with engine.writer() as (_, index):
        index.sync()
    return engine


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
                with engine.lock:
                    hits = search_index(engine.index, question, k=5, filters=Filters())
                counts.append(len(hits))
        except Exception as error:  # noqa: BLE001 - the assertion below reports it
            errors.append(repr(error))

    def importer():
        try:
            with engine.write_lock, engine.writer() as (library, index):
                for outcome in add_paths(library, [str(extra)]):
                    assert outcome.error is None, outcome.error
                    index.sync()
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
    with Library(kb) as library:
        assert library.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert len(library.episodes()) == 7
    # The shared index sees what the import added, without a restart.
    with engine.lock:
        hits = search_index(engine.index, "sleep eight hours", k=10)
    assert {h.episode_id for h in hits} & {f"talk-{n}" for n in range(6)}


def test_a_search_does_not_wait_for_an_open_write_transaction(kb, monkeypatch):
    engine = indexed_engine(kb, monkeypatch)
    library = Library(kb)
    with library.transaction():  # an import in the middle of writing an episode
        library.db.execute("UPDATE episodes SET title = title || ' (editing)'")
        done = threading.Event()

        def search():
            search_index(engine.index, "how to avoid burnout", k=3)
            done.set()

        threading.Thread(target=search).start()
        assert done.wait(timeout=20), "a reader blocked on the writer"
    library.close()

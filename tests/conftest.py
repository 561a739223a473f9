import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = ROOT / "transcripts"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def kb(tmp_path):
    return tmp_path / "kb"


FAKE_MODEL = "py:tests.fake_embedder:HashEmbedder"


@pytest.fixture
def podkb(kb, monkeypatch):
    """Run a podkb command in-process against a fresh knowledge base, with the fake embedder."""
    from podkb.ui.cli import cli

    monkeypatch.setenv("PODKB_MODEL", FAKE_MODEL)

    runner = CliRunner()

    def run(*args, expect=0):
        result = runner.invoke(cli, [*map(str, args), "--kb", str(kb)], catch_exceptions=False)
        assert result.exit_code == expect, result.output + result.stderr
        return result

    return run


BAD = "\\udcff"  # a JSON escape of a lone surrogate, as a broken exporter writes it


def run(kb, *args, expect=0, env=None):
    """Run a podkb command in-process against ``kb`` with the fake embedder (and ``env``), as the `podkb`
    fixture does, and check it ended with ``expect`` and without a traceback."""
    from podkb.ui.cli import cli

    result = CliRunner().invoke(cli, [*map(str, args), "--kb", str(kb)], env={"PODKB_MODEL": FAKE_MODEL, **(env or {})})
    assert result.exit_code == expect, result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr
    return result


def built(folder: Path, paths, *, embedder=None, model: str | None = None, info=None) -> list:
    """Add ``paths`` to the knowledge base in ``folder`` and index them, through ``KnowledgeBase`` as a
    user's code would (with ``embedder``, e.g. the fake one, or the model named); its outcomes."""
    from podkb import KnowledgeBase

    with KnowledgeBase(folder, model=model, embedder=embedder) as kb:
        return kb.add([str(p) for p in paths], info)


def index_of(folder: Path, embedder):
    """The index of a knowledge base built by ``built``, opened on a connection of its own: for the tests
    of index/ itself (the ranking, the FAISS file), which call the layer beneath KnowledgeBase."""
    from podkb.index import Index
    from podkb.knowledgebase import open_store

    return Index(open_store(folder), embedder=embedder)


def points_of(folder: Path, embedder, question: str, limit: int = 5) -> list:
    """The key points ``ask`` draws for ``question`` from the knowledge base in ``folder``, whether or not it
    would call them an answer (with the fake embedder the evidence means nothing; ``ask`` shows points
    only when it is strong): for the tests of which spans may be points."""
    from podkb.index import search_index
    from podkb.index.points import POOL_HITS, key_points

    index = index_of(folder, embedder)
    try:
        return key_points(index, search_index(index, question, k=POOL_HITS), question, limit)
    finally:
        index.library.close()


@pytest.fixture
def quoted(kb, tmp_path):
    """A knowledge base holding the fastbook sample, indexed with the fake embedder, and a collection
    "Rest" with one quote from it."""
    from podkb import KnowledgeBase

    built(kb, [TRANSCRIPTS / "fastbook-reading-session-jeremy-howard.txt"], model=FAKE_MODEL)
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        base.quote("Rest", "fastbook", 60.0)
    return kb


@pytest.fixture(scope="session")
def real_kb(tmp_path_factory):
    """The samples indexed once with the real default model (all-MiniLM-L6-v2 from its PyPI package)."""
    from podkb.index import DEFAULT_MODEL

    folder = tmp_path_factory.mktemp("real") / "kb"
    built(folder, [TRANSCRIPTS], model=DEFAULT_MODEL)
    return folder


@pytest.fixture(scope="session")
def shared_samples(tmp_path_factory):
    """A read-only index of the samples with the fake embedder, built once per session."""
    from .fake_embedder import HashEmbedder

    folder = tmp_path_factory.mktemp("shared") / "kb"
    built(folder, [TRANSCRIPTS], embedder=HashEmbedder())
    index = index_of(folder, HashEmbedder())
    yield index
    index.library.close()


@pytest.fixture
def fake_index(kb):
    """An index over a fresh knowledge base with the deterministic fake embedder."""
    from podkb.knowledgebase import open_store
    from podkb.index import Index

    from .fake_embedder import HashEmbedder

    library = open_store(kb)
    yield Index(library, embedder=HashEmbedder())
    library.close()


@pytest.fixture
def write(tmp_path):
    """Write bytes or text to a file under tmp_path/in and return its path."""
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)

    def write(name, content, encoding="utf-8"):
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return write


def silent_wav(seconds: float = 1.0) -> bytes:
    """A real (silent) 16 kHz mono WAV, for tests that need an audio file but no speech."""
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * int(16000 * seconds))
    return out.getvalue()


def one_error_each(stderr: str, expected: dict) -> list[str]:
    """The run's `error:` lines, after checking that each path in ``expected`` got exactly one, with its reason."""
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    for path, reason in expected.items():
        [line] = [e for e in errors if e.startswith(f"error: {path}: ")]
        assert reason in line, line
    return errors


PYTHON = sys.executable


def wait_for(condition, what: str, timeout: float = 300.0):
    """Poll ``condition()`` until it returns something true, and return that; fail after ``timeout``.

    Tests wait for states (a row in the store, a line on stderr), never for a guessed time.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def count_rows(kb: Path, table: str) -> int:
    """Rows in a table of a knowledge base another process is writing (0 while it does not exist yet)."""
    path = kb / "podkb.db"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:  # created but not migrated yet
        return 0

"""podkb.KnowledgeBase, the one object over a knowledge base; the one import name; the README's example."""
import doctest
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from podkb import KnowledgeBase
from podkb.events import Done, Indexing, Outcome
from podkb.knowledgebase import NotIndexed
from podkb.quotes import AlreadySaved

from .conftest import ROOT, TRANSCRIPTS
from .fake_embedder import HashEmbedder

CHAI = TRANSCRIPTS / "chai-time-robert-bracco-learning-to-learn.txt"


def test_one_object_adds_searches_asks_quotes_and_removes(tmp_path):
    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        events = kb.add_events([CHAI, tmp_path / "missing.txt"])
        assert kb.episodes() == []  # lazy: nothing is done until the caller drives it
        seen = list(events)
        outcomes = [e for e in seen if isinstance(e, Outcome)]
        assert [o.path for o in outcomes] == [str(CHAI), str(tmp_path / "missing.txt")]
        assert [o.result.status if o.result else "error" for o in outcomes] == ["added", "error"]
        indexing = [e for e in seen if isinstance(e, Indexing)]
        moves = [(e.done, e.total, e.passages > 0) for e in indexing]  # started, each chunk embedded, done
        assert moves[0] == (0, 1, False) and moves[-1] == (1, 1, True) and set(moves[1:-1]) <= {(0, 1, True)}
        assert len(moves) > 2  # CHAI's 281 passages are more than one chunk: it says so as it goes
        assert seen == [*outcomes, *indexing, seen[-1]]  # in that order, and Done last
        assert isinstance(seen[-1], Done) and seen[-1].outcomes == tuple(outcomes)
        assert seen[-1].report.episodes == 1 and seen[-1].report.passages == indexing[-1].passages
        [episode] = kb.episodes()
        assert kb.stale() == [] and kb.passage_counts()[episode.id] > 0
        assert kb.segments(episode.id[:8])[0].text  # the start of an id names it

        hits = kb.search("how to avoid burnout", k=3, speaker="Rob Bracco")
        assert hits and all(h.speaker == "Rob Bracco" and h.start is not None for h in hits)
        assert kb.search("how to avoid burnout", k=3, speaker="Nobody") == []
        with pytest.raises(ValueError):
            kb.search("burnout", date_from="2024-13")
        with pytest.raises(LookupError):
            kb.search("burnout", episode="no-such-episode")
        answer = kb.ask("how to avoid burnout")
        assert answer.hits and all(not p.text.rstrip().endswith("?") for p in answer.points)

        quote = kb.save_hit("Rest", hits[0])
        with pytest.raises(AlreadySaved):  # the same moment again: asked, not saved twice silently
            kb.quote("Rest", episode.id, hits[0].start)
        moment = kb.quote("Rest", episode.id, hits[0].start, again="keep")
        assert [q.id for q in kb.collections.quotes("Rest")] == [quote.id, moment.id]

        found, passages = kb.remove(episode.id)
        assert found.id == episode.id and passages > 0
        assert kb.episodes() == [] and kb.search("how to avoid burnout") == []
        assert len(kb.collections.quotes("Rest")) == 2  # quotes outlive their episode
    with pytest.raises(Exception):  # closed with the with block
        kb.episodes()


def test_adding_without_indexing_leaves_the_episodes_for_the_next_search(tmp_path):
    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        kb.add([CHAI], index=False)
        assert len(kb.stale()) == 1 and kb.counts() == (1, 0)
        assert kb.search("how to avoid burnout", k=2)  # indexes what is stale first
        assert kb.stale() == [] and kb.counts()[1] > 0


def test_settings_are_saved_with_the_knowledge_base_and_shown_by_info(tmp_path, podkb):
    with KnowledgeBase(tmp_path / "api", embedder=HashEmbedder()) as kb:
        kb.add([CHAI])
        kb.configure(dense_weight=0.6, nprobe=80)
        with pytest.raises(ValueError):
            kb.configure(dense_weight=2)
        with pytest.raises(ValueError):
            kb.configure(speed="fast")
    with KnowledgeBase(tmp_path / "api", embedder=HashEmbedder()) as kb:
        assert (kb.config.dense_weight, kb.config.nprobe) == (0.6, 80)
        info = kb.info()
        assert (info.episodes, info.stale, info.model, info.dim, info.index_kind) == (1, 0, "hash", 64, "Flat")
        assert info.passages > 0 and info.schema == {"ingest": 6, "index": 9, "quotes": 3}
        assert info.files["podkb.db"] > 0 and info.files["passages.faiss"] > 0
        # The index follows the saved settings: past switch_size passages it turns IVF, probed nprobe lists.
        kb.configure(switch_size=300)
        kb.add([TRANSCRIPTS])
        assert kb.info().index_kind == "IVF256,SQ8 (nprobe 80)"
        assert kb.search("how to avoid burnout", k=3)

    assert "no knowledge base at" in podkb("info", expect=1).output  # the podkb fixture's: not made yet
    assert "Invalid value for VALUE" in podkb("config", "dense_weight", "3", expect=2).output
    assert "no knowledge base at" in podkb("info", expect=1).output  # a refused change makes none
    podkb("config", "nprobe", "32")  # a change starts one
    shown = podkb("info").output
    assert re.search(r"^episodes\s+0$", shown, re.M) and "dense_weight 0.7" in shown and "schema" in shown
    assert json.loads(podkb("info", "--json").output)["config"]["nprobe"] == 32
    assert "Invalid value for VALUE" in podkb("config", "dense_weight", "3", expect=2).output


def test_a_failed_indexing_keeps_the_outcomes(tmp_path):
    class Broken(HashEmbedder):
        def encode(self, texts, progress=False):
            raise OSError(28, "No space left on device")

    with KnowledgeBase(tmp_path / "kb", embedder=Broken()) as kb:
        with pytest.raises(NotIndexed) as raised:
            kb.add([CHAI])
        assert [o.result.status for o in raised.value.outcomes] == ["added"]
        assert "no space left" in str(raised.value) and "indexed at the next search" in str(raised.value)
        assert len(kb.episodes()) == 1 and len(kb.stale()) == 1


def test_the_cli_and_the_web_app_have_no_sql_and_no_locking_of_their_own():
    for name in ("cli.py", "app.py", "web.py"):
        source = (ROOT / "ui" / name).read_text()
        for pattern in (r"\.execute\(", r"\bSELECT\b", r"\bthreading\b", r"\bLock\(", r"\bLibrary\(", r"\bIndex\(",
                        r"\.db\b"):
            assert not re.search(pattern, source), f"ui/{name} has {pattern}"


# One import name

def run_python(code: str, cwd: Path, **env) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_podkb_imports_from_anywhere_and_the_folders_are_not_top_level_names(tmp_path):
    found = run_python("import podkb, podkb.ui.cli; print(podkb.KnowledgeBase.__module__, podkb.ingest.__name__)",
                       cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == ["podkb.knowledgebase", "podkb.ingest"]
    for name in ("index", "ingest", "ui"):
        missing = run_python(f"import {name}", cwd=tmp_path)
        assert f"No module named '{name}'" in missing.stderr


def test_a_built_wheel_holds_only_the_podkb_package_and_works_installed(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                            str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("podkb-*.whl")
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        assert "podkb/ingest/formats/vtt.py" in archive.namelist() and "podkb/ui/app.py" in archive.namelist()
    assert {top for top in tops if not top.endswith(".dist-info")} == {"podkb"}
    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site), str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    code = "import podkb, podkb.ui.cli; print(podkb.__file__); import index"
    outside = run_python(code, cwd=tmp_path, PYTHONPATH=str(site))
    assert outside.stdout.strip() == str(site / "podkb" / "__init__.py")
    assert "No module named 'index'" in outside.stderr
    # From a checkout's root its podkb/ folder comes first on the path, and still finds ingest/, index/ and ui/.
    inside = run_python("import podkb.ui.cli, podkb.index.store; print(podkb.index.store.__file__)", cwd=ROOT,
                        PYTHONPATH=str(site))
    assert inside.returncode == 0, inside.stderr


# The README's example, run as a doctest

@pytest.mark.slow
def test_the_readme_example_runs(real_kb, tmp_path, monkeypatch):
    """The README's Python example, with the real model. Its knowledge base is the samples already
    indexed (real_kb), so adding them again finds them unchanged instead of embedding them anew."""
    shutil.copytree(real_kb, tmp_path / "kb-demo")
    (tmp_path / "transcripts").symlink_to(TRANSCRIPTS)
    monkeypatch.chdir(tmp_path)
    readme = (ROOT / "README.md").read_text()
    example = readme[readme.index("## Python"):]
    example = example[:example.index("\n## ", 1)]
    assert ">>> import podkb" in example
    test = doctest.DocTestParser().get_doctest(example, {}, "README.md (Python)", str(ROOT / "README.md"), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    assert runner.summarize(verbose=False).attempted >= 3


# A cold search: the query on ONNX Runtime, no torch

@pytest.mark.slow
def test_a_cold_search_embeds_the_query_without_torch_and_finds_the_same_hits(real_kb):
    """The real model's first load (real_kb) left an ONNX copy; a new process searches with it, never
    importing torch, and finds exactly what sentence-transformers finds."""
    from podkb.index import DEFAULT_MODEL
    from podkb.index.embed import load
    from podkb.index.onnx_encoder import load as load_onnx

    copy = load_onnx(DEFAULT_MODEL)
    assert copy is not None
    texts = ["what should a beginner learn first", "Rest before you are tired. " * 30, "ok"]
    assert float((copy.encode(texts) * load(DEFAULT_MODEL).encode(texts)).sum(axis=1).min()) > 0.9999

    code = ("import sys, atexit; atexit.register(lambda: print('torch loaded' if 'torch' in sys.modules "
            "else 'torch not loaded', file=sys.stderr)); from podkb.ui.cli import main; main()")
    question = ["search", "how many hours to become an expert", "--kb", str(real_kb), "--json", "-k", "8"]
    cold = subprocess.run([sys.executable, "-c", code, *question], capture_output=True, text=True, timeout=300)
    assert cold.returncode == 0 and cold.stderr.strip().endswith("torch not loaded"), cold.stderr
    import os

    torch = subprocess.run([sys.executable, "-c", code, *question], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "PODKB_ONNX": "0"})
    assert torch.stderr.strip().endswith("torch loaded"), torch.stderr

    def ranked(output):
        return [(h["passage_id"], h["start"], round(h["score"], 4)) for h in json.loads(output)]

    assert ranked(cold.stdout) == ranked(torch.stdout) and len(ranked(cold.stdout)) == 8


# The formats table

def test_add_format_reads_every_file_as_that_format_or_says_why_not(podkb, write):
    from podkb.ingest.formats import FORMATS, READERS

    assert list(FORMATS) == [reader.name for reader in READERS] and FORMATS["text"] is READERS[-1]
    otter = write("talk.txt", "Ada  0:05\nRest before you are tired.\n\nBob  0:09\nAnd take whole days off.\n")
    podkb("add", otter)
    assert json.loads(podkb("episodes", "--json").output)[0]["format"] == "otter"  # detected
    forced = write("again.txt", "Ada  0:05\nRest before you are tired, always.\n")
    podkb("add", forced, "--format", "text")
    assert [e["format"] for e in json.loads(podkb("episodes", "--json").output)] == ["otter", "text"]
    refused = podkb("add", write("not.srt.txt", "Just some words.\n"), "--format", "srt", "--no-index", expect=1)
    assert "error:" in refused.stderr and "not.srt.txt" in refused.stderr
    assert "Invalid value for '--format'" in podkb("add", otter, "--format", "docx", expect=2).output


def test_a_reindex_with_a_model_that_cannot_load_leaves_the_index_as_it_was(tmp_path):
    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        kb.add([CHAI])
        before = kb.info()
    with KnowledgeBase(tmp_path / "kb", check_model=False) as kb:
        with pytest.raises(RuntimeError, match="cannot load"):
            kb.reindex("py:no_such_module:Embedder")
        after = kb.info()
    assert (after.passages, after.model, after.dim) == (before.passages, "hash", 64) and before.passages > 0

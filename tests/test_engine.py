"""The embedding engine (issue 18): chosen once per machine and model, checked against fp32 vectors of a
fixed sample, remembered, shown by `podkb info`; a candidate that fails the check is not used."""
import numpy as np
import pytest

from podkb import KnowledgeBase
from podkb.index import DEFAULT_MODEL, engine
from podkb.index.embed import SentenceEmbedder

TEXTS = ["how do I keep going when the excitement of starting wears off",
         "Write every day, even when it is bad, and read the draft aloud. " * 5] * 10


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache of its own, so each test chooses afresh."""
    monkeypatch.setenv("PODKB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PODKB_ENGINE", raising=False)
    return tmp_path / "cache"


@pytest.mark.slow  # the real model
def test_the_engine_is_chosen_once_checked_against_fp32_and_remembered(cache, tmp_path):
    model = SentenceEmbedder(DEFAULT_MODEL)
    assert model.engine in engine.ENGINES and model.choice.cosine >= engine.AGREEMENT
    if model.engine != "cpu-fp32":
        assert model.choice.speedup >= engine.FASTER
    chosen = model.encode(TEXTS)
    plain = model.run(TEXTS, "cpu-fp32")
    assert float((chosen * plain).sum(axis=1).min()) >= engine.AGREEMENT
    assert engine.cached(DEFAULT_MODEL).engine == model.engine
    again = SentenceEmbedder(DEFAULT_MODEL)  # remembered: not measured again
    assert again.choice == model.choice
    with KnowledgeBase(tmp_path / "kb", model=DEFAULT_MODEL) as kb:
        assert kb.info().engine.startswith(model.engine)


@pytest.mark.slow  # the real model
def test_a_candidate_that_disagrees_with_fp32_is_refused_and_fp32_is_used(cache, monkeypatch):
    monkeypatch.setattr(engine, "AGREEMENT", 1.01)  # no engine can agree so closely: every check fails
    monkeypatch.setattr(engine, "cpu_has_bf16", lambda: True)
    model = SentenceEmbedder(DEFAULT_MODEL)
    assert model.engine == "cpu-fp32"
    assert "cpu-bf16 disagreed with fp32" in model.choice.note
    assert "disagreed" in model.choice.describe()
    assert np.allclose(model.encode(TEXTS), model.run(TEXTS, "cpu-fp32"))


@pytest.mark.slow  # the real model
def test_a_named_engine_is_checked_too(cache, monkeypatch):
    monkeypatch.setenv("PODKB_ENGINE", "cpu-bf16")
    monkeypatch.setattr(engine, "AGREEMENT", 1.01)
    assert SentenceEmbedder(DEFAULT_MODEL).engine == "cpu-fp32"


@pytest.mark.slow  # the real model
def test_a_cpu_without_bf16_units_never_tries_bf16(cache, monkeypatch):
    monkeypatch.setattr(engine, "cpu_has_bf16", lambda: False)
    model = SentenceEmbedder(DEFAULT_MODEL)
    assert "cpu-bf16" not in engine.candidates(model, "cpu")
    assert model.engine in ("cpu-fp32", "onnx-fp32")


# The engines are timed interleaved, and a remembered choice is measured again on another CPU or library

class Recording:
    """An embedder whose engines give fp32's vectors; it records which engine ran, in order."""
    device = "cpu"

    def __init__(self):
        self.ran = []

    def onnx(self):
        return object()

    def run(self, texts, engine_name):
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


@pytest.mark.slow  # the real model
def test_when_onnx_runtime_was_chosen_an_add_loads_the_onnx_copy_alone_without_torch(cache, tmp_path, monkeypatch):
    import subprocess
    import sys

    from podkb.index import embed
    from podkb.index.bundled import resolve

    model = SentenceEmbedder(DEFAULT_MODEL)  # exports the ONNX copy; then ONNX Runtime is the choice here
    engine._remember(engine._key(DEFAULT_MODEL, resolve(DEFAULT_MODEL), "cpu"), DEFAULT_MODEL,
                     engine.Choice("onnx-fp32", speedup=1.3))
    np.save(tmp_path / "texts.npy", np.array(TEXTS))
    script = ("import sys, numpy as np; from podkb.index import embed; e = embed.load();"
              f"np.save(sys.argv[1], e.encode(list(np.load({str(tmp_path / 'texts.npy')!r}))));"
              "print(type(e).__name__, e.engine, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "v.npy")], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["OnnxEmbedder", "onnx-fp32", "False", "False"]
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), model.run(TEXTS, "onnx-fp32"))
    monkeypatch.setenv("PODKB_ENGINE", "cpu-fp32")  # an engine asked for: the full model, which checks it
    assert isinstance(embed.load(), SentenceEmbedder)
    monkeypatch.setenv("PODKB_ENGINE", "auto")
    monkeypatch.setenv("PODKB_DEVICE", "cuda")  # a device asked for: the full model decides where it runs
    assert isinstance(embed.load(), SentenceEmbedder)

"""Every GPU path asked for on a machine without a GPU falls back to the CPU and gives the CPU's results:
the embedding model (PODKB_DEVICE=cuda), Whisper (--device cuda), FAISS (PODKB_FAISS_GPU=1), and
bench/gpu.sh, which says plainly that there is nothing to measure. On a machine with a GPU these skip."""
import logging
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from podkb.index.embed import SentenceEmbedder
from podkb.index.vectors import VectorIndex
from podkb.ingest.audio import WhisperOptions, WhisperTranscriber
from podkb.ingest.audio import word_error_rate as wer

from .speech import needs_speech, speak

ROOT = Path(__file__).resolve().parent.parent
no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: nothing falls back")
TEXTS = ["rest before you are tired, and take whole days off", "ten thousand hours of deliberate practice"]


@no_gpu
def test_the_embedding_model_asked_for_cuda_embeds_on_the_cpu_with_a_warning(monkeypatch, caplog):
    monkeypatch.setenv("PODKB_DEVICE", "cuda")
    with caplog.at_level(logging.WARNING):
        asked = SentenceEmbedder()
    assert asked.device == "cpu" and not asked.engine.startswith("cuda")
    assert any("no CUDA device" in r.getMessage() for r in caplog.records)
    monkeypatch.setenv("PODKB_DEVICE", "cpu")
    np.testing.assert_allclose(asked.encode(TEXTS), SentenceEmbedder().encode(TEXTS), atol=1e-6)


@no_gpu
@needs_speech
def test_whisper_asked_for_cuda_loads_and_transcribes_on_the_cpu(tmp_path):
    text = "Rest before you are tired, and take whole days off."
    wav = speak(text, tmp_path / "talk.wav")
    transcriber = WhisperTranscriber(WhisperOptions(device="cuda"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        transcript = transcriber.transcribe(str(wav))
    assert transcriber.device == "cpu" and transcriber.compute_type == "int8"
    assert any("on the CPU instead" in str(w.message) for w in caught)
    assert wer(text, " ".join(s.text for s in transcript.segments)) <= 0.2


def test_faiss_on_the_gpu_asked_for_without_one_searches_the_cpu_index(monkeypatch):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((500, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex.build(16, np.arange(100, 600), vectors)
    monkeypatch.setenv("PODKB_FAISS_GPU", "0")
    on_cpu = index.search(vectors[7], 20)
    monkeypatch.setenv("PODKB_FAISS_GPU", "1")
    asked = index.search(vectors[7], 20)
    assert asked[1][0] == 107 and asked[1].tolist() == on_cpu[1].tolist()
    np.testing.assert_array_equal(asked[0], on_cpu[0])


@no_gpu
def test_the_gpu_run_says_plainly_there_is_no_gpu_and_its_parts_fall_back(tmp_path):
    said = subprocess.run(["bash", str(ROOT / "bench" / "gpu.sh")], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable})
    assert said.returncode == 0 and said.stdout.startswith("No GPU on this machine"), said
    ran = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), "--passages", "32", "--vectors", "3000"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    out = ran.stdout
    assert "### 1. Embeddings" in out and "skipped: torch sees no CUDA device" in out
    assert "podkb's VectorIndex (FAISS Flat) on the CPU" in out and "skipped on the GPU" in out
    assert "### 3. Whisper on CUDA" in out and "skipped: ctranslate2 sees no CUDA device" in out
    assert "failed:" not in out, out

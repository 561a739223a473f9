"""Every setting podkb takes from the environment, and the one rule that resolves a setting.

A setting's value is the first of:

1. the option given: a command's ``--kb``, ``--model``, ``--whisper-model``, ...; a Python
   caller's argument;
2. the value saved with the knowledge base: the model it was indexed with (a knowledge base is
   always searched with its own model, whatever the environment says);
3. the environment variable, ``PODKB_...``;
4. the default.

``setting`` applies it; nothing else in podkb reads a ``PODKB_`` variable (a test checks). It
lives at the bottom of the pipeline so that every layer may ask it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    env: str
    default: str | None
    help: str


SETTINGS = {
    "home": Setting("PODKB_HOME", None, "the knowledge base folder when --kb is not given (default: the user's app "
                                        "folder)"),
    "model": Setting("PODKB_MODEL", None, "the embedding model of a new knowledge base (default: all-MiniLM-L6-v2)"),
    "whisper_model": Setting("PODKB_WHISPER_MODEL", None, "the Whisper model: tiny.en (the default) or base "
                                                          "(make whisper-models) offline, a CTranslate2 folder, or "
                                                          "a hub name"),
    "device": Setting("PODKB_DEVICE", None, "where the embedding model runs: cpu or cuda (default: cuda when "
                                            "there is a GPU)"),
    "engine": Setting("PODKB_ENGINE", "auto", "how the embedding model runs on the CPU: auto (measured once), "
                                              "bf16 or fp32"),
    "onnx": Setting("PODKB_ONNX", "1", "0: embed queries with the model itself, not its ONNX copy"),
    "faiss_gpu": Setting("PODKB_FAISS_GPU", "1", "0: search FAISS on the CPU even with faiss-gpu and a GPU"),
    "diarize": Setting("PODKB_DIARIZE", "1", "0: transcribe without finding who speaks when"),
    "fbank": Setting("PODKB_FBANK", "auto", "the speaker features: auto (senko's compiled filterbank where the CPU "
                                            "runs it, else kaldi-native-fbank), native or fallback"),
    "allow_private": Setting("PODKB_ALLOW_PRIVATE", "0", "1: feeds may fetch from loopback and private addresses"),
    "batch_passages": Setting("PODKB_BATCH_PASSAGES", None, "passages gathered across episodes per embedding "
                                                            "batch (default: 256)"),
    "ray": Setting("PODKB_RAY", None, "the Ray cluster to transcribe and embed on when --ray is not given"),
    "reranker": Setting("PODKB_RERANKER", None, "the cross-encoder that re-ranks a search when --rerank is not given"),
    "ray_workers": Setting("PODKB_RAY_WORKERS", None, "at most this many actors on a Ray cluster (default: one "
                                                      "per GPU, else per CPU)"),
    "judge": Setting("PODKB_JUDGE", "all-mpnet-base-v2", "the model that judges ask's answer spans again; 0 for "
                                                         "none (default: all-mpnet-base-v2, when installed)"),
    "llm": Setting("PODKB_LLM", None, "the language model (as llm names it) that writes ask's answer with "
                                      "citations when --llm is not given and none is saved with 'podkb config llm'"),
    "llm_timeout": Setting("PODKB_LLM_TIMEOUT", "60", "seconds to wait for the language model's next words"),
    "cache": Setting("PODKB_CACHE", None, "where unpacked models and measurements are kept (default: "
                                          "$XDG_CACHE_HOME/podkb, else ~/.cache/podkb)"),
    "debug": Setting("PODKB_DEBUG", "0", "1: show a store error's traceback instead of its one line"),
}

_NO, _YES = ("0", "false", "no", "off"), ("1", "true", "yes", "on")


def setting(name: str, option: str | None = None, saved: str | None = None, default: str | None = None) -> str | None:
    """The value of setting ``name``: ``option`` if given, else ``saved``, else its environment
    variable (when set and not blank), else ``default``, else the table's default."""
    known = SETTINGS[name]
    for value in (option, saved, os.environ.get(known.env, "").strip()):
        if value:
            return value
    return default if default is not None else known.default


def flag(name: str, option: bool | None = None) -> bool:
    """A yes/no setting: ``option`` if given, else the environment's 1/true/yes/on or 0/false/no/off,
    else the default."""
    if option is not None:
        return option
    value = (setting(name) or "").lower()
    if value in _YES or value in _NO:
        return value in _YES
    return (SETTINGS[name].default or "0") in _YES


def number(name: str, default: int | None = None) -> int | None:
    """A whole-number setting; a value that isn't one is ignored (the default)."""
    value = setting(name)
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default

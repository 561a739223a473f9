"""How the embedding model runs on this machine: the one place that chooses, per machine and model.

The candidates, where the hardware has them: fp16 on CUDA; bfloat16 autocast on a CPU with bf16
units (AVX-512 BF16 or AMX; elsewhere bf16 is emulated and slow, so it is not tried); the model's
ONNX Runtime copy (onnx_encoder.py) when one was exported; plain fp32. The first time a model
loads on a machine, each candidate embeds a fixed sample beside fp32: one that disagrees with the
fp32 vectors (least cosine under AGREEMENT) is refused, and of the others the fastest wins if it
is at least FASTER times quicker than fp32. The engines are timed interleaved, ROUNDS rounds of one
run each in a rotating order, and each engine's median is taken, so a burst of other load on the
machine falls on all of them alike instead of on whichever ran then. The choice is kept in the cache
folder, keyed by the model's weights, the CPU (its model name and bf16 units) and the versions of the
libraries that run it, so a remembered choice is measured again when any of them changes; later loads
cost nothing, and `podkb info` shows it.
$PODKB_ENGINE names one instead (it is still checked).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..ingest.settings import setting
from ..ingest.files import replacing
from .bundled import cache_dir

AGREEMENT = 0.999  # least cosine between a candidate's vectors and fp32's, on the sample
FASTER = 1.1       # a candidate must beat fp32 by this much to be chosen
ROUNDS = 3         # timing rounds, every engine once a round (interleaved)
ENGINES = ("cuda-fp16", "cpu-bf16", "onnx-fp32", "cpu-fp32", "cuda-fp32")
SAMPLE = [
    "So the advice I would give is to rest before you are tired, and to take whole days off. " * 4,
    "How many hours does it take to become an expert at something?",
    "We went from four hundred employees down to sixty, and that was incredibly painful for everyone.",
    "Write code, talk to users, rinse and repeat: that loop is the whole job in the early days.",
    "I think you have to be willing to spend more time on the design than anybody else would. " * 2,
    "x",
] * 4


@dataclass
class Choice:
    engine: str
    speedup: float = 1.0         # against fp32 on the sample
    cosine: float = 1.0          # least cosine to fp32's vectors on the sample
    note: str = ""               # what was refused, and why

    def describe(self) -> str:
        text = self.engine if self.engine.endswith("fp32") and self.speedup == 1.0 else \
            f"{self.engine} ({self.speedup:.1f}x fp32, cosine {self.cosine:.5f})"
        return f"{text}; {self.note}" if self.note else text


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bfloat16 itself (AVX-512 BF16 or AMX); elsewhere torch emulates it, slowly."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine() == "arm64" and platform.system() == "Darwin"  # Apple silicon has bf16
    return any(flag in flags for flag in ("avx512_bf16", "amx_bf16"))


def machine() -> str:
    """What a remembered choice depends on besides the model: the CPU's model name and bf16 units, its core
    count, and the versions of the libraries that run the engines."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
    except OSError:
        pass
    libraries = []
    for package in ("torch", "onnxruntime", "sentence-transformers", "transformers"):
        try:
            libraries.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            libraries.append(f"{package} -")
    return f"{cpu}; bf16 {cpu_has_bf16()}; {os.cpu_count()} cores; {', '.join(libraries)}"


def _key(name: str, folder: str, device: str) -> str:
    weights = next((Path(folder) / n for n in ("model.safetensors", "pytorch_model.bin") if (Path(folder) / n).is_file()),
                   None)
    stamp = f"{weights.stat().st_size}:{weights.stat().st_mtime_ns}" if weights else "?"
    return hashlib.sha256(f"{name}:{folder}:{stamp}:{device}:{machine()}".encode()).hexdigest()[:20]


def _store() -> Path:
    return cache_dir() / "engines.json"


def cached(name: str) -> Choice | None:
    """The choice made for model ``name`` on this machine, if it was made (for `podkb info`)."""
    try:
        found = json.loads(_store().read_text())
    except (OSError, ValueError):
        return None
    choices = [v for v in found.values() if isinstance(v, dict) and v.get("name") == name]
    return Choice(**{k: v for k, v in choices[-1].items() if k != "name"}) if choices else None


def _remember(key: str, name: str, choice: Choice) -> None:
    store = _store()
    try:
        found = json.loads(store.read_text())
    except (OSError, ValueError):
        found = {}
    found[key] = {"name": name, **asdict(choice)}
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        with replacing(store) as out:
            out.write(json.dumps(found, indent=1).encode())
    except OSError:
        pass  # a read-only cache: choose again next time


def choose(embedder, name: str, folder: str, device: str) -> Choice:
    """The engine for this model on this machine: remembered, else measured now (see the module)."""
    wanted = setting("engine")
    if wanted == "auto":
        found = remembered(name, folder, device)
        if found is not None:
            return found
    choice = measure(embedder, candidates(embedder, device, wanted))
    if wanted == "auto":
        _remember(_key(name, folder, device), name, choice)
    return choice


def remembered(name: str, folder: str, device: str) -> Choice | None:
    """The choice made before for this model, weights, device and machine; None if there is none."""
    try:
        found = json.loads(_store().read_text()).get(_key(name, folder, device))
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(found, dict) and found.get("engine") in ENGINES:
        return Choice(**{k: v for k, v in found.items() if k != "name"})
    return None


def candidates(embedder, device: str, wanted: str = "auto") -> list[str]:
    if wanted != "auto":
        return [wanted] if wanted in ENGINES else []
    if device.startswith("cuda"):
        return ["cuda-fp16"]
    found = ["cpu-bf16"] if cpu_has_bf16() else []
    if embedder.onnx() is not None:
        found.append("onnx-fp32")
    return found


def measure(embedder, names: list[str]) -> Choice:
    """Embed the sample with fp32 and with each candidate; the fastest that agrees, else fp32."""
    fp32 = "cuda-fp32" if embedder.device.startswith("cuda") else "cpu-fp32"
    names = [n for n in names if n != fp32]
    if not names:
        return Choice(fp32)
    embedder.run(SAMPLE[:2], fp32)  # warm up: first calls allocate
    reference = embedder.run(SAMPLE, fp32)
    notes, agreeing = [], {}
    for name in names:  # each candidate checked against fp32 first, and warmed by it
        try:
            vectors = embedder.run(SAMPLE, name)
        except Exception as error:  # noqa: BLE001 - an engine that fails here is simply not used
            notes.append(f"{name} failed ({type(error).__name__}: {str(error)[:80]})")
            continue
        cosine = float((vectors * reference).sum(axis=1).min())
        if not cosine >= AGREEMENT:
            notes.append(f"{name} disagreed with fp32 (cosine {cosine:.4f})")
            continue
        agreeing[name] = cosine
    timed = interleaved(embedder, [fp32, *agreeing])
    best = Choice(fp32)
    for name, cosine in agreeing.items():
        speedup = timed[fp32] / max(timed[name], 1e-9)
        if speedup >= FASTER and speedup > best.speedup:
            best = Choice(name, round(speedup, 2), round(cosine, 6))
    best.note = "; ".join(notes)
    return best


def interleaved(embedder, engines: list[str], rounds: int = ROUNDS) -> dict[str, float]:
    """Each engine's median seconds for the sample over ``rounds`` rounds, every engine once a round, the
    order rotated each round: load that comes and goes is shared out, not pinned on one engine."""
    took: dict[str, list[float]] = {name: [] for name in engines}
    if len(engines) < 2:
        return {name: 1.0 for name in engines}
    for round_ in range(rounds):
        for name in engines[round_ % len(engines):] + engines[:round_ % len(engines)]:
            began = time.perf_counter()
            embedder.run(SAMPLE, name)
            took[name].append(time.perf_counter() - began)
    return {name: float(np.median(times)) for name, times in took.items()}

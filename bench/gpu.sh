#!/usr/bin/env bash
# The GPU run of issue 41, prepared as one script (bench/gpu.py says what it measures); under 10 minutes.
#
#   bash bench/gpu.sh --prepare     # here, with podkb installed: the model files the lent machine lacks,
#                                   # into build/ (an fp16 copy of MiniLM, 45 MB; Whisper tiny.en, 75 MB)
#   bash bench/gpu.sh               # on the machine with the GPU; says so plainly when there is none
#
# The lent GPU machines have torch, sentence-transformers and onnxruntime but not podkb's environment,
# and take at most 64 MiB a call: carry build/gpu-model there (the device tool's `carry`), then run this.
# build/gpu-whisper (75 MB) does not fit beside it; there the Whisper part says why it did not run (no
# faster-whisper, or ctranslate2's CUDA build wanting cuBLAS 12, ../shared/ENVIRONMENT.md).
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(test -x .venv/bin/python && echo .venv/bin/python || echo python3)}

if [ "${1:-}" = "--prepare" ]; then
  exec "$PYTHON" - <<'EOF'
from pathlib import Path
import shutil
import torch
from sentence_transformers import SentenceTransformer
from podkb.index.bundled import DEFAULT_MODEL
from podkb.index.embed import resolve
from podkb.ingest.audio import resolve_model

target = Path("build/gpu-model")
model = SentenceTransformer(resolve(DEFAULT_MODEL), device="cpu").half()
model.save(str(target))
print(f"{target}: {DEFAULT_MODEL} in fp16, {sum(f.stat().st_size for f in target.rglob('*') if f.is_file()) / 1e6:.0f} MB")
whisper = Path("build/gpu-whisper")
shutil.rmtree(whisper, ignore_errors=True)
shutil.copytree(resolve_model("tiny.en"), whisper)
print(f"{whisper}: Whisper tiny.en, {sum(f.stat().st_size for f in whisper.rglob('*') if f.is_file()) / 1e6:.0f} MB")
EOF
fi

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "No GPU on this machine ($(hostname), $(nproc) cores): nothing to measure here. Every GPU path of podkb"
  echo "falls back to the CPU (tests/test_gpu_fallback.py shows it without a GPU)."
  exit 0
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
exec timeout 570 "$PYTHON" bench/gpu.py "$@"

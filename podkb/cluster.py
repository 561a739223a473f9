"""Transcription and embedding on a Ray cluster (`podkb add --ray ADDRESS`, `podkb feed --ray ADDRESS`).

An actor pool: each actor loads one Whisper model and one embedding model, once, and asks for
one GPU where the cluster has GPUs (float16 there), else one CPU (int8). The units of work are
one audio file or feed item per task and batches of passages to embed. Workers on other machines
can't read the user's paths, so each audio file travels through Ray's object store, in chunks;
a feed item goes by URL, and the worker downloads it with the command's size cap and deadlines.

The process that runs the command stays the one writer: results come back to it, and it stores
each episode in one transaction as its transcription finishes (importer.add_paths asks
``schedule`` for the order). Faults: an actor whose process dies is restarted by Ray and its task
retried (``max_restarts``, ``max_task_retries``); nothing is stored twice, since only finished
results are stored. A killed command, run again, finds its finished episodes by their content
hash and transcribes only the rest.

Ray is an optional extra: ``pip install 'podkb[ray]'``. Every machine of the cluster needs podkb
installed (the actors import it) and the same offline models (they come with its dependencies).
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .ingest.audio import AUDIO_SUFFIXES, WhisperOptions, WhisperTranscriber
from .ingest.events import Transcribing
from .ingest.transcriber import Items, Transcriber
from .ingest.errors import BadInput
from .ingest.settings import number

CHUNK = 16 << 20          # bytes of audio per object in the object store
EMBED_BATCH = 128         # passages or sentences per embedding task
READY_SECONDS = 300       # how long the actors may take to start (and import their libraries)


class ClusterError(Exception):
    """The cluster can't be used: unreachable, or no worker able to run the models. Raised before any work."""


class _Worker:
    """One actor: a Whisper model and an embedding model, each loaded at its first use, then kept."""

    def __init__(self, whisper: WhisperOptions, model: str):
        import torch

        torch.set_num_threads(max(1, int(whisper.threads or 1)))
        self.transcriber = WhisperTranscriber(whisper)
        self.model_name = model
        self.embedder = None

    def ready(self) -> str:
        """Check, before any work, that this worker can run both models: their files resolve here."""
        from .index.bundled import resolve
        from .ingest.audio import resolve_model

        whisper = resolve_model(self.transcriber.options.model)
        if os.path.sep in whisper and not Path(whisper).is_dir():
            raise RuntimeError(f"no Whisper model at {whisper}")
        if not self.model_name.startswith("py:"):
            folder = resolve(self.model_name)
            if os.path.sep in folder and not Path(folder).is_dir():
                raise RuntimeError(f"no embedding model at {folder}")
        return f"{os.uname().nodename}:{os.getpid()}"

    def transcribe(self, name: str, chunks: list):
        """(name, transcript, None), or (name, None, why not) for a file that isn't audio it can read."""
        import ray

        with tempfile.TemporaryDirectory(prefix="podkb-ray-") as tmp:
            path = Path(tmp) / f"audio{Path(name).suffix}"
            with open(path, "wb") as out:
                for chunk in ray.get(chunks):
                    out.write(chunk)
            try:
                return name, self.transcriber.transcribe(str(path)), None
            except BadInput as bad:
                return name, None, str(bad)

    def transcribe_url(self, url: str, suffix: str, options, length: int | None):
        """A feed item's audio, downloaded here with the command's limits: (transcript, sha256 of the file,
        None), or (None, None, why not)."""
        from .ingest import fetch
        from .ingest.importer import file_hash

        with tempfile.TemporaryDirectory(prefix="podkb-ray-") as tmp:
            path = Path(tmp) / f"audio{suffix}"
            try:
                fetch.download(url, path, options.max_bytes, options.timeout, length, options.allow_private)
                return self.transcriber.transcribe(str(path)), file_hash(path), None
            except BadInput as bad:
                return None, None, str(bad)

    def embed(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            from .index.embed import load

            self.embedder = load(self.model_name)
        return self.embedder.encode(texts)

    def dim(self) -> int:
        if self.embedder is None:
            self.embed(["dimension"])
        return self.embedder.dim


def connect(address: str) -> None:
    """Join the cluster at ``address`` (what ray.init takes: auto, HOST:PORT, ray://HOST:10001), or start
    a private one on this machine with 'local'. ClusterError, in one line, when that fails."""
    try:
        import ray
    except ImportError:
        raise ClusterError("--ray needs Ray: pip install 'podkb[ray]'") from None
    if ray.is_initialized():
        return
    _probe(address)
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False, "configure_logging": True}
    try:
        if address == "local":
            ray.init(include_dashboard=False, **quiet)
        else:
            ray.init(address=address, **quiet)
    except Exception as error:  # noqa: BLE001 - ConnectionError, RuntimeError, ValueError, grpc's own
        reason = " ".join(str(error).split())[:300] or type(error).__name__
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {reason}") from None


def _probe(address: str, seconds: float = 10.0) -> None:
    """A HOST:PORT (or ray://HOST:PORT) that nothing answers on fails here at once: ray.init would keep
    retrying it for minutes."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # 'auto' and 'local': Ray answers those quickly itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=seconds).close()
    except OSError as error:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}") from None


class Cluster:
    """An actor pool on a Ray cluster, for Whisper and the embedding model."""

    def __init__(self, address: str, whisper: WhisperOptions | None = None, model: str | None = None):
        connect(address)
        import ray
        from ray.util import ActorPool

        from .index.embed import default_model

        self.address = address
        self.model = model or default_model()
        whisper = whisper or WhisperOptions()
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
        if gpus:
            size, ask = gpus, {"num_gpus": 1, "num_cpus": 1}
            options = WhisperOptions(**{**whisper.__dict__, "device": "cuda", "threads": 1})
        elif cpus:
            size, ask = cpus, {"num_cpus": 1}
            options = WhisperOptions(**{**whisper.__dict__, "device": "cpu", "threads": 1})
        else:
            raise ClusterError(f"the Ray cluster at {address} has no CPU or GPU to run the models on")
        size = min(size, number("ray_workers", size))
        remote = ray.remote(max_restarts=-1, max_task_retries=-1, **ask)(_Worker)
        self.actors = [remote.remote(options, self.model) for _ in range(size)]
        try:
            self.workers = ray.get([actor.ready.remote() for actor in self.actors], timeout=READY_SECONDS)
        except Exception as error:  # noqa: BLE001 - the actors' own exception, or GetTimeoutError
            reason = " ".join(str(getattr(error, "cause", None) or error).split())
            raise ClusterError(f"no worker of the Ray cluster at {address} can run the models: "
                               f"{reason.splitlines()[0][:300] if reason else type(error).__name__}") from None
        self.pool = ActorPool(self.actors)

    def embedder(self) -> "ClusterEmbedder":
        return ClusterEmbedder(self)

    def close(self) -> None:
        """Stop this pool's actors (the connection to the cluster stays, for the next command in this process)."""
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []


class ClusterEmbedder:
    """The embedding model on the cluster's actors (the Embedder protocol): batches spread over the pool."""

    def __init__(self, cluster: Cluster):
        import ray

        self.cluster, self.name = cluster, cluster.model
        self.dim = ray.get(cluster.actors[0].dim.remote())

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batches = [texts[i:i + EMBED_BATCH] for i in range(0, len(texts), EMBED_BATCH)]
        done = list(self.cluster.pool.map(lambda actor, batch: actor.embed.remote(batch), batches))
        return np.ascontiguousarray(np.concatenate(done), dtype=np.float32)


def duration(path: Path) -> float:
    """Seconds of audio in a file, from its header (0 when it doesn't say)."""
    import av

    try:
        with av.open(str(path)) as container:
            return max(0.0, (container.duration or 0) / 1_000_000)
    except (av.FFmpegError, OSError):
        return 0.0


class ClusterTranscriber(Transcriber):
    """The Ray backend of the ``Transcriber`` protocol (ingest/transcriber.py): transcribes on the cluster, many files at once; ``importer.add_paths`` stores each as it finishes.

    ``schedule`` sends the new audio files out, two per worker at a time, and hands the paths back:
    files that need no transcription first, then audio files in the order their transcriptions finish,
    with one ``Transcribing`` event for the whole run as it starts and as each file comes back.
    """

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self._done: dict = {}      # path → Transcript, or the BadInput to raise for it

    def schedule(self, items: Items, known: Callable[[Path], bool]) -> Iterator[tuple[str, str | None] | Transcribing]:
        pool, seconds, queue = self.cluster.pool, {}, []
        for raw, error in items:
            path = Path(raw)
            if error or path.suffix.lower() not in AUDIO_SUFFIXES or known(path):
                yield raw, error
                continue
            queue.append(raw)
            seconds[raw] = duration(path)
        name = f"{len(queue)} audio file{'s' if len(queue) != 1 else ''} on the Ray cluster"
        total, done, window, out = sum(seconds.values()), 0.0, 2 * len(self.cluster.actors), 0
        if queue:
            yield Transcribing(name, 0.0, total)
        queue.reverse()
        while queue or pool.has_next():
            # At most two files per worker in the object store at once: a back catalogue of hundreds
            # of hours goes out as workers free up, not all at the start.
            while queue and out < window:
                raw = queue.pop()
                try:
                    pool.submit(lambda actor, job: actor.transcribe.remote(*job), (raw, _chunks(Path(raw))))
                    out += 1
                except OSError as problem:
                    self._done[raw] = BadInput(f"cannot read: {problem.strerror or problem}")
                    yield raw, None
            if not pool.has_next():
                continue
            try:
                raw, transcript, why = pool.get_next_unordered()
                out -= 1
            except Exception as error:  # noqa: BLE001 - the actor itself failed past its retries
                raise ClusterError(f"the Ray cluster at {self.cluster.address} failed: {_bad(error)}") from None
            self._done[raw] = transcript if why is None else BadInput(why)
            done += seconds[raw]
            yield Transcribing(name, min(done, total), total)
            yield raw, None

    def transcribe(self, path: str):
        """The transcript ``schedule`` fetched for ``path``; a file it did not send is sent now, alone,
        and waited for."""
        if path not in self._done:
            list(self.schedule([(path, None)], known=lambda _: False))
        result = self._done.pop(path)
        if isinstance(result, Exception):
            raise result
        return result

    def transcribe_url(self, url: str, suffix: str, options, length: int | None):
        """A feed item by URL: a worker downloads it (with ``options``' size cap and deadlines) and
        transcribes it. (transcript, sha256 of the audio); BadInput when either fails."""
        pool = self.cluster.pool
        try:
            pool.submit(lambda actor, job: actor.transcribe_url.remote(*job), (url, suffix, options, length))
            transcript, digest, why = pool.get_next_unordered()
        except Exception as error:  # noqa: BLE001 - the actor itself failed past its retries
            raise ClusterError(f"the Ray cluster at {self.cluster.address} failed: {_bad(error)}") from None
        if why is not None:
            raise BadInput(why)
        return transcript, digest


def _chunks(path: Path) -> list:
    """The file in the object store, CHUNK bytes an object (a worker on another machine reads it there)."""
    import ray

    refs = []
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            refs.append(ray.put(block))
    return refs


def _bad(error: Exception) -> BadInput:
    cause = getattr(error, "cause", None) or error
    if isinstance(cause, BadInput):
        return BadInput(str(cause))
    text = " ".join(str(cause).split()) or type(cause).__name__
    return BadInput(f"transcription failed on the Ray cluster: {text[:300]}")

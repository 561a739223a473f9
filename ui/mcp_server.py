"""podkb for assistants: an MCP server over stdio (`podkb mcp`), with the official `mcp` SDK.

Tools: search, ask, context, episodes, save_quote. Resources: podkb://episode/{id} (the
transcript, timestamped) and podkb://collection/{name} (the collection as its Markdown export).
Every answer carries what an assistant needs to cite a claim: show, episode, speaker, the
moment (MM:SS or H:MM:SS) and a link that plays from it where the episode has one.

Bad arguments come back as tool errors (``is_error``) with one clear sentence, and the server
goes on serving. Searches read what is committed: an import in another process never makes
them fail, and its episodes show up once that process has indexed them. The SDK points fd 1
at stderr while it serves, so nothing but protocol messages reaches stdout.
"""
from __future__ import annotations

import io
import json
import logging
import math
import sys
from typing import Any
from urllib.parse import unquote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from .. import Citation, KnowledgeBase, format_timestamp, said_at, web_url, well_formed
from ..events import Done, Indexing
from .exports import export

CITE = ("Cite every claim you take from podkb as \"Show — Episode — Speaker — MM:SS\" (the `citation` field "
        "gives exactly that) followed by the `link`, which plays from that moment, when there is one.")
INSTRUCTIONS = ("podkb is a knowledge base of podcast and lecture transcripts. Use `ask` for advice questions "
                "(it returns key points, each a different moment), `search` for passages, `context` to read "
                "around a moment, `episodes` to see what is there. " + CITE)
MAX_K = 50
log = logging.getLogger("podkb.mcp")


def _hit(hit) -> dict[str, Any]:
    return {
        "episode_id": hit.episode_id, "episode_title": hit.episode_title, "show": hit.show, "speaker": hit.speaker,
        "start": hit.start, "end": hit.end, "time": format_timestamp(hit.start, missing=None), "text": " ".join(hit.text.split()),
        "highlight": hit.highlight, "question": hit.question, "citation": hit.citation, "link": hit.link,
    }


def _k(k: int) -> int:
    if not 1 <= k <= MAX_K:
        raise ToolError(f"k must be between 1 and {MAX_K}, not {k}")
    return k


def _query(text: str, what: str = "query") -> str:
    text = " ".join((text or "").split())
    if not text:
        raise ToolError(f"the {what} is empty: say what to look for, e.g. 'how to avoid burnout'")
    return text[:1000]


class _Server(MCPServer):
    """The SDK's server, with arguments that fail validation said in one line ("k: Input should be a valid
    integer"), not a multi-line pydantic report."""

    async def call_tool(self, name, arguments, context=None):
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            if not isinstance(error.__cause__, ValidationError):
                raise
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.__cause__.errors())
            raise ToolError(f"bad arguments for {name}: {problems}") from None


def mend(line: bytes) -> bytes:
    """A JSON-RPC line with each lone surrogate in its strings ("\\ud800") made '?': the SDK's JSON
    parser refuses them, and then no reply goes back, so the client waits forever on that id."""
    if b"\\u" not in line:
        return line
    try:
        message = json.loads(line)
    except ValueError:
        return line  # not JSON at all: the SDK answers that itself
    return json.dumps(_well_formed(message)).encode() + b"\n"


def _well_formed(value):
    if isinstance(value, str):
        return well_formed(value)
    if isinstance(value, list):
        return [_well_formed(v) for v in value]
    if isinstance(value, dict):
        return {well_formed(k): _well_formed(v) for k, v in value.items()}
    return value


class _MendedLines(io.RawIOBase):
    """A binary stream of another's lines, each mended (``mend``)."""

    def __init__(self, source):
        self.source, self.pending = source, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            line = self.source.readline()
            if not line:
                return 0
            self.pending = mend(line)
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size


def build(kb: KnowledgeBase, read_only: bool = False) -> MCPServer:
    server = _Server(name="podkb", instructions=INSTRUCTIONS)

    def find(episode: str):
        try:
            return kb.episode(episode)
        except LookupError as error:
            raise ToolError(f"{error}; the episodes tool lists them") from None

    def filters(show, episode, speaker, date_from, date_to):
        try:
            return kb.filters(show=show, episode=episode, speaker=speaker, date_from=date_from, date_to=date_to)
        except LookupError as error:
            raise ToolError(f"{error}; the episodes tool lists them") from None
        except ValueError as error:
            raise ToolError(f"bad date: {error}") from None

    @server.tool(description="Find passages of the podcasts and lectures that answer `query`, best first. Each hit "
                             "has the episode, show, speaker, start/end in seconds, `time`, the passage `text`, the "
                             "sentence that answers (`highlight`), and `citation` and `link`. " + CITE)
    def search(query: str, k: int = 8, show: str | None = None, episode: str | None = None,
               speaker: str | None = None, date_from: str | None = None, date_to: str | None = None) -> list[dict]:
        chosen = filters(show, episode, speaker, date_from, date_to)
        return [_hit(h) for h in kb.search(_query(query), k=_k(k), filters=chosen, sync=False)]

    @server.tool(description="Answer an advice question with key points: distinct answers from different moments, "
                             "each what someone said (never a question), each cited; then the hits they come from. "
                             "`answered` is false (and `points` empty) when nothing in the library answers it well: "
                             "say so rather than answer from the nearest passages. When the user has set a language "
                             "model (or names one in `llm`), `written` holds its short answer: `sentences`, each "
                             "with the `cites` (numbers of `sources`) it rests on and `verified` false when its "
                             "citations do not check out; `error` when the model failed. " + CITE)
    def ask(question: str, k: int = 5, llm: str | None = None) -> dict:
        answer = kb.ask(_query(question, "question"), k=_k(k), sync=False)
        points = answer.points  # none when answered is false (index/points.py)
        result = {
            "question": question,
            "answered": answer.answered,
            "confidence": round(answer.confidence, 3),
            "note": None if answer.answered else "Nothing in this library answers that well; the hits are the "
                                                 "nearest passages.",
            "points": [{"text": p.text, "episode_id": p.episode_id, "episode_title": p.episode_title, "show": p.show,
                        "speaker": p.speaker, "start": p.start, "time": format_timestamp(p.start, missing=None), "citation": p.citation,
                        "link": p.link} for p in points],
            "hits": [_hit(h) for h in answer.hits],
        }
        if kb.llm(llm) and answer.hits:
            written = kb.write(answer, llm).run().to_dict()
            for source in written["sources"]:
                source["time"] = format_timestamp(source["start"], missing=None)
            result["written"] = written
        return result

    @server.tool(description="The transcript around a moment: the lines from `start` - seconds/2 to `start` + "
                             "seconds/2 of an episode (an id, or the start of one), with speakers and times. For "
                             "untimed transcripts, `start` counts paragraphs from 0.")
    def context(episode: str, start: float, seconds: float = 60) -> dict:
        if not (math.isfinite(start) and math.isfinite(seconds)):
            raise ToolError("start and seconds must be numbers, not NaN or infinity")
        if seconds <= 0 or seconds > 3600:
            raise ToolError("seconds must be more than 0 and at most 3600")
        if start < 0:
            raise ToolError("start is 0 or more seconds")
        found = find(episode)
        segments = kb.segments(found.id)
        if any(s.start is not None for s in segments):
            low, high = start - seconds / 2, start + seconds / 2
            chosen = [s for s in segments if s.start is not None and (s.end or s.start) >= low and s.start <= high]
        else:
            at = int(start)
            chosen = segments[max(0, at - 2):at + 3]
        return {
            "episode_id": found.id, "episode_title": found.title, "show": found.show,
            "lines": [{"time": format_timestamp(s.start, missing=None), "start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text}
                      for s in chosen],
        }

    @server.tool(description="The episodes in the knowledge base: id, title, show, date, duration (seconds and "
                             "H:MM:SS), source link and whether they have audio.")
    def episodes() -> list[dict]:
        return [{"id": e.id, "title": e.title, "show": e.show, "date": e.date, "duration": e.duration,
                 "length": format_timestamp(e.duration, missing=None), "source": web_url(e.source), "audio": bool(e.media), "speakers": e.speakers}
                for e in kb.episodes()]

    @server.tool(description="Save what an episode says from `start` (to `end`, else the two sentences spoken at "
                             "that moment) into a named quote collection, creating it if need be; `note` is kept with it. "
                             "Refused when the server runs read-only.")
    def save_quote(collection: str, episode: str, start: float, end: float | None = None, note: str = "") -> dict:
        if read_only:
            raise ToolError("this podkb server is read-only (podkb mcp --read-only): quotes can't be saved")
        if start < 0 or (end is not None and end < start):
            raise ToolError("start is 0 or more seconds, and end (if given) comes after it")
        found = find(episode)
        try:
            quote = kb.quote(collection, found.id, start, end, note)
        except LookupError as error:
            raise ToolError(f"{error}; the episodes tool lists them") from None
        except ValueError as error:
            raise ToolError(str(error)) from None
        return {"id": quote.id, "collection": collection.strip(), "text": quote.text, "citation": quote.citation,
                "link": quote.link}

    @server.resource("podkb://episode/{episode_id}", name="episode", mime_type="text/plain",
                     description="An episode's transcript as timestamped text: one line per segment.")
    def episode_text(episode_id: str) -> str:
        try:
            found = kb.episode(unquote(episode_id))
        except LookupError as error:
            raise ValueError(str(error)) from None
        lines = [Citation(found.show, found.title).format()]
        for n, s in enumerate(kb.segments(found.id)):
            when = f"[{said_at(s.start, n)}]"
            lines.append(f"{when} {s.speaker + ': ' if s.speaker else ''}{s.text}")
        return "\n".join(lines) + "\n"

    @server.resource("podkb://collection/{name}", name="collection", mime_type="text/markdown",
                     description="A quote collection as Markdown, the same text as `podkb export NAME`.")
    def collection_text(name: str) -> str:
        try:
            stored = kb.collections.name(unquote(name))
            return export(stored, kb.collections.quotes(stored), "markdown")
        except LookupError as error:
            raise ValueError(str(error)) from None

    return server


def index_stale(kb: KnowledgeBase) -> None:
    """Index the episodes stored but not indexed yet (added with --no-index, or by an import that was
    killed), logging its events; searches meanwhile read what is indexed so far."""
    try:
        for event in kb.sync_events(wait=False):
            if isinstance(event, Indexing) and event.total:
                log.info("indexing: %d of %d episodes, %d passages", event.done, event.total, event.passages)
            elif isinstance(event, Done) and event.report.busy:
                log.info("another podkb process is indexing %s; searching what is indexed so far", kb.path)
            elif isinstance(event, Done) and event.report.episodes:
                log.info("indexed %d episodes: %d passages with %s", event.report.episodes, event.report.passages,
                         kb.model)
    except Exception as error:  # noqa: BLE001 - the server goes on serving what is indexed
        log.warning("indexing failed: %s", " ".join(str(error).split())[:300] or type(error).__name__)


def serve(kb: KnowledgeBase, read_only: bool = False) -> None:
    """Serve MCP over stdio until the client closes it; episodes not indexed yet are indexed meanwhile,
    in a thread of their own (not with --read-only), with log lines on stderr."""
    import threading

    logging.basicConfig(level=logging.WARNING, format="podkb mcp: %(message)s")  # stderr
    log.setLevel(logging.INFO)
    if not read_only and kb.stale():
        threading.Thread(target=index_stale, args=(kb,), name="podkb-index", daemon=True).start()
    # The SDK reads sys.stdin's buffer when it is not fd 0 itself: each line reaches it mended.
    sys.stdin = io.TextIOWrapper(io.BufferedReader(_MendedLines(sys.stdin.buffer)), encoding="utf-8")
    build(kb, read_only).run("stdio")

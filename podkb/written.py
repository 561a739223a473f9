"""A written answer: the user's own language model turns ask's cited spans into a short answer in prose,
every sentence citing the spans it comes from, and podkb checks each citation before it shows one.

The model is any that Simon Willison's ``llm`` knows: an OpenAI-compatible server named in llm's
``extra-openai-models.yaml`` (llama.cpp's server, vLLM, LM Studio), an Ollama server through the
``llm-ollama`` plugin (``ollama/llama3.2``), or a hosted model with its key set by ``llm keys set``. podkb
configures nothing of its own: what works in ``llm -m MODEL`` works in ``podkb ask --llm MODEL``.

The shape, as faster-whisper's ``transcribe``: ``write`` returns a ``Writing`` at once, which calls the model
only when iterated, yields the text as the model streams it, and holds the checked ``Written`` after.

- No answer in the library (ask's judge says so): no model is called, ``Written.skipped`` says why.
- Each sentence is checked: one with no citation, or citing a number that names no span, is unverified,
  and so is one whose quoted words ("...") its cited spans do not say, or that names a moment (12:05)
  none of them was said at, or that shares few of its words with them (under SUPPORT of its content
  words: a paraphrase keeps the names and nouns of what it restates). Only checked sentences are "cited".
- Any failure (no model of that name, no server, a refused key, no reply within the timeout, an empty reply)
  ends in ``Written.error``: one line naming the model and the reason; the caller shows the extractive
  answer as if no model were set.
"""
from __future__ import annotations

import queue
import re
import threading
from dataclasses import dataclass, field
from typing import Iterator

from .index.hits import Citation, CitedAt
from .index.points import Answer
from .ingest.timecode import format_timestamp, parse_clock

SOURCES = 8           # spans given to the model, the key points first
SOURCE_WORDS = 120    # a span's words at most
TIMEOUT = 60.0        # seconds to wait for the model's next words
SUPPORT = 0.25        # a cited sentence shares at least this share of its content words with its spans

# The instructions follow the sources, in the user's message: a system prompt is not read by every chat
# template, and a small model (SmolLM2-135M) cited its sources more often with the instructions last.
ASK = ("Answer the question using only the numbered sources above, in two to five sentences. End every sentence "
       "with the number of the source it comes from in square brackets, like [1] or [2][3]. If the sources do "
       "not answer the question, say that they do not.")


@dataclass(frozen=True)
class Source(CitedAt):
    """A span given to the model, under its number: a key point, else a hit's passage."""

    number: int
    text: str
    episode_id: str
    cited: Citation
    start: float | None = None

    def to_dict(self) -> dict:
        return {"number": self.number, "text": self.text, "episode_id": self.episode_id, "start": self.start,
                "paragraph": self.cited.paragraph, "citation": self.citation, "link": self.link}


@dataclass(frozen=True)
class Sentence:
    """One sentence of the written answer, its citations and what its check found."""

    text: str
    cites: tuple[int, ...]
    problems: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return bool(self.cites) and not self.problems

    def to_dict(self) -> dict:
        return {"text": self.text, "cites": list(self.cites), "verified": self.verified,
                "problems": list(self.problems)}


@dataclass
class Written:
    """What the model wrote, checked; or why nothing was written (``skipped``) or why it failed (``error``)."""

    model: str
    question: str
    sources: list[Source]
    text: str = ""
    sentences: list[Sentence] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.skipped is None and bool(self.sentences)

    @property
    def verified(self) -> bool:
        """Every sentence cites spans that exist and says no words in quotes they do not."""
        return self.ok and all(s.verified for s in self.sentences)

    def source(self, number: int) -> Source | None:
        return next((s for s in self.sources if s.number == number), None)

    def to_dict(self) -> dict:
        return {"model": self.model, "text": self.text, "verified": self.verified, "skipped": self.skipped,
                "error": self.error, "sentences": [s.to_dict() for s in self.sentences],
                "sources": [s.to_dict() for s in self.sources]}


class WriteError(Exception):
    """The model could not write: the reason, in one line."""


class Writing:
    """The written answer as it streams: iterate for its text; ``written`` holds the checked result after."""

    def __init__(self, answer: Answer, model: str, timeout: float = TIMEOUT):
        self.model, self.timeout = model, timeout
        self.written = Written(model, answer.question, sources(answer))
        if not answer.answered:
            self.written.skipped = "nothing in the library answers the question well"
        elif not self.written.sources:
            self.written.skipped = "no passages to answer from"
        self._prompt = prompt(answer.question, self.written.sources)

    def __iter__(self) -> Iterator[str]:
        written = self.written
        if written.skipped or written.error or written.text:
            return
        parts: list[str] = []
        try:
            for chunk in _stream(self.model, self._prompt, self.timeout):
                parts.append(chunk)
                yield chunk
            if not "".join(parts).strip():
                raise WriteError("the model returned no text")
        except WriteError as error:
            written.error = f"{self.model}: {error}"
        written.text = "".join(parts).strip()
        if written.error is None:
            written.sentences = check(written.text, written.sources)

    def run(self) -> Written:
        """Drive the stream to its end: the checked ``Written``."""
        for _ in self:
            pass
        return self.written


def sources(answer: Answer) -> list[Source]:
    """The spans a model is given, numbered from 1: each key point, then each hit's passage not already
    among them, at most SOURCES."""
    out: list[Source] = []
    seen: set[int] = set()
    for point in answer.points:
        seen.add(point.passage_id)
        out.append(Source(len(out) + 1, _cut(point.text), point.episode_id, point.cited, point.start))
    for hit in answer.hits:
        if len(out) >= SOURCES:
            break
        if hit.passage_id in seen:
            continue
        seen.add(hit.passage_id)
        cited = Citation(hit.show, hit.episode_title, hit.speaker, hit.start,
                         hit.paragraph if hit.start is None else None, hit.url)
        out.append(Source(len(out) + 1, _cut(hit.shown_text()), hit.episode_id, cited, hit.start))
    return out[:SOURCES]


def prompt(question: str, given: list[Source]) -> str:
    """The one message the model gets: the numbered spans, each with who said it where and when, the
    question, then what to write."""
    lines = ["Sources:"]
    for source in given:
        lines.append(f"[{source.number}] ({source.citation}) {source.text}")
    lines += ["", f"Question: {' '.join(question.split())}", "", ASK]
    return "\n".join(lines)


_CITES = re.compile(r"\[(\d+(?:\s*[,;-]\s*\d+)*)\]")
_SPLIT = re.compile(r"(?<=[.!?])(?:[ \t]*\[\d+(?:\s*[,;-]\s*\d+)*\])*\s+(?=[^\s\[])|\n+")
_PAREN = re.compile(r"\([^)]*\)")  # a source's heading copied into the answer is not its words
_COMMON = frozenset("""about also been being could does doing from have having here into just like make more most
much only other over really said says same should some such than that their them then there these they this those
very were what when where which while will with would your yours source sources""".split())
_TIME = re.compile(r"(?<![\d:.])(?:\d{1,2}:)?[0-5]?\d:[0-5]\d(?![\d:])")
_QUOTED = re.compile(r"[\"“]([^\"“”]{8,}?)[\"”]")


def check(text: str, given: list[Source]) -> list[Sentence]:
    """The written text as sentences, each with the numbers it cites and its problems: no citation, a
    number that names no span, quoted words none of its cited spans says."""
    numbers = {s.number: s for s in given}
    out = []
    for raw in _sentences(text):
        cites: list[int] = []
        for group in _CITES.findall(raw):
            for part in re.split(r"\s*[,;]\s*", group):
                low, _, high = part.partition("-")
                span = range(int(low), int(high) + 1) if high and int(high) - int(low) < SOURCES else [int(low)]
                cites += [n for n in span if n not in cites]
        problems = []
        if not cites:
            problems.append("no citation")
        unknown = [f"[{n}]" for n in cites if n not in numbers]
        if unknown:
            problems.append(f"cites {', '.join(unknown)}, which {'names' if len(unknown) == 1 else 'name'} no span")
        known = [numbers[n] for n in cites if n in numbers]
        said = " ".join(_plain(source.text) for source in known)
        for quoted in _QUOTED.findall(raw):
            if cites and _plain(quoted) not in said:
                problems.append(f"quotes “{quoted.strip()}”, which its sources do not say")
        if known and _shared(_CITES.sub(" ", _PAREN.sub(" ", raw)), said) < SUPPORT:
            problems.append(f"few of its words are in {''.join(f'[{s.number}]' for s in known)}")
        moments = {format_timestamp(source.start) for source in known if source.start is not None}
        for when in dict.fromkeys(_TIME.findall(_CITES.sub(" ", raw))):  # a moment named must be a cited one
            if cites and format_timestamp(parse_clock(when)) not in moments:
                problems.append(f"says {when}, which is not when its sources were said")
        out.append(Sentence(raw, tuple(cites), tuple(problems)))
    return out


def _shared(sentence: str, said: str) -> float:
    """The share of a sentence's content words (four letters or more, compared by their first five) that its
    cited spans say too; 1 for a sentence too short to judge."""
    words = {w[:5] for w in _plain(sentence).split() if len(w) >= 4 and w not in _COMMON}
    if len(words) < 4:
        return 1.0
    spoken = {w[:5] for w in said.split()}
    return len(words & spoken) / len(words)


def _sentences(text: str) -> list[str]:
    """Split after a sentence's end and the citations that follow it ("... burnout. [2] Then ...")."""
    cuts, last = [], 0
    for match in _SPLIT.finditer(text):
        cuts.append(text[last:match.start() + len(match.group(0).rstrip())].strip())
        last = match.end()
    cuts.append(text[last:].strip())
    return [c for c in cuts if re.search(r"\w", c)]


def _plain(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower().replace("’", "'")))


def _cut(text: str) -> str:
    words = " ".join(text.split()).split(" ")
    return " ".join(words[:SOURCE_WORDS]) + ("…" if len(words) > SOURCE_WORDS else "")


def _stream(name: str, text: str, timeout: float) -> Iterator[str]:
    """The model's reply as it streams, through llm, read on a thread so that a server that stops answering
    ends in WriteError after ``timeout`` seconds of silence, whatever the plugin's own timeouts are."""
    try:
        import llm
    except ImportError:  # pragma: no cover - a dependency; only a broken install lacks it
        raise WriteError("the llm package is not installed (pip install llm)") from None
    try:
        model = llm.get_model(name)
    except llm.UnknownModelError:
        raise WriteError("no such model; 'llm models' lists them (an OpenAI-compatible server is added in "
                         "llm's extra-openai-models.yaml, an Ollama model as ollama/NAME)") from None
    except Exception as error:  # a plugin that fails to load
        raise WriteError(_reason(error)) from None
    out: queue.Queue = queue.Queue()

    def run() -> None:
        try:
            for chunk in model.prompt(text, stream=True):
                out.put(("chunk", chunk))
            out.put(("end", None))
        except BaseException as error:  # noqa: BLE001 - handed to the reader, who reports it in one line
            out.put(("error", error))

    threading.Thread(target=run, name=f"podkb-llm-{name}", daemon=True).start()
    while True:
        try:
            kind, value = out.get(timeout=timeout)
        except queue.Empty:
            raise WriteError(f"no reply within {timeout:g} s") from None
        if kind == "end":
            return
        if kind == "error":
            raise WriteError(_reason(value)) from None
        if value:
            yield value


def _reason(error: BaseException) -> str:
    """An exception from llm, its plugin or the HTTP client as one line: what a user can act on."""
    kind = type(error).__name__
    if kind == "NeedsKeyException":
        return f"no key set ({error}); 'llm keys set' stores one"
    status = getattr(error, "status_code", None) or getattr(getattr(error, "response", None), "status_code", None)
    message = " ".join(str(error).split()) or kind
    if status in (401, 403):
        return f"the server refused the key (HTTP {status})"
    if kind in ("APIConnectionError", "ConnectError", "ConnectionError", "ConnectionRefusedError"):
        return f"cannot reach the model's server ({message})"
    if kind in ("APITimeoutError", "ReadTimeout", "TimeoutException", "TimeoutError"):
        return "the model's server timed out"
    if status:
        return f"the server answered HTTP {status}: {message[:200]}"
    return f"{kind}: {message[:200]}"

"""Podcast feeds → episodes: parse with podcastparser, key items by GUID, prefer the publisher's transcript.

Items taken in before are skipped before anything is downloaded, so a second run only adds what is
new: an item is known by its feed and GUID, by its enclosure URL (the same audio under another GUID,
or the feed followed under a second URL), and, once fetched, by its content. Each is recorded
(``feed_items``) as soon as its content is known, so a duplicate is fetched at most once and never
transcribed. An item with a ``<podcast:transcript>`` in a format podkb reads is imported from it;
otherwise its enclosure is downloaded (atomically, size-checked) and transcribed.

Only public http(s) addresses are fetched unless ``FeedOptions.allow_private`` (fetch.py).
"""
from __future__ import annotations

import hashlib
import io
import json
import mimetypes
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Generator, Iterator
from urllib.parse import urlsplit
from urllib.request import url2pathname

import podcastparser
from xml import sax

from . import feed_items, fetch, formats
from .files import not_regular
from .audio import AUDIO_SUFFIXES
from .audio import default as default_transcriber
from .errors import BadInput, store_problem
from .events import Transcribing
from .importer import Outcome, build_episode, file_hash, parse, read_audio
from .manifest import EpisodeInfo, chapters_json
from .settings import flag
from .store import AddResult, Library, slugify
from .transcriber import Transcriber


class _Transcripts(podcastparser.Target):
    """Every <podcast:transcript url type> of an item, in order (podcastparser keeps only the last URL)."""

    def start(self, handler, attrs):
        url = attrs.get("url")
        if url:
            entry = handler.episodes[-1]
            entry.setdefault("transcripts", []).append(
                (podcastparser.urlparse.urljoin(handler.base, url.strip()), (attrs.get("type") or "").strip().lower())
            )


podcastparser.MAPPING["rss/channel/item/podcast:transcript"] = _Transcripts()


class _Handler(podcastparser.PodcastHandler):
    """podcastparser's handler, except that a value it can't read in one item (a malformed URL such as
    ``http://[fe80::1/x.mp3``, which urljoin refuses) costs that item its field, not the whole feed."""

    def __init__(self, url: str):
        super().__init__(url, 0)
        self.problems: dict[int, list[str]] = {}

    def _failed(self, name: str, error: ValueError) -> None:
        if "item" in self.path_stack[2:3] and self.episodes:
            self.problems.setdefault(len(self.episodes) - 1, []).append(f"<{name}>: {str(error)[:120]}; left out")
        else:
            raise error

    def startElement(self, name, attrs):
        try:
            super().startElement(name, attrs)
        except podcastparser.FeedParseError:
            raise
        except ValueError as error:  # raised by the element's target, after it was pushed on the path
            self._failed(name, error)

    def endElement(self, name):
        target = podcastparser.MAPPING.get("/".join(self.path_stack))
        if target is not None:
            content = "".join(self.text) if self.text is not None else ""
            try:
                target.end(self, content)
            except ValueError as error:
                self._failed(name, error)
            self.text = None
        if self.namespace is not None:
            self.namespace = self.namespace.parent
        self.path_stack.pop()
# podcastparser 0.6 knows the namespace only by its GitHub docs URL; feeds declare the official one.
for _uri in ("https://podcastindex.org/namespace/1.0", "http://podcastindex.org/namespace/1.0"):
    podcastparser.Namespace.NAMESPACES.setdefault(_uri, "podcast")

# The transcript types podkb reads (the formats' registry says which); anything else (text/html, ...) is
# passed over. When an item offers several, the best: timed cues, then JSON, then text.
TRANSCRIPT_TYPES = formats.MIME_TYPES
_PREFERENCE = sorted(dict.fromkeys(TRANSCRIPT_TYPES.values()), key=lambda s: (s not in formats.SUBTITLES, s != ".json"))
_MEDIA_TYPES = {
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/mp4": ".m4a", "audio/x-m4a": ".m4a", "audio/aac": ".aac",
    "audio/ogg": ".ogg", "audio/opus": ".opus", "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav",
    "audio/flac": ".flac", "audio/x-flac": ".flac", "video/mp4": ".mp4", "video/webm": ".webm", "audio/webm": ".webm",
}


def cast(persons: list[dict]) -> tuple[list[str], int]:
    """<podcast:person> names, hosts first (the voice that opens a show is usually its host's), and how
    many hosts there are."""
    named = [p for p in persons if (p.get("name") or "").strip()]
    hosts = [p for p in named if p.get("role", "host") == "host"]
    return [" ".join(p["name"].split()) for p in hosts + [p for p in named if p not in hosts]], len(hosts)


@dataclass
class Item:
    guid: str
    title: str
    published: int = 0                     # Unix time; 0 when the feed gives none
    link: str | None = None
    duration: float | None = None
    enclosure: str | None = None
    enclosure_type: str | None = None
    enclosure_length: int | None = None
    transcripts: list[tuple[str, str]] = field(default_factory=list)
    persons: list[str] = field(default_factory=list)  # <podcast:person> names, hosts first
    hosts: int = 0                                      # how many of them are hosts
    chapters: list[tuple[float, str]] = field(default_factory=list)  # Podlove Simple Chapters in the feed
    chapters_url: str | None = None  # <podcast:chapters url type="application/json+chapters">
    problems: list[str] = field(default_factory=list)  # what of it could not be read (a malformed URL)

    @property
    def voices(self) -> list[str]:
        """The names for a recording's voices in order of first appearance (Speaker 1, 2, ...): the host,
        then the guests. With several hosts nobody can tell whose voice comes first: none."""
        return self.persons if self.hosts <= 1 else []

    @property
    def date(self) -> str | None:
        if not self.published:
            return None
        return datetime.fromtimestamp(self.published, timezone.utc).date().isoformat()

    def transcript(self) -> tuple[str, str] | None:
        """(url, suffix) of the best transcript podkb can read, or None."""
        readable = []
        for url, kind in self.transcripts:
            suffix = TRANSCRIPT_TYPES.get(kind) or _suffix(url, set(_PREFERENCE))
            if suffix:
                readable.append((_PREFERENCE.index(suffix), url, suffix))
        return min(readable)[1:] if readable else None


@dataclass
class Feed:
    url: str
    title: str | None
    items: list[Item]


def read_feed(source: str, timeout: float = fetch.TIMEOUT, allow_private: bool = False) -> Feed:
    """A feed from an http(s) URL or a local file. Raises BadInput (404, timeout, malformed XML, ...)."""
    try:
        parts = urlsplit(source)
    except ValueError as error:  # 'http://[::1' and other URLs that can't be parsed
        raise BadInput(f"not a URL: {error}") from None
    if parts.scheme.lower() in ("http", "https"):
        data = fetch.fetch(source, fetch.MAX_FEED_BYTES, timeout, allow_private)
        url = source
    else:
        path = Path(url2pathname(parts.path) if parts.scheme == "file" else source)
        why = not_regular(path)
        if why:
            raise BadInput("no such file, and not an http(s) URL" if not path.exists() else why)
        if path.stat().st_size > fetch.MAX_FEED_BYTES:
            raise BadInput(f"too large for a feed (over {fetch.MAX_FEED_BYTES:,} bytes)")
        data = path.read_bytes()
        url = path.resolve().as_uri()
    return parse_feed(data, url)


def parse_feed(data: bytes, url: str) -> Feed:
    if not data.strip():
        raise BadInput("empty feed")
    handler = _Handler(url)
    try:
        sax.parse(io.BytesIO(data), handler)  # as podcastparser.parse does, with its handler made per item
    except sax.SAXParseException as error:
        raise BadInput(f"not a podcast feed: {error.getMessage()} at line {error.getLineNumber()}") from None
    except ValueError as error:  # podcastparser's own checks (bad dates, lengths) outside any item
        raise BadInput(f"not a podcast feed: {error}") from None
    parsed = handler.data
    items = []
    for n, entry in enumerate(parsed.get("episodes", [])):
        enclosure = playable(entry.get("enclosures") or [])
        persons, hosts = cast(entry.get("persons", []))
        items.append(Item(
            guid=entry["guid"],
            title=entry.get("title") or entry["guid"],
            published=int(entry.get("published") or 0),
            link=web_url(entry.get("link")),
            duration=float(entry["total_time"]) if entry.get("total_time") else None,
            enclosure=enclosure.get("url"),
            enclosure_type=(enclosure.get("mime_type") or "").lower() or None,
            enclosure_length=enclosure.get("file_size") if (enclosure.get("file_size") or 0) > 0 else None,
            transcripts=entry.get("transcripts", []),
            persons=persons,
            hosts=hosts,
            chapters=sorted((float(c["start"]), " ".join(str(c["title"]).split())[:200] or "Untitled")
                            for c in entry.get("chapters", []) if 0 <= float(c.get("start") or 0) < 1e7),
            chapters_url=web_url(entry.get("chapters_json_url")),
            problems=handler.problems.get(n, []),
        ))
    return Feed(url=url, title=parsed.get("title"), items=items)


def web_url(url: str | None) -> str | None:
    """An http(s) URL, else None: a feed's javascript: or file: link is never kept."""
    url = (url or "").strip()
    return url if _split(url).scheme.lower() in ("http", "https") else None


def _split(url: str):
    """urlsplit, with a malformed URL ('http://[fe80::1/x') read as no URL at all rather than raising."""
    try:
        return urlsplit(url)
    except ValueError:
        return urlsplit("")


def playable(enclosures: list[dict]) -> dict:
    """The item's audio or video enclosure (an item may list its cover image first); else the first one."""
    for enclosure in enclosures:
        kind = (enclosure.get("mime_type") or "").lower()
        if kind.startswith(("audio/", "video/")) or _suffix(enclosure.get("url"), AUDIO_SUFFIXES):
            return enclosure
    return enclosures[0] if enclosures else {}


def select(items: list[Item], limit: int | None = None, since: date | None = None) -> list[Item]:
    """The newest ``limit`` items published on or after ``since``, newest first."""
    chosen = sorted(items, key=lambda item: item.published, reverse=True)
    if since:
        chosen = [item for item in chosen if item.date and item.date >= since.isoformat()]
    return chosen[:limit] if limit else chosen


def _private_allowed() -> bool:
    return flag("allow_private")


@dataclass
class FeedOptions:
    limit: int | None = None
    since: date | None = None
    timeout: float = fetch.TIMEOUT
    max_bytes: int = fetch.MAX_MEDIA_BYTES
    # Fetch from loopback and private networks too (feeds hosted on your own network); also $PODKB_ALLOW_PRIVATE.
    allow_private: bool = field(default_factory=_private_allowed)


def follow(library: Library, source: str, options: FeedOptions | None = None,
           transcriber: Transcriber | None = None) -> Iterator[Outcome | Transcribing]:
    """Add the feed's new items to the library, lazily: one Outcome per item tried, and one for the feed
    if it fails, with ``Transcribing`` events among them while audio is transcribed.

    The feed is remembered (``feed_items.followed``, keyed by its URL, a file's as file://) once it has been
    read, so it can be checked again later.
    """
    options = options or FeedOptions()
    try:
        feed = read_feed(source, options.timeout, options.allow_private)
    except BadInput as bad:
        yield Outcome(source, error=str(bad))
        return
    feed_items.follow(library.db, feed.url, feed.title)
    transcriber = transcriber or default_transcriber()  # the model loads at the first audio item, once
    for item in select(feed.items, options.limit, options.since):
        if feed_items.seen(library.db, feed.url, item.guid):
            continue
        outcome = Outcome(f"{item.title} <{item.enclosure or item.link or item.guid}>", warnings=list(item.problems))
        known = feed_items.by_enclosure(library.db, item.enclosure) if item.enclosure else None
        if known is not None:  # the same audio under another GUID, or this feed under another URL
            episode, content_hash = library.get(known[0]) if known[0] else None, known[1]
            feed_items.record(library.db, feed.url, item.guid, item.enclosure, content_hash,
                              episode.id if episode else None)
            if episode is not None:  # (one the user removed stays removed, silently)
                outcome.result = AddResult("unchanged", episode)
                yield outcome
            continue
        try:
            outcome.result = yield from add_item(library, feed, item, options, transcriber, outcome.warnings)
        except BadInput as bad:
            outcome.error = str(bad)
        except (sqlite3.Error, OSError) as error:  # the store, not the item: disk full, read-only, damaged
            outcome.error = f"not stored: {store_problem(library.dir, error)}"
        yield outcome


def add_item(library: Library, feed: Feed, item: Item, options: FeedOptions, transcriber: Transcriber,
             warnings: list[str]) -> Generator[Transcribing, None, AddResult]:
    """Add one feed item (``result = yield from add_item(...)``, passing its transcription's progress on);
    what went wrong on the way (a transcript that failed) goes into ``warnings``,
    which the caller reports even when the item then fails as a whole."""
    info = EpisodeInfo(id=item.title, title=item.title, show=feed.title, date=item.date,
                       source=item.link or item.enclosure, speakers=item.persons)
    transcript, content_hash, media, name = None, None, item.enclosure, None
    best = item.transcript()
    if best:
        url, suffix = best
        try:
            data = fetch.fetch(url, fetch.MAX_TRANSCRIPT_BYTES, options.timeout, options.allow_private)
            content_hash = hashlib.sha256(data).hexdigest()
            if library.by_hash(content_hash):
                return _already(library, feed, item, content_hash)
            transcript, more = parse(data, suffix)
            warnings += more
            name = f"transcript{suffix}"
        except BadInput as bad:
            if not item.enclosure:
                raise BadInput(f"transcript {url}: {bad}") from None
            warnings.append(f"transcript {url}: {bad}; trying the audio instead")
    elif item.transcripts:
        warnings.append("the feed's transcript is in a format podkb does not read; transcribing the audio instead")
    transcribed = transcript is None
    if transcript is None:
        if not item.enclosure:
            raise BadInput("no enclosure and no readable transcript")
        elsewhere = transcriber.transcribe_url(item.enclosure, enclosure_suffix(item), options, item.enclosure_length)
        if elsewhere is not None:  # a cluster (podkb/cluster.py): a worker downloaded and transcribed it
            transcript, content_hash = elsewhere
            name = f"audio{enclosure_suffix(item)}"
        else:
            path = download_enclosure(library, item, options)
            try:
                content_hash = file_hash(path)
                if library.by_hash(content_hash):  # the same audio: never transcribed twice, no orphan file
                    result = _already(library, feed, item, content_hash)
                    _discard(path, result.episode)
                    return result
                transcript = yield from read_audio(path, transcriber, item.title)
            except BaseException:
                _discard(path, library.by_hash(content_hash) if content_hash else None)  # no orphan file
                raise
            media, name = str(path), path.name
        warnings += transcript.warnings
    if transcript.diarized:  # the voices found are named from the feed's cast where its roles tell
        info = replace(info, speakers=item.voices)
    episode = build_episode(Path(name), transcript, content_hash, info)
    episode.path = None  # it came from a URL, not a file to --replace
    episode.media, episode.feed, episode.guid = media, feed.url, item.guid
    if item.duration and not transcribed:
        episode.duration = item.duration  # a transcript's last cue ends before the episode does
    result = library.add(episode, transcript, chapters=published_chapters(item, options, warnings) or None)
    if result.status == "unchanged" and media and Path(media).parent == library.media_dir:
        _discard(Path(media), result.episode)  # stored meanwhile by another process: keep no second copy
    feed_items.record(library.db, feed.url, item.guid, item.enclosure, content_hash, result.episode.id)
    return result


def published_chapters(item: Item, options: FeedOptions, warnings: list[str]) -> list[tuple[float, str]]:
    """The item's chapters as its publisher marks them: the <podcast:chapters> JSON file, else Podlove
    chapters in the feed. A chapters file that fails is a warning: chapters are then found from the talk."""
    if item.chapters_url:
        try:
            data = fetch.fetch(item.chapters_url, fetch.MAX_TRANSCRIPT_BYTES, options.timeout, options.allow_private)
            try:
                parsed = json.loads(data.decode("utf-8-sig"))
            except (UnicodeDecodeError, ValueError, RecursionError) as error:
                raise BadInput(f"not JSON: {str(error)[:120]}") from None
            return chapters_json(parsed)
        except BadInput as bad:
            warnings.append(f"chapters {item.chapters_url}: {bad}; finding chapters from the talk instead")
    return item.chapters


def _discard(path: Path, kept=None) -> None:
    """Delete a download nobody plays from: unless it is the stored episode ``kept``'s own audio (the same
    item fetched by two processes at once lands on the same name)."""
    if kept is None or kept.media != str(path):
        path.unlink(missing_ok=True)


def _already(library: Library, feed: Feed, item: Item, content_hash: str) -> AddResult:
    """An item whose content is already stored (added by hand, or under another GUID): record it, add nothing."""
    known = library.by_hash(content_hash)
    feed_items.record(library.db, feed.url, item.guid, item.enclosure, content_hash, known.id)
    return AddResult("unchanged", known)


def enclosure_suffix(item: Item) -> str:
    """The audio file suffix of an item's enclosure, from its type or its URL; BadInput if it isn't audio."""
    suffix = _MEDIA_TYPES.get(item.enclosure_type or "") or _suffix(item.enclosure, AUDIO_SUFFIXES)
    if not suffix:
        guess = mimetypes.guess_extension(item.enclosure_type or "") or ""
        if guess.lower() not in AUDIO_SUFFIXES:
            raise BadInput(f"the enclosure is not audio or video ({item.enclosure_type or 'unknown type'})")
        suffix = guess.lower()
    return suffix


def download_enclosure(library: Library, item: Item, options: FeedOptions) -> Path:
    suffix = enclosure_suffix(item)
    digest = hashlib.sha256(item.guid.encode()).hexdigest()[:10]
    dest = library.media_dir / f"{slugify(item.title, 50) or 'episode'}-{digest}{suffix}"
    return fetch.download(item.enclosure, dest, options.max_bytes, options.timeout, item.enclosure_length,
                          options.allow_private)


def _suffix(url: str | None, allowed: set[str]) -> str | None:
    if not url:
        return None
    suffix = PurePosixPath(_split(url).path).suffix.lower()
    return suffix if suffix in allowed else None

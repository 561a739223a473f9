"""``KnowledgeBase``: the one object over a knowledge base folder.

It owns the SQLite connection (and applies every migration when it opens it), the index
with its one embedding model, the index lock and the quote collections. The CLI, the web
app and Python callers all go through it:

    with KnowledgeBase("kb") as kb:
        kb.add(["transcripts/"])
        hit = kb.search("how to avoid burnout", k=3)[0]
        print(hit.citation)

Threads may share one (the web app does): searches share its connection under a lock, and
each write (add, follow, sync, remove) runs on a connection of its own, so searches go on
reading what is committed while an import writes. Between processes, SQLite's WAL and the
index lock (index/lock.py) do the same.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generator, Iterable, Iterator

from .ingest import Episode, EpisodeInfo, Library, Outcome, Segment
from .ingest.errors import StoreError
from .ingest.store import DB_NAME, one_line
from .ingest.settings import setting
from .ingest.migrations import migration as ingest_migration
from .index.config import Config
from .index.schema import migration as index_migration
from .collections import Collections, Quote, quote_at, quote_from_hit, quote_from_point
from .collections import migration as quotes_migration
from .events import Done, Event

if TYPE_CHECKING:
    from .ingest.voices import Person
    from .index import SyncReport
    from .index.chapters import Chapter

APP_NAME = "podkb"
MIGRATIONS = (ingest_migration, index_migration, quotes_migration)  # in the order they build on each other


@dataclass
class Renamed:
    """What ``rename_voice`` did: segments renamed in the episode, and the other episodes' voices it
    named (episode, label, score) or only offered the name to."""
    segments: int
    named: list[tuple[str, str, float]]
    offered: list[tuple[str, str, float]]


def home(option: str | Path | None = None) -> Path:
    """The knowledge base folder: ``option`` (the CLI's --kb), else $PODKB_HOME, else the user's app folder."""
    given = setting("home", str(option) if option else None)
    if given:
        return Path(given).expanduser()
    import click

    return Path(click.get_app_dir(APP_NAME))


def open_store(path: str | Path) -> Library:
    """A connection to the store in ``path`` (created if need be) with every migration applied."""
    library = Library(path)
    try:
        for migration in MIGRATIONS[1:]:
            migration.apply(library.db)
    except BaseException:
        library.close()
        raise
    return library


class NoKnowledgeBase(StoreError):
    """A command that only reads was pointed at a folder with no knowledge base in it (a mistyped --kb)."""

    def __init__(self, path: Path):
        super().__init__(f"no knowledge base at {path} (podkb add FILES creates one)")
        self.path = path


class NotIndexed(StoreError):
    """The episodes were stored but indexing them failed (they are indexed at the next search)."""

    def __init__(self, message: str, outcomes: list[Outcome]):
        super().__init__(message)
        self.outcomes = outcomes


@dataclass
class Info:
    path: Path
    episodes: int
    passages: int
    stale: int                  # episodes stored but not indexed yet
    collections: int
    feeds: int
    model: str
    dim: int | None
    index_kind: str             # "Flat", "IVF…,SQ8 (nprobe N)", or "none" before the first indexing
    config: Config
    schema: dict[str, int]      # migrations applied, per stage
    files: dict[str, int]       # bytes on disk
    unfinished_reindex: str | None = None  # the model of a reindex that was killed midway (run it again)
    engine: str | None = None   # how the model runs on this machine (index/engine.py), once it has loaded here

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return {**asdict(self), "path": str(self.path)}


class KnowledgeBase:
    def __init__(self, path: str | Path | None = None, model: str | None = None, *, embedder=None,
                 check_model: bool = True, judge: bool | None = None, create: bool = True):
        """Open (or create) the knowledge base in ``path`` (default: ``home()``).

        ``model`` is the embedding model to search with: by default the one the knowledge base was
        indexed with. It loads at the first search or indexing, once. ``embedder`` passes a loaded
        one instead (anything with ``name``, ``dim`` and ``encode(texts)``). ``judge``: whether ``ask``
        has all-mpnet-base-v2 judge its answer spans again (index/judge.py); by default it does, unless
        ``embedder`` was given (a caller's own model gets no second model behind its back). ``create=False``
        opens only a knowledge base that exists (NoKnowledgeBase otherwise): reading never creates one.
        """
        from .index import Index

        self.path = Path(path).expanduser() if path else home()
        if not create and not (self.path / DB_NAME).is_file():
            raise NoKnowledgeBase(self.path)
        self._pinned = model or (embedder.name if embedder is not None else None)  # else: the store's model
        self._lock = threading.RLock()   # the shared read connection
        self._write = threading.Lock()   # one writer at a time in this process; the index lock does processes
        self._embedder = embedder
        self._judging = judge if judge is not None else embedder is None
        self._transcriber = None
        self.notices: list[str] = []     # what was repaired on the way (a damaged FAISS file rebuilt, ...)
        self._library = open_store(self.path)
        try:
            self._index = Index(self._library, model=model, embedder=embedder, check_model=check_model,
                                load=self._load_embedder)
        except BaseException:
            self._library.close()
            raise
        self.collections = Collections(self._library, lock=self._lock)

    # Lifetime

    def close(self) -> None:
        with self._lock:
            self._library.close()

    def __enter__(self) -> "KnowledgeBase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<KnowledgeBase {str(self.path)!r} model={self.model!r}>"

    # Models, loaded once and shared by every connection

    @property
    def model(self) -> str:
        return self._index.model

    @property
    def config(self) -> Config:
        return self._index.config

    def _load_embedder(self, name: str):
        if self._embedder is None or self._embedder.name != name:
            from .index.embed import load

            self._embedder = load(name)
        return self._embedder

    @property
    def judge(self):
        """The model that judges ask's answer spans again (index/judge.py), loaded once; None without one."""
        if not self._judging:
            return None
        from .index.judge import judge

        return judge(self.model)

    @property
    def transcriber(self):
        """The default Whisper transcriber (tiny.en, offline); its model loads at the first audio file."""
        if self._transcriber is None:
            from .ingest.audio import WhisperTranscriber

            self._transcriber = WhisperTranscriber()
        return self._transcriber

    # Reading

    def episodes(self) -> list[Episode]:
        with self._lock:
            return self._library.episodes()

    def episode(self, ref: str) -> Episode:
        """An episode by id, or by the start of one that names only one (LookupError otherwise)."""
        with self._lock:
            return self._library.episode(ref)

    def segments(self, episode: str) -> list[Segment]:
        with self._lock:
            return self._library.segments(self._library.episode(episode).id)

    def sentences(self, episode: str):
        """An indexed episode's sentences in order, (text, start seconds, segment), and their stored unit
        vectors (a numpy array, one row each): what chapters and cited sentences are found from."""
        with self._lock:
            return self._index.stored_sentences(self._library.episode(episode).id)

    def chapters(self, episode: str) -> list[Chapter]:
        """An episode's chapters: the publisher's when it has them, else those found where the talk
        changes subject (index/chapters.py)."""
        from .index.chapters import Chapter

        with self._lock:
            episode_id = self._library.episode(episode).id
            found = self._library.chapters(episode_id)
            if not found and self._index.find_chapters(episode_id):  # indexed before chapters were found
                found = self._library.chapters(episode_id)
        published = [c for c in found if c[0] == "published"]
        return [Chapter(start=start, title=title, source=source, paragraph=paragraph)
                for source, start, title, paragraph in (published or found)]

    def examples(self, n: int = 4) -> list[str]:
        """Questions to try on this knowledge base: questions asked in it (short, plain ones, from different
        episodes), else its chapters' titles."""
        from .index.questions import examples

        with self._lock:
            return examples(self._library.db, n)

    def feeds(self) -> list[tuple[str, str | None, str | None]]:
        """(url, title, last checked) of every feed followed."""
        with self._lock:
            return self._library.feeds()

    def passage_counts(self) -> dict[str, int]:
        """Passages indexed per episode id."""
        with self._lock:
            return dict(self._library.db.execute("SELECT episode_id, count(*) FROM passages GROUP BY episode_id"))

    def stale(self) -> list[str]:
        """Episodes stored but not indexed yet (added with index=False, or by an interrupted import)."""
        with self._lock:
            return self._index.stale_episodes()

    def counts(self) -> tuple[int, int]:
        """(episodes, passages)."""
        with self._lock:
            return self._library.db.execute(
                "SELECT (SELECT count(*) FROM episodes), (SELECT count(*) FROM passages)").fetchone()

    def info(self) -> Info:
        """What ``podkb info`` prints: counts, the model, the index, the settings, the schema and the files."""
        import json

        from .index import engine
        from .index.store import FAISS_NAME
        from .index.vectors import stamp_file

        with self._lock:
            db = self._library.db
            episodes, passages = self.counts()
            applied = [row[0] for row in db.execute("SELECT name FROM migrations")]
            collections = db.execute("SELECT count(*) FROM collections").fetchone()[0]
            dim = self._index.meta("dim")
            stale = len(self._index.stale_episodes())
            feeds = len(self._library.feeds())
            pending = self._index.pending_reindex()
        try:
            stamp = json.loads(stamp_file(self.path / FAISS_NAME).read_text())
            kind = stamp.get("kind") or ("IVF,SQ8" if stamp.get("count", 0) >= self.config.switch_size else "Flat")
        except (OSError, ValueError, AttributeError):
            kind = "none" if not passages else "not built yet (built at the next search)"
        schema = {m.name: sum(1 for name in applied if name.startswith(m.name + ":")) for m in MIGRATIONS}
        files = {}
        for name in ("podkb.db", "podkb.db-wal", FAISS_NAME, "media", "uploads"):
            target = self.path / name
            if target.is_file():
                files[name] = target.stat().st_size
            elif target.is_dir():
                files[name] = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
        return Info(path=self.path.resolve(), episodes=episodes, passages=passages, stale=stale,
                    collections=collections, feeds=feeds, model=self.model, dim=int(dim) if dim else None,
                    index_kind=kind, config=self.config, schema=schema, files=files,
                    unfinished_reindex=pending[0] if pending else None,
                    engine=(choice.describe() if (choice := engine.cached(self.model)) else None))

    # Searching

    def filters(self, show: str | None = None, episode: str | None = None, speaker: str | None = None,
                date_from: str | None = None, date_to: str | None = None):
        """Filters for search and ask. ``episode`` may be the start of an id; dates are YYYY[-MM[-DD]]
        (ValueError otherwise)."""
        from .index import Filters
        from .ingest.decode import well_formed
        from .ingest.timecode import check_date

        show, episode, speaker = well_formed(show), well_formed(episode), well_formed(speaker)
        if episode:
            episode = self.episode(episode).id
        return Filters(show=show, episode=episode, speaker=speaker,
                       date_from=check_date(date_from) if date_from else None,
                       date_to=check_date(date_to) if date_to else None)

    def search(self, query: str, k: int = 10, *, mode: str = "hybrid", fusion: str = "convex", filters=None,
               reranker=None, sync: bool = True, **filter_args):
        """The k best hits for ``query``, each cited at its moment (a list of ``index.Hit``).

        Filters come as ``filters=kb.filters(...)`` or as keywords (show=, episode=, speaker=,
        date_from=, date_to=). Episodes not indexed yet are indexed first unless ``sync=False``, and
        only if nobody else is indexing: a search never waits, it reads what is committed.
        """
        from .index import search_index

        filters = filters or self.filters(**filter_args)
        if sync:
            self._sync_if_stale()
        with self._lock:
            self._follow_reindex()
            hits = search_index(self._index, query, k=k, mode=mode, filters=filters, reranker=reranker,
                                fusion=fusion)
            self._collect(self._index)
        return hits

    def ask(self, question: str, k: int = 5, *, points: int = 5, filters=None, sync: bool = True, **filter_args):
        """Key points that answer ``question`` (distinct, each cited), then the hits (an ``index.Answer``)."""
        from .index import ask_index

        filters = filters or self.filters(**filter_args)
        if sync:
            self._sync_if_stale()
        with self._lock:
            self._follow_reindex()
            answer = ask_index(self._index, question, k=k, points=points, filters=filters, judge=self.judge)
            self._collect(self._index)
        return answer

    # Writing

    def add_events(self, paths: Iterable[str], info: EpisodeInfo | None = None, *, replace: bool = False,
                   format: str | None = None, transcriber=None, index: bool = True,
                   ray: str | None = None) -> Iterator[Event]:
        """Add transcripts and audio (files, folders or globs), then index them, lazily: the work happens
        as the caller drives the generator, which yields an ``Outcome`` per file as it is stored,
        ``Transcribing`` while audio is transcribed, ``Indexing`` (and ``Waiting``) as it indexes, and
        ``Done`` last (podkb/events.py).

        ``info`` gives titles, shows and speakers the files lack; ``replace`` updates an episode added
        from the same file; ``format`` (a name in ``ingest.formats.FORMATS``) reads every transcript
        as that format instead of detecting it. Raises ``NotIndexed`` (with the outcomes) when the
        episodes were stored but indexing them failed.

        ``ray`` transcribes and embeds on a Ray cluster (what ``ray.init`` takes: auto, HOST:PORT,
        ray://HOST:10001; 'local' starts a private one): ``podkb.cluster.ClusterError`` before any
        work when it can't be used. This process still writes, each episode as it finishes.
        """
        from .ingest import add_paths

        return self._importing(lambda library, transcriber: add_paths(
            library, [str(p) for p in paths], info, replace=replace, transcriber=transcriber, format=format),
            transcriber, index, ray)

    def add(self, paths: Iterable[str], info: EpisodeInfo | None = None, **options) -> list[Outcome]:
        """``add_events`` driven to its end (same arguments): one ``Outcome`` per file."""
        return list(_done(self.add_events(paths, info, **options)).outcomes)

    def follow_events(self, feeds: str | Iterable[str] | None = None, *, options=None, transcriber=None,
                      index: bool = True, ray: str | None = None) -> Iterator[Event]:
        """Follow podcast feeds (URLs or files) and add their new episodes, lazily, with the events of
        ``add_events``; with no feeds, check every feed followed so far. ``options`` is an
        ``ingest.feeds.FeedOptions`` (limit, since, timeout, max_bytes); ``ray`` as for ``add_events``."""
        from .ingest.feeds import follow

        sources = [feeds] if isinstance(feeds, str) else list(feeds or [url for url, _, _ in self.feeds()])
        if not sources:
            raise ValueError("no feeds followed yet: give a feed URL or file")
        return self._importing(lambda library, transcriber: (
            event for source in sources for event in follow(library, source, options, transcriber)),
            transcriber, index, ray)

    def follow(self, feeds: str | Iterable[str] | None = None, **options) -> list[Outcome]:
        """``follow_events`` driven to its end (same arguments): one ``Outcome`` per item tried."""
        return list(_done(self.follow_events(feeds, **options)).outcomes)

    def unfollow(self, url: str) -> bool:
        with self._writer() as (library, _):
            return library.unfollow(url)

    def sync_events(self, wait: bool = True) -> Iterator[Event]:
        """Index the episodes that are new or changed, lazily: ``Indexing`` (and ``Waiting``) events,
        then ``Done`` with the report (an ``index.SyncReport``). Cheap when there are none.

        With ``wait=False`` it never waits: when another thread or process is indexing, it does nothing
        and the report says ``busy`` (a search then reads what is committed).
        """
        from .index import SyncReport

        report = SyncReport()
        if self.stale():
            with self._writer(wait=wait) as opened:
                if opened is None:
                    report.busy = True
                else:
                    report = yield from self._sync(opened[1], wait)
        yield Done(report=report)

    def sync(self, wait: bool = True):
        """``sync_events`` driven to its end: the ``index.SyncReport``."""
        return _done(self.sync_events(wait)).report

    def reindex_events(self, model: str | None = None) -> Iterator[Event]:
        """Rebuild every passage, vector and keyword, with ``model`` if given (then it is the model),
        lazily: ``Indexing`` (and ``Waiting``) events, then ``Done`` with the report.

        The new index is built beside the live one and swapped in at once: searches meanwhile, here or in
        other processes, read the old one, whole. A reindex killed midway resumes from what it had built
        when run again (without ``model``, the unfinished one's model is taken).
        """
        with self._lock:
            pending = self._index.pending_reindex()
        model = model or (pending[0] if pending else None)
        with self._writer(model=model) as (_, index_):
            report = yield from index_.reindexing()
        with self._lock:
            self._index = self._open_index(self._library)
            if model:
                self._pinned = None  # the store's model now: follow it from here on
        yield Done(report=report)

    def reindex(self, model: str | None = None):
        """``reindex_events`` driven to its end: the ``index.SyncReport``."""
        return _done(self.reindex_events(model)).report

    def configure(self, **changes) -> Config:
        """Change settings (dense_weight, switch_size, nprobe) and save them with the knowledge base."""
        with self._lock:
            config = self.config.changed(**changes)
            self._index.configure(config)
        return config

    def remove(self, episode: str) -> tuple[Episode, int]:
        """Remove an episode, its segments and its passages: (the episode, passages unindexed).

        Quotes saved from it stay in their collections; audio podkb downloaded for it is deleted.
        """
        with self._writer() as (_, index_):
            found = index_.library.episode(episode)
            removed = index_.remove(found.id)
        return found, removed

    def edit(self, episode: str, title: str | None = None, date: str | None = None,
             show: str | None = None) -> Episode:
        """Correct an episode's title, date (YYYY[-MM[-DD]]) or show; '' clears a date or show. Nothing is
        embedded again: hits, citations and filters read them from the episode."""
        from .ingest.decode import well_formed
        from .ingest.timecode import check_date

        title, show = _name(title, "title", 300), _name(show, "show", 300, clear=True)
        date = check_date(date) if date else date
        with self._writer() as (library, index_):
            found = library.episode(well_formed(episode))
            with library.transaction():
                library.edit(found.id, title=title, date=date, show=show)
                index_._bump()  # the hosts of a show are found again
            return library.episode(found.id)

    def speakers(self, episode: str | None = None, show: str | None = None) -> dict[str, int]:
        """Named speaker → segments, in an episode, a show, or everywhere."""
        with self._lock:
            return self._library.speaker_counts(self._scope(self._library, episode, show))

    def rename_speaker(self, old: str, new: str, episode: str | None = None, show: str | None = None) -> int:
        """Call speaker ``old`` ``new`` in one episode, in every episode of a show, or everywhere: in its
        segments, passages, hits, citations and the speaker filter, without embedding anything again.
        Quotes already saved keep the name they were saved with. Segments renamed (LookupError if none)."""
        return self.rename_speakers([(old, new)], episode=episode, show=show)[0]

    def rename_speakers(self, pairs: list[tuple[str, str]], episode: str | None = None,
                        show: str | None = None) -> list[int]:
        """Several renames (``rename_speaker``) as one: all of them, in order, or none (a name that is
        not there, or an empty new name, changes nothing). Segments renamed by each."""
        from .ingest.decode import well_formed

        pairs = [(well_formed(old), _name(new, "speaker name", 80)) for old, new in pairs]
        counts = []
        with self._writer() as (library, index_):
            episodes = self._scope(library, episode, show)
            with library.transaction():
                for old, new in pairs:
                    changed = library.rename_speaker(old, new, episodes)
                    if not changed:
                        where = f"episode {episodes[0]}" if episode else f"show {show!r}" if show else \
                            "the knowledge base"
                        raise LookupError(f"no speaker {old!r} in {where}; nothing was renamed")
                    index_.rename_speaker(old, new, episodes)
                    counts.append(changed)
        return counts

    def voices(self, episode: str | None = None, show: str | None = None) -> list[Person]:
        """The voices of an episode, a show, or everything, gathered into people across episodes
        (ingest/voices.py): who each is, how sure, and which are only offered ("may be")."""
        from .ingest import voices

        with self._lock:
            scope = self._scope(self._library, episode, show)
            return voices.group(self._library.voices(scope), self._library.people())

    def rename_voice(self, episode: str, old: str, new: str, everywhere: bool = False) -> Renamed:
        """Call speaker ``old`` of ``episode`` ``new`` (as ``rename_speaker``), then name the same voice
        in the show's other episodes (in every episode, with ``everywhere``): where its voice print
        matches surely it is renamed there too; where it only may match, the name is offered. With
        ``everywhere``, a voice already named ``old`` elsewhere is renamed when its print matches."""
        from .ingest import voices
        from .ingest.decode import well_formed

        old, new = well_formed(old), _name(new, "speaker name", 80)
        named, offered = [], []
        with self._writer() as (library, index_):
            found = library.episode(well_formed(episode))
            with library.transaction():
                changed = library.rename_speaker(old, new, [found.id])
                if not changed:
                    raise LookupError(f"no speaker {old!r} in episode {found.id}; nothing was renamed")
                index_.rename_speaker(old, new, [found.id])
                prints = [v.print for v in library.voices([found.id]) if v.speaker == new]
                if prints and not voices.generic(new):
                    target = {new: voices.unit(sum(voices.unit(p) for p in prints))}
                    others = [e.id for e in library.episodes() if e.id != found.id and
                              (everywhere or (found.show and (e.show or "").casefold() == found.show.casefold()))]
                    for other in others:
                        heard = library.voices([other])
                        taken = {v.speaker for v in heard if not voices.generic(v.speaker)} - {old}
                        candidates = {v.speaker: v.print for v in heard
                                      if voices.generic(v.speaker) or everywhere and v.speaker == old}
                        for match in voices.matches(candidates, target, taken):
                            if match.sure:
                                library.rename_speaker(match.label, new, [other], by="voice", score=match.score)
                                index_.rename_speaker(match.label, new, [other])
                                named.append((other, match.label, match.score))
                            else:
                                library.offer(other, match.label, new, match.score)
                                offered.append((other, match.label, match.score))
        return Renamed(changed, named, offered)

    @staticmethod
    def _scope(library: Library, episode: str | None, show: str | None) -> list[str]:
        if episode is not None and not episode.strip() or show is not None and not show.strip():
            raise ValueError("an empty --episode or --show names nothing: leave it out to mean everywhere")
        if episode:
            return [library.episode(episode).id]
        if show:
            found = library.episodes_of_show(show)
            if not found:
                raise LookupError(f"no show {show!r}")
            return found
        return [e.id for e in library.episodes()]

    def set_media(self, episode: str, media: str) -> Episode:
        """Give an episode its recording (a file or an http(s) URL), so its hits play from their moment."""
        with self._writer() as (library, _):
            found = library.episode(episode)
            library.set_media(found.id, media)
            return library.episode(found.id)

    # Quotes

    def quote(self, collection: str, episode: str, start: float, end: float | None = None, note: str = "",
              tags: list[str] | None = None, again: str = "ask") -> Quote:
        """Save what ``episode`` says from ``start`` (to ``end``, else to the end of that segment) into
        ``collection``, creating it if need be. The same moment twice: ``again`` ("ask" raises
        ``AlreadySaved``, "merge", "keep"), as ``Collections.add``."""
        with self._lock:
            found = self._library.episode(episode)
            return self.collections.add(collection, quote_at(self._library, found.id, start, end, note, tags), again)

    def save_hit(self, collection: str, hit, text: str | None = None, note: str = "",
                 tags: list[str] | None = None, before: int = 0, after: int = 0, again: str = "ask") -> Quote:
        """Save the moment a hit cites: its highlighted sentence (with ``before``/``after`` more sentences),
        timed to it, the passage kept as context; or the part ``text`` of the passage, timed to that part."""
        with self._lock:
            return self.collections.add(collection, quote_from_hit(self._library, hit, text, note, tags, before,
                                                                   after), again)

    def save_point(self, collection: str, point, again: str = "ask") -> Quote:
        """Save a key point of ``ask``, cited at its moment."""
        with self._lock:
            return self.collections.add(collection, quote_from_point(self._library, point), again)

    # Inside

    @contextmanager
    def _backends(self, address: str | None, transcriber) -> Iterator:
        """The one place a backend is chosen: (transcriber, embedder) for one add or follow. In this
        process (``transcriber`` if given, else Whisper's; embedder None: the shared model), or on the
        Ray cluster at ``address``: its ``ClusterTranscriber`` and ``ClusterEmbedder``, stopped after."""
        if not address:
            yield transcriber or self.transcriber, None
            return
        from .cluster import Cluster, ClusterTranscriber

        cluster = Cluster(address, transcriber.options if transcriber else None, self.model)
        try:
            yield ClusterTranscriber(cluster), cluster.embedder()
        finally:
            cluster.close()

    @contextmanager
    def _writer(self, embedder=None, model: str | None = None, wait: bool = True) -> Iterator:
        """A connection of its own for one write, and an index on it that shares the loaded model (or
        embeds with ``embedder``, a cluster's; or with ``model``, for a reindex). With ``wait=False``,
        None at once if another thread of this process is writing."""
        if not self._write.acquire(blocking=wait):
            yield None
            return
        try:
            library = open_store(self.path)
            try:
                index_ = self._open_index(library, model=model or self.model, check_model=False, embedder=embedder)
                yield library, index_
                self._collect(index_)
            finally:
                library.close()
        finally:
            self._write.release()

    def _sync(self, index_, wait: bool = True) -> Generator[Event, None, SyncReport]:
        try:
            return (yield from index_.syncing(wait))
        finally:
            self._collect(index_)

    def _sync_if_stale(self) -> None:
        """Index what is new, unless another thread or process is indexing: then read what is there."""
        self.sync(wait=False)

    def _follow_reindex(self) -> None:
        """Under the read lock: if another process reindexed with another model since this one opened
        (a long-lived web app or MCP server), take up that model, its index and its settings."""
        stored = self._index.stored_model()
        if stored is None or stored == self._index.model:
            return
        if self._pinned:  # a model asked for by name stays, and says what to do
            from .index import ModelMismatch

            raise ModelMismatch(f"this knowledge base was reindexed with {stored}, not {self._pinned}; "
                                f"leave out --model to use {stored}, or run 'podkb reindex --model {self._pinned}'")
        self._index = self._open_index(self._library)

    def _open_index(self, library: Library, model: str | None = None, check_model: bool = True, embedder=None):
        from .index import Index

        return Index(library, model=model, check_model=check_model, load=self._load_embedder, embedder=embedder)

    def _index_after(self, index_, outcomes: list[Outcome]) -> Generator[Event, None, SyncReport]:
        import sqlite3

        from .ingest.errors import store_problem

        try:
            return (yield from self._sync(index_))
        except (StoreError, sqlite3.Error, OSError) as error:
            raise NotIndexed(f"{store_problem(self.path, error)}; the episodes are stored and are indexed at "
                             "the next search", outcomes) from error

    def _importing(self, events, transcriber, index: bool, ray: str | None) -> Iterator[Event]:
        """An add's or follow's events: ``events(library, transcriber)`` run on a writer of its own with the
        backend chosen, passed on; then the indexing's, and ``Done`` with every outcome."""
        outcomes = []
        with self._backends(ray, transcriber) as (transcriber, embedder):
            with self._writer(embedder) as (library, index_):
                for event in events(library, transcriber):
                    if isinstance(event, Outcome):
                        outcomes.append(event)
                    yield event
                report = (yield from self._index_after(index_, outcomes)) if index else None
        yield Done(tuple(outcomes), report)

    def _collect(self, index_) -> None:
        self.notices += index_.notices
        index_.notices.clear()


def _done(events: Iterable[Event]) -> Done:
    """Drive a job's events to their end: its ``Done``."""
    done = None
    for event in events:
        done = event
    assert isinstance(done, Done), done
    return done


def _name(text: str | None, what: str, limit: int, clear: bool = False) -> str | None:
    """A title, show or speaker name as a person typed it: one line of printable text (None: not given;
    '' with ``clear``: remove it)."""
    if text is None:
        return None
    name = one_line(text)
    if not name and not clear:
        raise ValueError(f"the {what} is empty")
    if len(name) > limit:
        raise ValueError(f"a {what} has at most {limit} characters")
    return name


__all__ = ["Info", "KnowledgeBase", "NotIndexed", "home", "open_store"]

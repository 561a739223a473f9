"""``KnowledgeBase``: the one object over a knowledge base folder, the door the CLI, the web app, the MCP
server and Python callers all go through (``kb.add(["transcripts/"])``, ``kb.search("how to avoid burnout")``).

It owns the SQLite connection (every migration applied as it opens), the index with its one embedding
model, the index lock and the quote collections. Threads may share one (the web app does): reads share
its connection under a lock, and every write runs on a connection of its own (``_writer`` for what the
index follows, ``_store`` for the rest), so searches go on reading what is committed while an import
writes; between processes, SQLite's WAL and the index lock do the same. Long jobs (add, follow, sync,
reindex, and a search or ask that indexes what is new first) are lazy generators of events that end
with one ``Done`` (podkb/events.py); the plain methods drive them for a caller that wants the result.
"""
from __future__ import annotations

import re
import sqlite3
import threading
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Generator, Iterable, Iterator

from .events import Done, Event, done
from .folder import MIGRATIONS, NoKnowledgeBase, NotIndexed, home, open_store  # noqa: F401 (names of this module)
from .index import chapters, sync, tables
from .index.config import Config
from .info import Info, gather
from .ingest import Episode, EpisodeInfo, Library, Outcome, Segment, feed_items, voice_prints, voices
from .ingest.audio import WhisperOptions, probe
from .ingest.decode import well_formed
from .ingest.errors import StoreError, store_problem
from .ingest.events import relay
from .ingest.store import DB_NAME, typed_name
from .ingest.timecode import check_date
from .ingest.voices import Renamed
from .quotes import Collections, Quote, quote_at, quote_from_hit, quote_from_point, quote_in_paragraph

if TYPE_CHECKING:
    from .index import Answer, Filters, Hit, SyncReport
    from .index.chapters import Chapter
    from .ingest.voices import Person
    from .written import Writing


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
        self.path = Path(path).expanduser() if path else home()
        self.created = not (self.path / DB_NAME).is_file()  # this open makes a new knowledge base
        if not create and self.created:
            raise NoKnowledgeBase(self.path)
        # What was in its folder before (None: no folder), so that a new one nothing was added to can go.
        self._before = set(p.name for p in self.path.iterdir()) if self.created and self.path.is_dir() else None
        self._pinned = model or (embedder.name if embedder is not None else None)  # else: the store's model
        self._lock = threading.RLock()   # the shared read connection
        self._write = threading.Lock()   # one index writer at a time in this process; the index lock does processes
        self._embedder = embedder
        self._judging = judge if judge is not None else embedder is None
        self._transcriber = None
        self.notices: list[str] = []     # what was repaired on the way (a damaged FAISS file rebuilt, ...)
        self._library = open_store(self.path)
        try:
            self._index = self._open_index(self._library, model=model, check_model=check_model, embedder=embedder)
        except BaseException:
            self._library.close()
            raise
        self.collections = Collections(self._library, lock=self._lock, writing=self._store)

    def close(self) -> None:
        with self._lock:
            self._library.close()

    def discard_if_empty(self) -> bool:
        """After ``close``: when this open made the knowledge base and nothing was stored in it (no episode, no
        feed followed: every file failed, a mistyped --kb), remove what it made (the folder, or the files it
        put in a folder that was there), so that nothing is left to fill by mistake. Whether it did."""
        if not self.created:
            return False
        with open_store(self.path) as library:
            if library.count() or feed_items.followed(library.db):
                return False
        import shutil

        made = [self.path] if self._before is None else \
            [p for p in self.path.iterdir() if p.name not in self._before]
        for path in made:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        return True

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
        changes subject (index/chapters.py); found again from the stored sentence vectors for an episode
        indexed before chapters were found."""
        with self._lock:
            episode_id = self._library.episode(episode).id
            found = self._library.chapters(episode_id)
            again = [] if found else chapters.stored(*self._index.stored_sentences(episode_id))
        if again:
            with self._store() as library, library.transaction():
                library.set_chapters(episode_id, again, "found")
            with self._lock:
                found = self._library.chapters(episode_id)
        published = [c for c in found if c[0] == "published"]
        return [chapters.Chapter(start=start, title=title, source=source, paragraph=paragraph)
                for source, start, title, paragraph in (published or found)]

    def examples(self, n: int = 4) -> list[str]:
        """Questions to try on this knowledge base: questions asked in it (short, plain ones, from different
        episodes), else its chapters' titles."""
        from .index.questions import examples

        with self._lock:
            return examples(self._library, n)

    def feeds(self) -> list[tuple[str, str | None, str | None]]:
        """(url, title, last checked) of every feed followed."""
        with self._lock:
            return feed_items.followed(self._library.db)

    def passage_counts(self) -> dict[str, int]:
        """Passages indexed per episode id."""
        with self._lock:
            return tables.counts(self._library.db)

    def stale(self) -> list[str]:
        """Episodes stored but not indexed yet (added with index=False, or by an interrupted import)."""
        with self._lock:
            return self._index.stale_episodes()

    def counts(self) -> tuple[int, int]:
        """(episodes, passages)."""
        with self._lock:
            return self._library.count(), tables.count(self._library.db)

    def info(self) -> Info:
        """What ``podkb info`` prints: counts, the model, the index, the settings, the schema and the files."""
        with self._lock:
            return gather(self.path, self._library, self._index, len(self.collections.names()), MIGRATIONS)

    def speakers(self, episode: str | None = None, show: str | None = None) -> dict[str, int]:
        """Named speaker → segments, in an episode, a show, or everywhere."""
        with self._lock:
            return self._library.speaker_counts(self._library.scope(episode, show))

    def voices(self, episode: str | None = None, show: str | None = None) -> list[Person]:
        """The voices of an episode, a show, or everything, gathered into people across episodes
        (ingest/voices.py): who each is, how sure, and which are only offered ("may be")."""
        with self._lock:
            scope = self._library.scope(episode, show)
            return voices.group(voice_prints.of(self._library.db, scope), voice_prints.people(self._library.db))

    # Searching

    def filters(self, show: str | None = None, episode: str | None = None, speaker: str | None = None,
                date_from: str | None = None, date_to: str | None = None) -> Filters:
        """Filters for search and ask. ``episode`` may be the start of an id; dates are YYYY[-MM[-DD]]
        (ValueError otherwise)."""
        from .index import Filters

        show, episode, speaker = well_formed(show), well_formed(episode), well_formed(speaker)
        if episode:
            episode = self.episode(episode).id
        return Filters(show=show, episode=episode, speaker=speaker,
                       date_from=check_date(date_from) if date_from else None,
                       date_to=check_date(date_to) if date_to else None)

    def search_events(self, query: str, k: int = 10, *, mode: str = "hybrid", fusion: str = "convex",
                      filters: Filters | None = None, reranker=None, sync: bool = True, **filter_args) -> Iterator[Event]:
        """A search, lazily: the episodes not indexed yet are indexed first (``Indexing`` events; only if
        nobody else is indexing: a search never waits, it reads what is committed), then ``Done`` with the
        hits (``result``) and the indexing's report. Arguments as ``search``'s."""
        from .index import search_index

        return self._finding(lambda index, filters: search_index(
            index, query, k=k, mode=mode, filters=filters, reranker=reranker, fusion=fusion), filters, sync, filter_args)

    def search(self, query: str, k: int = 10, **options) -> list[Hit]:
        """The k best hits for ``query``, each cited at its moment. Filters come as ``filters=kb.filters(...)``
        or as keywords (show=, episode=, speaker=, date_from=, date_to=); ``mode`` (hybrid, dense, keyword),
        ``fusion`` (convex, rrf), ``reranker``; what is not indexed yet is indexed first unless ``sync=False``."""
        return done(self.search_events(query, k, **options)).result

    def ask_events(self, question: str, k: int = 5, *, points: int = 5, filters: Filters | None = None,
                   sync: bool = True, **filter_args) -> Iterator[Event]:
        """``ask``, lazily, as ``search_events``: indexing first, then ``Done`` with the ``index.Answer``."""
        from .index import ask_index

        return self._finding(lambda index, filters: ask_index(
            index, question, k=k, points=points, filters=filters, judge=self.judge), filters, sync, filter_args)

    def ask(self, question: str, k: int = 5, **options) -> Answer:
        """Key points that answer ``question`` (distinct, each cited), then the hits (an ``index.Answer``)."""
        return done(self.ask_events(question, k, **options)).result

    def llm(self, option: str | None = None) -> str | None:
        """The language model that writes answers: ``option``, else the one saved with the knowledge base
        (``podkb config llm``), else $PODKB_LLM; None for none ("none", "off", "0" and "" say none)."""
        from .ingest.settings import setting

        chosen = setting("llm", option, self.config.llm or None)
        return None if (chosen or "").strip().lower() in ("", "none", "off", "0") else chosen.strip()

    def write(self, answer: Answer, llm: str | None = None, timeout: float | None = None) -> Writing:
        """``answer`` written in prose by a language model (``llm``, else ``self.llm()``), every sentence citing
        ask's spans, as a ``written.Writing``: iterate it for the text as it streams; its ``written`` is then
        the checked answer. No model is called when the library has no answer, and none is chosen unless
        one was named or saved (ValueError)."""
        from .ingest.settings import setting
        from .written import Writing

        model = self.llm(llm)
        if model is None:
            raise ValueError("no language model chosen: --llm MODEL, 'podkb config llm MODEL' or $PODKB_LLM")
        return Writing(answer, model, float(timeout or setting("llm_timeout")))

    # Writing

    def add_events(self, paths: Iterable[str], info: EpisodeInfo | None = None, *, replace: bool = False,
                   format: str | None = None, whisper: WhisperOptions | None = None, transcriber=None,
                   index: bool = True, ray: str | None = None) -> Iterator[Event]:
        """Add transcripts and audio (files, folders or globs), then index them, lazily: an ``Outcome`` per
        file as it is stored, ``Transcribing`` while audio is transcribed, ``Indexing`` (and ``Waiting``) as
        it indexes, and ``Done`` last. ``info`` gives titles, shows and speakers the files lack; ``replace``
        updates an episode added from the same file; ``format`` (a name in ``ingest.formats.FORMATS``)
        reads every transcript as that format. Audio is transcribed by Whisper with the ``whisper`` options
        (by default tiny.en, offline), or by ``transcriber`` (an ``ingest.transcriber.Transcriber``); with
        ``ray`` (what ``ray.init`` takes, or 'local'), it and the embedding run on a Ray cluster
        (``ClusterError`` before any work when it can't be used) while this process writes. Raises
        ``NotIndexed`` (with the outcomes) when the episodes were stored but indexing them failed."""
        from .ingest import add_paths

        return self._importing(lambda library, transcriber: add_paths(
            library, [str(p) for p in paths], info, replace=replace, transcriber=transcriber, format=format),
            (whisper, transcriber), index, ray)

    def add(self, paths: Iterable[str], info: EpisodeInfo | None = None, **options) -> list[Outcome]:
        """``add_events`` driven to its end (same arguments): one ``Outcome`` per file."""
        return list(done(self.add_events(paths, info, **options)).outcomes)

    def follow_events(self, feeds: str | Iterable[str] | None = None, *, options=None,
                      whisper: WhisperOptions | None = None, transcriber=None, index: bool = True,
                      ray: str | None = None) -> Iterator[Event]:
        """Follow podcast feeds (URLs or files) and add their new episodes, lazily, with the events of
        ``add_events``; with no feeds, check every feed followed so far. ``options`` is an
        ``ingest.feeds.FeedOptions`` (limit, since, timeout, max_bytes); ``whisper``, ``transcriber`` and
        ``ray`` as for ``add_events``."""
        from .ingest.feeds import follow

        sources = [feeds] if isinstance(feeds, str) else list(feeds or [url for url, _, _ in self.feeds()])
        if not sources:
            raise ValueError("no feeds followed yet: give a feed URL or file")
        return self._importing(lambda library, transcriber: (
            event for source in sources for event in follow(library, source, options, transcriber)),
            (whisper, transcriber), index, ray)

    def follow(self, feeds: str | Iterable[str] | None = None, **options) -> list[Outcome]:
        """``follow_events`` driven to its end (same arguments): one ``Outcome`` per item tried."""
        return list(done(self.follow_events(feeds, **options)).outcomes)

    def unfollow(self, url: str) -> bool:
        with self._store() as library:
            return feed_items.unfollow(library.db, url)

    def sync_events(self, wait: bool = True) -> Iterator[Event]:
        """Index the episodes that are new or changed, lazily: ``Indexing`` (and ``Waiting``) events, then
        ``Done`` with the report (an ``index.SyncReport``). Cheap when there are none. With ``wait=False``,
        when another thread or process is indexing, it does nothing and the report says ``busy``."""
        from .index import SyncReport

        report = SyncReport()
        if self.stale():
            with self._writer(wait=wait) as opened:
                if opened is None:
                    report.busy = True
                else:
                    report = yield from self._sync(opened[1], wait)
        yield Done(report=report)

    def sync(self, wait: bool = True) -> SyncReport:
        """``sync_events`` driven to its end: the ``index.SyncReport``."""
        return done(self.sync_events(wait)).report

    def reindex_events(self, model: str | None = None) -> Iterator[Event]:
        """Rebuild every passage, vector and keyword, with ``model`` if given (then it is the model), lazily:
        events as ``sync_events``'s. Built beside the live index and swapped in at once, so searches meanwhile
        read the old one, whole; a reindex killed midway resumes when run again (with its model)."""
        with self._lock:
            pending = self._index.pending_reindex()
        model = model or (pending[0] if pending else None)
        with self._writer(model=model) as (_, index_):
            report = (yield from relay(sync.reindexing(index_))).report
        with self._lock:
            self._index = self._open_index(self._library)
            if model:
                self._pinned = None  # the store's model now: follow it from here on
        yield Done(report=report)

    def reindex(self, model: str | None = None) -> SyncReport:
        """``reindex_events`` driven to its end: the ``index.SyncReport``."""
        return done(self.reindex_events(model)).report

    def configure(self, **changes) -> Config:
        """Change settings (dense_weight, switch_size, nprobe) and save them with the knowledge base."""
        config = self.config.changed(**changes)
        with self._writer() as (_, index_):
            index_.configure(config)
        with self._lock:
            self._index.config = config
        return config

    def remove(self, episode: str) -> tuple[Episode, int]:
        """Remove an episode, its segments and its passages: (the episode, passages unindexed). Quotes saved
        from it stay in their collections; audio podkb downloaded for it is deleted."""
        with self._writer() as (library, index_):
            found = library.episode(episode)
            return found, sync.remove(index_, found.id)

    def edit(self, episode: str, title: str | None = None, date: str | None = None,
             show: str | None = None) -> Episode:
        """Correct an episode's title, date (YYYY[-MM[-DD]]) or show; '' clears a date or show. Nothing is
        embedded again: hits, citations and filters read them from the episode."""
        title, show = typed_name(title, "title", 300), typed_name(show, "show", 300, clear=True)
        date = check_date(date) if date else date
        with self._writer() as (library, index_):
            found = library.episode(well_formed(episode))
            with library.transaction():
                library.edit(found.id, title=title, date=date, show=show)
                index_.bump()  # the hosts of a show are found again
            return library.episode(found.id)

    def rename_speaker(self, old: str, new: str, episode: str | None = None, show: str | None = None) -> int:
        """Call speaker ``old`` ``new`` in one episode, in every episode of a show, or everywhere: in its
        segments, passages, hits, citations and the speaker filter, without embedding anything again.
        Quotes already saved keep the name they were saved with. Segments renamed (LookupError if none)."""
        return self.rename_speakers([(old, new)], episode=episode, show=show)[0]

    def rename_speakers(self, pairs: list[tuple[str, str]], episode: str | None = None,
                        show: str | None = None) -> list[int]:
        """Several renames (``rename_speaker``) as one: all of them, in order, or none (a name that is
        not there, or an empty new name, changes nothing). Segments renamed by each."""
        pairs = [(well_formed(old), typed_name(new, "speaker name", 80)) for old, new in pairs]
        counts = []
        with self._writer() as (library, index_):
            episodes = library.scope(episode, show)
            where = f"episode {episodes[0]}" if episode else f"show {show!r}" if show else "the knowledge base"
            with library.transaction():
                for old, new in pairs:
                    counts.append(self._rename(library, index_, old, new, episodes, where))
        return counts

    def rename_voice(self, episode: str, old: str, new: str, everywhere: bool = False) -> Renamed:
        """Call speaker ``old`` of ``episode`` ``new`` (as ``rename_speaker``), then name the same voice
        in the show's other episodes (in every episode, with ``everywhere``): where its voice print
        matches surely it is renamed there too; where it only may match, the name is offered. With
        ``everywhere``, a voice already named ``old`` elsewhere is renamed when its print matches."""
        old, new = well_formed(old), typed_name(new, "speaker name", 80)
        named, offered = [], []
        with self._writer() as (library, index_):
            found = library.episode(well_formed(episode))
            with library.transaction():
                changed = self._rename(library, index_, old, new, [found.id], f"episode {found.id}")
                heard_in = partial(voice_prints.of, library.db)
                for other, match in voices.elsewhere(heard_in, library.episodes(), found, new, old, everywhere):
                    if match.sure:
                        library.rename_speaker(match.label, new, [other], by="voice", score=match.score)
                        sync.rename_speaker(index_, match.label, new, [other])
                        named.append((other, match.label, match.score))
                    else:
                        voice_prints.offer(library.db, other, match.label, new, match.score)
                        offered.append((other, match.label, match.score))
        return Renamed(changed, named, offered)

    def set_media(self, episode: str, media: str, check: bool = False) -> Episode:
        """Give an episode its recording (a file or an http(s) URL), so its hits play from their moment. With
        ``check``, a file is opened first, and one that is not audio podkb can play is refused (BadInput)."""
        if check and not re.match(r"(?i)https?://", media):
            probe(media)
        with self._writer() as (library, _):
            found = library.episode(episode)
            library.set_media(found.id, media)
            return library.episode(found.id)

    # Quotes

    def quote(self, collection: str, episode: str, start: float, end: float | None = None, note: str = "",
              tags: list[str] | None = None, again: str = "ask") -> Quote:
        """Save what ``episode`` says from ``start`` (to ``end``, else the two sentences at that moment) into
        ``collection``, creating it if need be. The same moment twice: ``again`` ("ask" raises
        ``AlreadySaved``, "merge", "keep"), as ``Collections.add``."""
        with self._lock:
            quote = quote_at(self._library, self._library.episode(episode).id, start, end, note, tags)
        return self.collections.add(collection, quote, again)

    def quote_paragraph(self, collection: str, episode: str, paragraph: int, sentence: int = 1, note: str = "",
                        tags: list[str] | None = None, again: str = "ask") -> Quote:
        """From an untimed episode: save paragraph ``paragraph``'s (¶1 is the first) ``sentence``-th sentence and
        the next into ``collection``, cited ¶N; ``again`` as ``quote``."""
        with self._lock:
            quote = quote_in_paragraph(self._library, self._library.episode(episode).id, paragraph, sentence, note,
                                       tags)
        return self.collections.add(collection, quote, again)

    def save_hit(self, collection: str, hit, text: str | None = None, note: str = "",
                 tags: list[str] | None = None, before: int = 0, after: int = 0, again: str = "ask") -> Quote:
        """Save the moment a hit cites: its highlighted sentence (with ``before``/``after`` more sentences),
        timed to it, the passage kept as context; or the part ``text`` of the passage, timed to that part."""
        with self._lock:
            quote = quote_from_hit(self._library, hit, text, note, tags, before, after)
        return self.collections.add(collection, quote, again)

    def save_point(self, collection: str, point, again: str = "ask") -> Quote:
        """Save a key point of ``ask``, cited at its moment."""
        with self._lock:
            quote = quote_from_point(self._library, point)
        return self.collections.add(collection, quote, again)

    # Inside

    @contextmanager
    def _backends(self, address: str | None, whisper: WhisperOptions | None, transcriber) -> Iterator:
        """The one place a backend is chosen: (transcriber, embedder) for one add or follow. In this
        process (``transcriber`` if given, else Whisper with the ``whisper`` options; embedder None: the
        shared model), or on the Ray cluster at ``address``: its ``ClusterTranscriber`` and
        ``ClusterEmbedder``, stopped after."""
        if not address:
            from .ingest.audio import WhisperTranscriber

            if transcriber is None and whisper is None:  # the default, made once: its model loads once
                self._transcriber = transcriber = self._transcriber or WhisperTranscriber()
            yield transcriber or WhisperTranscriber(whisper), None
            return
        from .cluster import Cluster, ClusterTranscriber

        cluster = Cluster(address, whisper or getattr(transcriber, "options", None), self.model)
        try:
            yield ClusterTranscriber(cluster), cluster.embedder()
        finally:
            cluster.close()

    @contextmanager
    def _store(self) -> Iterator[Library]:
        """A connection of its own for one write the index does not follow (quotes, feeds, chapters)."""
        library = open_store(self.path)
        try:
            yield library
        finally:
            library.close()

    @contextmanager
    def _writer(self, embedder=None, model: str | None = None, wait: bool = True) -> Iterator:
        """A connection of its own for one write the index follows, and an index on it that shares the
        loaded model (or embeds with ``embedder``, a cluster's; or with ``model``, for a reindex). With
        ``wait=False``, None at once if another thread of this process is writing."""
        if not self._write.acquire(blocking=wait):
            yield None
            return
        try:
            with self._store() as library:
                index_ = self._open_index(library, model=model or self.model, check_model=False, embedder=embedder)
                yield library, index_
                self._collect(index_)
        finally:
            self._write.release()

    def _rename(self, library: Library, index_, old: str, new: str, episodes: list[str], where: str) -> int:
        """Call ``old`` ``new`` in these episodes' segments and passages; segments renamed (LookupError,
        naming ``where`` the episodes are, if none)."""
        changed = library.rename_speaker(old, new, episodes)
        if not changed:
            raise LookupError(f"no speaker {old!r} in {where}; nothing was renamed")
        sync.rename_speaker(index_, old, new, episodes)
        return changed

    def _finding(self, find, filters, sync: bool, filter_args: dict) -> Iterator[Event]:
        """A search's or ask's events: the indexing of what is new first (``sync``), then ``Done`` with what
        ``find(index, filters)`` finds, on the shared connection."""
        filters = filters or self.filters(**filter_args)
        report = (yield from relay(self.sync_events(wait=False))).report if sync else None
        with self._lock:
            self._follow_reindex()
            found = find(self._index, filters)
            self._collect(self._index)
        yield Done(report=report, result=found)

    def _sync(self, index_, wait: bool = True) -> Generator[Event, None, SyncReport]:
        try:
            return (yield from relay(sync.syncing(index_, wait))).report
        finally:
            self._collect(index_)

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

    def _importing(self, events, backend: tuple, index: bool, ray: str | None) -> Iterator[Event]:
        """An add's or follow's events: ``events(library, transcriber)`` run on a writer of its own with the
        backend chosen (``backend``: the Whisper options and the transcriber asked for), passed on; then
        the indexing's, and ``Done`` with every outcome."""
        outcomes = []
        with self._backends(ray, *backend) as (transcriber, embedder):
            with self._writer(embedder) as (library, index_):
                for event in events(library, transcriber):
                    if isinstance(event, Outcome):
                        outcomes.append(event)
                    yield event
                report = None
                if index:
                    try:
                        report = yield from self._sync(index_)
                    except (StoreError, sqlite3.Error, OSError) as error:
                        raise NotIndexed(f"{store_problem(self.path, error)}; the episodes are stored and are "
                                         "indexed at the next search", outcomes) from error
        yield Done(tuple(outcomes), report)

    def _collect(self, index_) -> None:
        self.notices += index_.notices
        index_.notices.clear()


__all__ = ["Info", "KnowledgeBase", "NoKnowledgeBase", "NotIndexed", "Renamed", "home", "open_store"]

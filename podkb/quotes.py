"""Quotes and their collections: moments saved with their citation, in the knowledge base's own SQLite
store (the ``collections`` and ``quotes`` tables, and every statement on them).

A quote keeps a copy of its text and citation, so it outlives the episode it came from; the CLI, the
web app and the MCP server share the same tables. Reads go through the knowledge base's shared
connection; every write through a connection of its own (``KnowledgeBase._store``), so a search in
another thread never reads a half-made change.
"""
from __future__ import annotations

import functools
import json
import math
import re
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace

from .ingest import Episode, Library, Segment, Word
from .ingest.migrations import Migrations
from .ingest.store import one_line
from .ingest.store import text as _text
from .ingest.timecode import format_timestamp
from .ingest.timecode import utc_now as _now
from .index.hits import Citation, ends_at, link
from .index.passages import sentence_bounds

migration = Migrations("quotes")
MAX_NAME = 80
MAX_NOTE = 10_000   # characters of a quote's note: a paragraph or two, not a file


@migration
def m001_create_collections_and_quotes(db):
    db.execute(
        """CREATE TABLE collections (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE quotes (
            id INTEGER PRIMARY KEY,
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            text TEXT NOT NULL,
            episode_id TEXT NOT NULL,
            episode_title TEXT NOT NULL,
            show TEXT,
            speaker TEXT,
            date TEXT,
            start REAL,
            end REAL,
            link TEXT,
            note TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '[]',
            added_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX quotes_collection ON quotes(collection_id, position)")


@migration
def m002_quote_context(db):
    # The passage a quote was cut from, kept beside it: the quote itself is the moment (its sentences).
    db.execute("ALTER TABLE quotes ADD COLUMN context TEXT NOT NULL DEFAULT ''")


@migration
def m003_quote_paragraph(db):
    # A quote from an untimed transcript is cited by its paragraph (¶15), as its hit was.
    db.execute("ALTER TABLE quotes ADD COLUMN paragraph INTEGER")


class AlreadySaved(ValueError):
    """The same moment is in the collection already (``existing``): save it again or merge, on purpose."""

    def __init__(self, existing: "Quote", collection: str):
        when = f" at {format_timestamp(existing.start)}" if existing.start is not None else ""
        super().__init__(f"this moment{when} is already in {collection} as quote {existing.id}")
        self.existing = existing


@dataclass
class Quote:
    text: str
    episode_id: str
    episode_title: str
    show: str | None = None
    speaker: str | None = None
    date: str | None = None      # the episode's date
    start: float | None = None
    end: float | None = None
    link: str | None = None      # the source, set to play from ``start`` (http/https only)
    note: str = ""
    tags: list[str] = field(default_factory=list)
    id: int | None = None
    position: int = 0
    added_at: str | None = None
    context: str = ""            # the passage around it, as it was when saved
    paragraph: int | None = None  # untimed transcripts: the paragraph it is in (the segment's index)

    @property
    def cited(self) -> Citation:
        return Citation(self.show, self.episode_title, self.speaker, self.start,
                        self.paragraph if self.start is None else None)

    @property
    def citation(self) -> str:
        return self.cited.format()

    def to_dict(self) -> dict:
        return asdict(self)


_COLUMNS = ("text, episode_id, episode_title, show, speaker, date, start, end, link, note, tags, id, position, "
            "added_at, context, paragraph")


def _locked(method):
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return run


class Collections:
    """The named collections of one knowledge base (``KnowledgeBase.collections``).

    ``lock`` (re-entrant) guards the read connection when threads share it, as the web app's do;
    ``writing()`` gives a store (a ``Library``) to write on, in a transaction of its own (by default the
    same one).
    """

    def __init__(self, library: Library, lock=None, writing=None):
        self.db = library.db
        migration.require(self.db, library.dir)
        self._lock = lock or nullcontext()
        self._writing = writing or (lambda: nullcontext(library))

    @contextmanager
    def _write(self):
        """A transaction on the writing connection: its ``db``."""
        with self._writing() as library, library.transaction():
            yield library.db

    @_locked
    def names(self) -> list[tuple[str, int]]:
        """(name, number of quotes) of every collection, oldest first."""
        return self.db.execute(
            "SELECT c.name, count(q.id) FROM collections c LEFT JOIN quotes q ON q.collection_id = c.id "
            "GROUP BY c.id ORDER BY c.created_at, c.id"
        ).fetchall()

    @_locked
    def name(self, name: str) -> str:
        """The collection's name as stored ('burnout ideas' finds 'Burnout Ideas'); LookupError if none."""
        name = _text(name)
        row = self.db.execute("SELECT name FROM collections WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise LookupError(f"no collection '{name}'")
        return row[0]

    def create(self, name: str) -> str:
        """Make a collection (nothing, if there is one by that name); its name as stored."""
        name = clean_name(name)
        with self._write() as db:
            return _create(db, name)

    def delete(self, name: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM quotes WHERE collection_id = ?", (_id(db, name),))
            db.execute("DELETE FROM collections WHERE name = ?", (name,))

    @_locked
    def quotes(self, name: str) -> list[Quote]:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM quotes WHERE collection_id = ? ORDER BY position, id",
                               (_id(self.db, name),))
        return [_quote(row) for row in rows]

    def add(self, name: str, quote: Quote, again: str = "ask") -> Quote:
        """Append ``quote`` to the collection ``name``, creating the collection if needed.

        The same moment saved twice (same episode, times that share half the shorter one, or the same words): ``again`` says
        what to do: "ask" raises AlreadySaved, "merge" widens the quote already there to both and keeps
        both notes and tags (it returns that quote), "keep" saves a second one.
        """
        quote = well_formed_quote(quote)
        if not quote.text.strip():
            raise ValueError("a quote needs some text")
        if again not in ("ask", "merge", "keep"):
            raise ValueError("again is ask, merge or keep")
        if len(quote.note) > MAX_NOTE:
            raise ValueError(f"a note has at most {MAX_NOTE:,} characters, not {len(quote.note):,}")
        name = clean_name(name)
        with self._write() as db:
            stored = _create(db, name)
            collection = _id(db, stored)
            existing = _same_moment(db, collection, quote) if again != "keep" else None
            if existing is not None and again == "ask":
                raise AlreadySaved(existing, stored)
            if existing is not None:
                return _merge(db, existing, quote)
            position = db.execute("SELECT coalesce(max(position), -1) + 1 FROM quotes WHERE collection_id = ?",
                                  (collection,)).fetchone()[0]
            quote.position, quote.added_at = position, _now()
            values = (collection, position, quote.text, quote.episode_id, quote.episode_title, quote.show,
                      quote.speaker, quote.date, quote.start, quote.end, quote.link, quote.note,
                      json.dumps(quote.tags), quote.added_at, quote.context, quote.paragraph)
            cursor = db.execute(
                "INSERT INTO quotes (collection_id, position, text, episode_id, episode_title, show, speaker, date, "
                "start, end, link, note, tags, added_at, context, paragraph) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
            quote.id = cursor.lastrowid
        return quote

    def remove(self, quote_id: int) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM quotes WHERE id = ?", (quote_id,)).rowcount == 0:
                raise LookupError(f"no quote {quote_id}")

    def move(self, quote_id: int, step: int) -> None:
        """Move a quote ``step`` places (negative: earlier) within its collection."""
        with self._write() as db:
            row = db.execute("SELECT collection_id FROM quotes WHERE id = ?", (quote_id,)).fetchone()
            if row is None:
                return
            ids = [r[0] for r in db.execute("SELECT id FROM quotes WHERE collection_id = ? ORDER BY position, id", row)]
            at = ids.index(quote_id)
            ids.insert(max(0, min(len(ids) - 1, at + step)), ids.pop(at))
            db.executemany("UPDATE quotes SET position = ? WHERE id = ?", list(enumerate(ids)))


def _create(db, name: str) -> str:
    db.execute("INSERT OR IGNORE INTO collections (name, created_at) VALUES (?, ?)", (name, _now()))
    return db.execute("SELECT name FROM collections WHERE name = ?", (name,)).fetchone()[0]


def _id(db, name: str) -> int:
    name = _text(name)  # as it would be stored, and as every message shows it
    row = db.execute("SELECT id FROM collections WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise LookupError(f"no collection '{name}'")
    return row[0]


def _same_moment(db, collection: int, quote: Quote) -> "Quote | None":
    rows = db.execute(f"SELECT {_COLUMNS} FROM quotes WHERE collection_id = ? AND episode_id = ?",
                      (collection, quote.episode_id)).fetchall()
    for row in rows:
        other = _quote(row)
        if quote.start is not None and other.start is not None:
            end, other_end = max(quote.end or quote.start, quote.start), max(other.end or other.start, other.start)
            shared = min(end, other_end) - max(quote.start, other.start)
            shorter = min(end - quote.start, other_end - other.start)
            if shared > 0.5 * shorter if shorter > 0 else shared >= 0:  # half the shorter one, or inside
                return other
        elif _norm(other.text) == _norm(quote.text):
            return other
    return None


def _merge(db, existing: Quote, quote: Quote) -> Quote:
    """One quote for both: the longer text (or both, when neither holds the other), both spans."""
    a, b = existing, quote
    if _norm(b.text) in _norm(a.text):
        text = a.text
    elif _norm(a.text) in _norm(b.text):
        text = b.text
    else:
        text = f"{a.text} {b.text}" if (a.start or 0) <= (b.start or 0) else f"{b.text} {a.text}"
    starts = [t for t in (a.start, b.start) if t is not None]
    ends = [t for t in (a.end, b.end) if t is not None]
    merged = Quote(**{**asdict(a), "text": text, "start": min(starts) if starts else None,
                      "end": max(ends) if ends else None,
                      "note": " / ".join(n for n in dict.fromkeys([a.note, b.note]) if n),
                      "tags": list(dict.fromkeys(a.tags + b.tags)), "link": a.link if a.start == min(starts or [0])
                      else b.link, "context": a.context or b.context})
    db.execute("UPDATE quotes SET text = ?, start = ?, end = ?, note = ?, tags = ?, link = ? WHERE id = ?",
               (merged.text, merged.start, merged.end, merged.note, json.dumps(merged.tags), merged.link, a.id))
    return merged


def well_formed_quote(quote: Quote) -> Quote:
    """The quote with every text made well formed (ingest.store.text), as all text entering the store is."""
    changes = {name: _text(getattr(quote, name)) for name in ("text", "episode_id", "episode_title", "show", "speaker",
                                                            "date", "link", "note", "context")}
    return replace(quote, **changes, tags=[_text(t) for t in quote.tags])


def clean_name(name: str) -> str:
    """A collection name: one line of printable text, at most MAX_NAME characters."""
    name = one_line(name)
    if not name:
        raise ValueError("a collection needs a name")
    if len(name) > MAX_NAME:
        raise ValueError(f"a collection name has at most {MAX_NAME} characters")
    return name


def parse_tags(text: str) -> list[str]:
    """'focus, habits #sleep' → ['focus', 'habits', 'sleep']."""
    return list(dict.fromkeys(t for t in re.split(r"[\s,#]+", text or "") if t))


SENTENCES_AT = 2      # a quote without an end: the sentence spoken at its start, and the next
MAX_QUOTE_WORDS = 80  # however long those sentences run
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")


def quote_at(library: Library, episode_id: str, start: float, end: float | None = None, note: str = "",
             tags: list[str] | None = None) -> Quote:
    """The words an episode says from ``start`` to ``end``; without ``end``, the sentences at that moment:
    the one being spoken at ``start`` (else the next to begin) from its first word, and the one after it
    (SENTENCES_AT), in the same speaker's turn, at most MAX_QUOTE_WORDS words. The speaker is whoever is
    speaking when the quote starts."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and not (math.isfinite(value) and 0 <= value < 1000 * 3600):
            raise ValueError(f"{name} must be a number of seconds from 0 to 1000 hours, not {value}")
    episode = library.episode(episode_id)
    timed = _until_next([s for s in library.segments(episode.id) if s.start is not None], episode.duration)
    if not timed:
        raise ValueError(f"episode {episode.id} has no timestamps to quote from: quote it by paragraph "
                         "(--paragraph N, ¶N as cited)")
    if end is not None and end < start:
        raise ValueError("--end comes before --start")
    words = [(w.start, w.end, w.text, n) for n, s in enumerate(timed) for w in (s.words or _spread(s))]
    if end is None:
        chosen = _sentences_at(words, timed, start)
        if not chosen:
            raise ValueError(f"{episode.id} ends before {start:g} s")
    else:
        chosen = [w for w in words if w[1] > start + 0.01 and w[0] < end - 0.01] or \
                 [w for w in words if w[0] <= start <= w[1]]
    if not chosen:
        raise ValueError(f"nothing is said in {episode.id} between {start:g} s and {end:g} s")
    return Quote(
        text=" ".join(w[2] for w in chosen), episode_id=episode.id, episode_title=episode.title,
        show=episode.show, speaker=speaker_at(episode, timed, chosen[0][0]), date=episode.date,
        start=round(chosen[0][0], 3), end=round(chosen[-1][1], 3), link=episode_link(episode, chosen[0][0]),
        note=note, tags=tags or [],
    )


def _sentences_at(words: list[tuple], timed: list[Segment], start: float) -> list[tuple]:
    """The words of the sentences at ``start`` (see quote_at); (start, end, text, segment number) each."""
    def begins(i: int) -> bool:
        return i == 0 or timed[words[i - 1][3]].turn != timed[words[i][3]].turn or \
            bool(_SENTENCE_END.search(words[i - 1][2]))

    # A time read off a citation is whole seconds: a sentence that begins within that second is the one meant.
    first = next((i for i, w in enumerate(words) if start - 0.01 <= w[0] < start + 1.0 and begins(i)), None)
    if first is None:
        at = next((i for i, w in enumerate(words) if w[1] > start + 0.01), None)
        if at is None:
            return []
        first = at  # back to the start of the sentence being spoken, within the turn
        while not begins(first):
            first -= 1
    turn = timed[words[first][3]].turn
    chosen, ended = [], 0
    for word in words[first:]:
        if timed[word[3]].turn != turn or len(chosen) == MAX_QUOTE_WORDS:
            break
        chosen.append(word)
        ended += bool(_SENTENCE_END.search(word[2]))
        if ended == SENTENCES_AT:
            break
    return chosen


def quote_in_paragraph(library: Library, episode_id: str, paragraph: int, sentence: int = 1, note: str = "",
                       tags: list[str] | None = None) -> Quote:
    """From an untimed episode, the words of paragraph ``paragraph`` (as cited: ¶1 is the first) from its
    ``sentence``-th sentence, and the next one (SENTENCES_AT, at most MAX_QUOTE_WORDS words), cited ¶N."""
    episode = library.episode(episode_id)
    segments = library.segments(episode.id)
    if any(s.start is not None for s in segments):
        raise ValueError(f"episode {episode.id} has timestamps: quote it by --start")
    if not 1 <= paragraph <= len(segments):
        raise ValueError(f"episode {episode.id} has paragraphs ¶1 to ¶{len(segments)}, not ¶{paragraph}")
    text = segments[paragraph - 1].text
    said = [text[a:b].strip() for a, b in sentence_bounds(text) if text[a:b].strip()]  # as the index splits it
    if not 1 <= sentence <= len(said):
        raise ValueError(f"¶{paragraph} of {episode.id} has sentences 1 to {len(said)}, not {sentence}")
    words = " ".join(said[sentence - 1:sentence - 1 + SENTENCES_AT]).split()[:MAX_QUOTE_WORDS]
    speaker = segments[paragraph - 1].speaker or (episode.speakers[0] if len(episode.speakers) == 1 else None)
    return Quote(text=" ".join(words), episode_id=episode.id, episode_title=episode.title, show=episode.show,
                 speaker=speaker, date=episode.date, start=None, end=None, link=episode_link(episode, None),
                 note=note, tags=tags or [], paragraph=paragraph - 1)


def speaker_at(episode: Episode, timed: list[Segment], at: float) -> str | None:
    """Who is speaking at ``at``: the speaker of the last segment that starts by then (a named one, if that
    segment's speaker is unnamed and the episode has only one)."""
    started = [(s.start, n, s) for n, s in enumerate(timed) if s.start <= at + 0.01]
    current = max(started, key=lambda item: item[:2])[2] if started else None
    if current is not None and current.speaker:
        return current.speaker
    return episode.speakers[0] if len(episode.speakers) == 1 else None


def moment(hit, before: int = 0, after: int = 0) -> tuple[str, float | None, float | None]:
    """A hit's highlighted sentence, widened by ``before`` and ``after`` sentences of its passages (or
    narrowed to its first words, with a negative ``after``): (text, start, end), timed to those sentences."""
    sentences = [(text, start, part) for part, text, start, _ in hit.sentences()]
    at = hit.sentence
    if at is None:
        return " ".join(hit.text.split()), hit.passage_start, hit.end
    end_at = at if hit.span_end is None else hit.span_end
    first, last = max(0, at - max(0, before)), min(len(sentences) - 1, end_at + max(0, after))
    text = " ".join(s[0] for s in sentences[first:last + 1])
    start = hit.start if first == at else (sentences[first][1] if sentences[first][1] is not None else hit.start)
    end = ends_at((s[1] for s in sentences[last + 1:]), start, sentences[last][2].end)
    if start is not None and end is not None and end <= start:
        end = None
    return " ".join(text.split()), start, end


def quote_from_hit(library: Library, hit, text: str | None = None, note: str = "", tags: list[str] | None = None,
                   before: int = 0, after: int = 0) -> Quote:
    """A hit as a quote: the moment it cites (its highlighted sentence, widened by ``before``/``after``
    sentences), timed to it, with the passage kept as context; or the part ``text`` of the passage
    (trimmed, not rewritten), timed to that part."""
    whole = " ".join(hit.text.split())
    if text is None:
        text, start, end = moment(hit, before, after)
    else:
        text, start, end = " ".join(text.split()), hit.passage_start, hit.end
        if text != whole:
            if _norm(text) not in _norm(whole):
                raise ValueError("a quote is a part of the passage: trim its start or end, don't rewrite it")
            segments = library.segments(hit.episode_id)[hit.first_segment:hit.last_segment + 1]
            found = locate(segments, text)
            if found:
                start, end = found
    episode = library.episode(hit.episode_id)
    return Quote(
        text=text, episode_id=hit.episode_id, episode_title=hit.episode_title, show=hit.show, speaker=hit.speaker,
        date=episode.date, start=start, end=end, link=episode_link(episode, start), note=note, tags=tags or [],
        context=whole, paragraph=hit.paragraph if start is None else None,
    )


def quote_from_point(library: Library, point) -> Quote:
    """A key point (index.points.Point) as a quote: its words, cited at its moment."""
    episode = library.episode(point.episode_id)
    return Quote(text=" ".join(point.text.split()), episode_id=point.episode_id, episode_title=point.episode_title,
                 show=point.show, speaker=point.speaker, date=episode.date, start=point.start, end=point.end,
                 link=episode_link(episode, point.start),
                 paragraph=point.cited.paragraph if point.start is None else None)


def locate(segments: list[Segment], text: str) -> tuple[float, float] | None:
    """When ``text`` (a run of the segments' words) starts and ends, from word times where there are some."""
    words = [w for s in segments if s.start is not None for w in (s.words or _spread(s))]
    tokens = [_norm(w.text) for w in words]
    wanted = [t for t in (_norm(w) for w in text.split()) if t]
    if not wanted:
        return None
    tokens_at = [(i, t) for i, t in enumerate(tokens) if t]
    flat = [t for _, t in tokens_at]
    for i in range(len(flat) - len(wanted) + 1):
        if flat[i:i + len(wanted)] == wanted:
            first, last = tokens_at[i][0], tokens_at[i + len(wanted) - 1][0]
            return round(words[first].start, 3), round(words[last].end, 3)
    return None


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())


def episode_link(episode: Episode, start: float | None) -> str | None:
    """Where a quote from ``episode`` plays: its source page, else its audio, when either is on the web."""
    return link(episode.source, start) or link(episode.media, start)


def _until_next(timed: list[Segment], duration: float | None) -> list[Segment]:
    """Segments with a start only (Otter's) last until the next one starts (the last: to the episode's
    end, else at the pace of speech)."""
    out = []
    for n, s in enumerate(timed):
        if s.end is None:
            later = next((t.start for t in timed[n + 1:] if t.start > s.start), None)
            end = later if later is not None else max(s.start, duration or 0) or s.start
            if later is None and end == s.start:
                end = s.start + 0.375 * len(s.text.split())
            s = replace(s, end=end)
        out.append(s)
    return out


def _spread(segment: Segment):
    """A segment without word times, as words spread evenly over its span."""
    words = segment.text.split()
    end = segment.end if segment.end is not None else segment.start
    step = (end - segment.start) / max(1, len(words))
    return [Word(segment.start + i * step, segment.start + (i + 1) * step, w) for i, w in enumerate(words)]


def _quote(row) -> Quote:
    (said, episode_id, title, show, speaker, date, start, end, link, note, tags, id_, position, added_at, context,
     paragraph) = row
    return Quote(text=said, episode_id=episode_id, episode_title=title, show=show, speaker=speaker, date=date,
                 start=start, end=end, link=link, note=note, tags=json.loads(tags), id=id_, position=position,
                 added_at=added_at, context=context, paragraph=paragraph)

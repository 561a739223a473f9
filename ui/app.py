"""The podkb web app (Streamlit): search, read and play an episode at a moment, collect quotes, export them.

Run it with `podkb serve [--kb DIR] [--port N]`; the knowledge base comes from $PODKB_HOME. The page,
the question, the filters, and on the episode page the episode and the moment (t, in seconds) live
in the URL, so a search or a moment is a link to share.
"""
from __future__ import annotations

import json
import mimetypes
import os
import re
import sqlite3
from pathlib import Path

import pandas as pd
import streamlit as st

from podkb import KnowledgeBase
from podkb.index import Filters
from podkb.index.chapters import podcasting20
from podkb.index.keywords import phrases
from podkb.ingest import BadInput, Episode, EpisodeInfo, format_timestamp
from podkb.ingest.audio import AUDIO_SUFFIXES, probe
from podkb.cluster import ClusterError
from podkb.ingest.errors import StoreError, store_problem
from podkb.ingest.feeds import FeedOptions
from podkb.ingest.formats import labels
from podkb.ingest.importer import SUFFIXES
from podkb.ingest.timecode import check_date
from podkb.index.hits import said_at
from podkb.index.points import NO_ANSWER
from podkb.events import Done, Indexing, Outcome, Transcribing
from podkb.knowledgebase import NotIndexed, home
from podkb.ui.exports import FORMATS, export, file_name, md as markdown_text
from podkb.collections import AlreadySaved, moment, parse_tags
from podkb.ui.web import (scroll_to, seconds_of, EXAMPLES, FOLLOW, STYLE, chapters_html, context_html, e, hit_html, moment_url,
                          natural, playback, point_html, save_upload, segment_at, transcript_html)

KB = str(home())  # $PODKB_HOME (podkb serve --kb sets it), else the user's app folder
PAGES = ("Search", "Episode", "Library", "Collections")
TRANSCRIPT_LINES = 300  # segments of an episode shown at a time
FILTER_KEYS = ("show", "in_episode", "speaker", "from", "to")  # "episode" and "t" are the Episode page's
ALL = "All"


# Streamlit's Markdown makes links of bare URLs and e-mail addresses after parsing, whatever is escaped:
# a word joiner (U+2060, invisible) after "http", "www" or before "@" keeps them text.
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|www)(?=\\?[:.])|(?=@)")


def md(text: str | None) -> str:
    """Text for st.markdown, st.title and captions that shows as written: exports.md's escapes, no links."""
    return _AUTOLINK.sub(lambda m: (m.group(1) or "") + "\u2060", markdown_text(text))


@st.cache_resource(show_spinner="Opening the knowledge base…")
def knowledge_base(path: str) -> KnowledgeBase:
    """One per knowledge base and server: every session shares its connection and its loaded models."""
    return KnowledgeBase(path)


def say(kind: str, text: str) -> None:
    """st.success/info/warning/error with the text escaped: it may quote a file name or a transcript."""
    getattr(st, kind)(md(text))


def say_after_rerun(kind: str, text: str) -> None:
    """``say`` it on the next run, which this one starts: a change shows at once, with its message."""
    st.session_state["said"] = (kind, text)
    st.rerun()


def said() -> None:
    """What the run before asked to say (say_after_rerun)."""
    if "said" in st.session_state:
        say(*st.session_state.pop("said"))


# Query parameters: the page, the question and the filters live in the URL, so a search is a link.

def from_url(key: str, default: str = "") -> None:
    if key not in st.session_state:
        st.session_state[key] = st.query_params.get(key, default)


def to_url(values: dict[str, str]) -> None:
    for key, value in values.items():
        if value and value != ALL:
            if st.query_params.get(key) != value:
                st.query_params[key] = value
        elif key in st.query_params:
            del st.query_params[key]


# Search

def sidebar_filters(episodes: list[Episode]) -> Filters:
    shows = sorted({ep.show for ep in episodes if ep.show})
    for key in FILTER_KEYS:
        from_url(key, ALL if key in ("show", "in_episode", "speaker") else "")
    st.sidebar.header("Filters")
    if st.session_state.show not in [ALL, *shows]:
        st.session_state.show = ALL
    show = st.sidebar.selectbox("Show", [ALL, *shows], key="show")
    in_show = [ep for ep in episodes if show == ALL or ep.show == show]
    titles = {ep.id: ep.title for ep in in_show}
    if st.session_state.in_episode not in [ALL, *titles]:
        st.session_state.in_episode = ALL
    ordered = sorted(titles, key=lambda ref: natural(titles[ref]))
    episode = st.sidebar.selectbox("Episode", [ALL, *ordered], key="in_episode",
                                   format_func=lambda ref: ref if ref == ALL else titles[ref])
    speakers = sorted({s for ep in in_show for s in ep.speakers})
    if st.session_state.speaker not in [ALL, *speakers]:
        st.session_state.speaker = ALL
    speaker = st.sidebar.selectbox("Speaker", [ALL, *speakers], key="speaker")
    if any(ep.date for ep in episodes):
        date_from = st.sidebar.text_input("From date", key="from", placeholder="YYYY or YYYY-MM-DD").strip()
        date_to = st.sidebar.text_input("To date", key="to", placeholder="YYYY or YYYY-MM-DD").strip()
    else:  # no episode has a date: a date filter could only ever find nothing
        date_from = date_to = ""
    dates = {}
    for label, value in (("From date", date_from), ("To date", date_to)):
        try:
            dates[label] = check_date(value) if value else None
        except ValueError as error:
            dates[label] = None
            st.sidebar.warning(md(f"{label}: {error}"))
    to_url({"show": show, "in_episode": episode, "speaker": speaker, "from": date_from, "to": date_to})
    return Filters(show=None if show == ALL else show, episode=None if episode == ALL else episode,
                   speaker=None if speaker == ALL else speaker, date_from=dates["From date"],
                   date_to=dates["To date"])


def ask(question: str) -> None:
    st.session_state.q = question


def search_page(kb: KnowledgeBase) -> None:
    opened = st.session_state.pop("open-hit", None)  # "Open episode" of the run before: this tab goes there
    if opened:
        open_episode(*opened)
    st.title("Search")
    episodes = kb.episodes()
    if not episodes:
        st.info("The knowledge base is empty. Add transcripts, audio or a feed on the Library page "
                "(or run `podkb add transcripts/`).")
        return
    from_url("q")
    filters = sidebar_filters(episodes)
    k = st.sidebar.slider("Hits", 3, 20, 8)
    examples = kb.examples(4) or list(EXAMPLES)
    st.text_input("Ask a question", key="q", placeholder=f"e.g. {examples[0]}")
    # Wrapped, each as wide as its words, two of them on a phone (web.STYLE): not a screen of buttons.
    with st.container(horizontal=True, key="examples", gap="small"):
        for example in examples:
            st.button(example, on_click=ask, args=(example,), key=f"example-{example}", help=example)
    query = st.session_state.q.strip()
    to_url({"q": query})
    if not query:
        st.caption("Ask in your own words, or try an example. Each hit cites its episode, speaker and moment.")
        return
    if not re.search(r"\w", query):
        st.warning("That question has no words to search for. Try something like “how to avoid burnout”.")
        return
    answer = kb.ask(query[:1000], k=k, filters=filters)
    hits = answer.hits
    if not hits:
        quoted, _ = phrases(query)
        st.info(md(f"No passage says “{'” and “'.join(quoted)}” word for word. Without the quotes, its words "
                   "are searched by meaning.") if quoted else
                "No passages found. Try other words, or clear the filters in the sidebar.")
        return
    by_id = {ep.id: ep for ep in episodes}
    if answer.answered:
        show_points(kb, answer.points)
    else:
        st.warning(NO_ANSWER)
    # After the points: a point saved in this run may have made a collection, and the save forms'
    # help lists them; a form drawn with stale help changes identity and loses what was typed in it.
    names = [name for name, _ in kb.collections.names()]
    segments: dict[str, list] = {}  # several hits often come from one episode: read its segments once
    for n, hit in enumerate(hits, 1):
        if hit.episode_id not in segments:
            segments[hit.episode_id] = kb.segments(hit.episode_id)
        show_hit(kb, n, hit, by_id[hit.episode_id], segments[hit.episode_id], names, weak=not answer.answered)


def show_points(kb: KnowledgeBase, points) -> None:
    """The key points: distinct answers, each cited, each saved to the current collection in one click."""
    if not points:
        return
    with st.container(border=True):
        st.subheader("Key points")
        for n, point in enumerate(points, 1):
            text, save = st.columns([9, 2])
            text.html(point_html(n, point))
            if save.button("Save", key=f"point-{point.passage_id}-{n}", width="stretch",
                           help="Into the collection you saved to last (Favourites at first)"):
                collection = st.session_state.get("last_collection", "Favourites")
                try:
                    saved = kb.save_point(collection, point)
                except (ValueError, LookupError) as error:
                    say("error", str(error))
                else:
                    say("success", f"Saved to {collection} (quote {saved.id}, {saved.citation}).")


def show_hit(kb: KnowledgeBase, n: int, hit, episode: Episode, segments: list, names: list[str],
             weak: bool = False) -> None:
    with st.container(border=True):
        if weak:
            st.caption("Weak match: near the question's words, not an answer to it")
        st.html(hit_html(n, hit))
        play = playback(episode.media, episode.source, hit.start)
        left, episode_column, right = st.columns(3)
        with left:
            if play.audio and hit.start is not None:
                if st.toggle(f"▶ Play from {format_timestamp(hit.start, missing='')}", key=f"play-{hit.passage_id}"):
                    kind = mimetypes.guess_type(play.audio)[0] or "audio/mpeg"
                    st.audio(play.audio, format=kind, start_time=play.start, autoplay=True)
            elif play.link:
                label = f"▶ Play from {format_timestamp(hit.start, missing='')}" if hit.start is not None else "Open the source"
                st.link_button(label, play.link)
        with episode_column:  # in this tab, at this moment (a link button would open a new tab each time)
            st.button("Open episode", key=f"open-{n}-{hit.passage_id}", width="stretch", on_click=open_hit,
                      args=(hit.episode_id, hit.start),
                      help="The whole transcript, its chapters and its audio, from this moment")
        with right, st.popover("Save quote", width="stretch"):
            save_form(kb, hit, names)
        with st.expander("Context"):  # the card's whole width: a few turns read as lines, not a column
            st.html(context_html(segments, hit.first_segment, hit.last_segment))
            st.caption(f"Share this moment: {share_url(hit.episode_id, hit.start)}")


def open_hit(episode_id: str, start: float | None) -> None:
    """A hit's "Open episode": remembered for the next run, which goes there (a callback can't rerun)."""
    st.session_state["open-hit"] = (episode_id, start)


def share_url(episode_id: str, start: float | None) -> str:
    """The moment's link, whole, to send to someone: the episode page at ``start``."""
    base = (getattr(st.context, "url", None) or "").split("?")[0]
    return moment_url(episode_id, start, base)


def save_form(kb: KnowledgeBase, hit, names: list[str]) -> None:
    """Save the moment a hit cites: its sentence, widened or narrowed by whole sentences first; the same
    moment twice asks before saving it again or merging the two."""
    key = f"save-{hit.passage_id}"
    collection = st.text_input("Collection", value=st.session_state.get("last_collection", "Favourites"),
                               key=f"{key}-collection",
                               help=("Existing: " + ", ".join(names)) if names else "A new name creates it.")
    before, after = st.columns(2)
    more_before = before.number_input("Sentences before", 0, 5, 0, key=f"{key}-before")
    more_after = after.number_input("Sentences after", 0, 5, 0, key=f"{key}-after")
    text, start, _ = moment(hit, int(more_before), int(more_after))
    st.caption(md(f"{format_timestamp(start, missing='')} · {hit.speaker or ''}".strip(" ·")))
    st.html(f'<div class="podkb-preview">“{e(text)}”</div>')
    note = st.text_input("Note", key=f"{key}-note")
    tags = st.text_input("Tags", placeholder="focus, habits", key=f"{key}-tags")
    again = "ask" if st.button("Save to collection", key=f"{key}-save") else None
    pending = st.session_state.get(f"{key}-pending")
    if pending:
        say("warning", pending)
        keep, merge = st.columns(2)
        if keep.button("Save it again", key=f"{key}-keep"):
            again = "keep"
        if merge.button("Merge the two", key=f"{key}-merge"):
            again = "merge"
    if again is None:
        return
    st.session_state.pop(f"{key}-pending", None)
    try:
        saved = kb.save_hit(collection, hit, note=note, tags=parse_tags(tags), before=int(more_before),
                            after=int(more_after), again=again)
    except AlreadySaved as already:
        st.session_state[f"{key}-pending"] = f"{already}. Save this one too, or merge the two?"
        st.rerun()
    except (ValueError, LookupError) as error:
        say("error", str(error))
        return
    st.session_state.last_collection = collection.strip()
    say("success", f"Saved to {collection.strip()} (quote {saved.id}, {saved.citation}).")


# Episode

def episode_page(kb: KnowledgeBase) -> None:
    """An episode whole: its transcript by turns, its chapters, its audio, from the moment in the URL."""
    episodes = sorted(kb.episodes(), key=lambda ep: natural(ep.title))
    if not episodes:
        st.info("The knowledge base is empty. Add episodes on the Library page.")
        return
    titles = {ep.id: ep.title for ep in episodes}
    from_url("episode", episodes[0].id)
    if st.session_state.episode not in titles:
        st.session_state.episode = episodes[0].id
    chosen = st.sidebar.selectbox("Episode", list(titles), key="episode", format_func=titles.get)
    start = seconds_of(st.query_params.get("t"))
    if st.session_state.get("shown_episode") != chosen:
        st.session_state.shown_episode = chosen
        if st.query_params.get("episode") != chosen:
            start = None  # another episode was picked: from its beginning
    to_url({"episode": chosen, "t": str(int(start)) if start is not None else ""})
    episode = kb.episode(chosen)
    segments = kb.segments(chosen)
    st.title(md(episode.title))  # a title from a feed or `podkb edit` is text, never Markdown or a link
    said()
    st.caption(md(" · ".join(part for part in (episode.show, episode.date, ", ".join(episode.speakers),
                                               format_timestamp(episode.duration, missing='')) if part)))
    play = playback(episode.media, episode.source, start)
    follow = False
    if play.audio:
        kind = mimetypes.guess_type(play.audio)[0] or "audio/mpeg"
        st.audio(play.audio, format=kind, start_time=play.start, autoplay=start is not None)
        st.html(FOLLOW, unsafe_allow_javascript=True)  # a line's time plays from there; the line heard is marked
        follow = st.toggle("Follow along", value=True, key="follow",
                           help="Keep the line being heard in view while it plays")
    elif play.link:
        st.link_button(f"▶ Open the source at {format_timestamp(start, missing='')}" if start is not None else "▶ Open the source", play.link)
    else:
        st.caption("No recording for this episode yet: attach one on the Library page, and every moment plays.")
    chapters, transcript = st.columns([1, 2])
    with chapters:
        st.subheader("Chapters")
        found = kb.chapters(chosen)
        if found:
            st.html(chapters_html(chosen, found))
            st.download_button("Chapters (Podcasting 2.0 JSON)", json.dumps(podcasting20(found), indent=2, ensure_ascii=False), file_name=f"{chosen}.chapters.json",
                               mime="application/json+chapters", key="chapters-download", on_click="ignore")
        else:
            st.caption("No chapters yet: they are found when the episode is indexed.")
        edit_forms(kb, episode)
    with transcript:
        st.subheader("Transcript")
        words = st.text_input("Find in this episode", key="find-in-episode").split()
        here = segment_at(segments, start)
        if words:
            wanted = [w.lower() for w in words]
            lines = [i for i, s in enumerate(segments) if all(w in s.text.lower() for w in wanted)]
            st.caption(md(f"{len(lines)} of {len(segments)} lines say {' '.join(words)!r}"))
            st.html("".join(transcript_html(chosen, segments, i, i, here, words) for i in lines[:TRANSCRIPT_LINES]))
            return
        first = max(0, (here or 0) - 5)
        if first:
            st.caption(f"From {said_at(segments[first].start, first)}. "
                       "[From the beginning](" + moment_url(chosen) + ")")
        st.html(transcript_html(chosen, segments, first, first + TRANSCRIPT_LINES - 1, here, follow=follow))
        if here is not None and start is not None:  # the moment asked for, in view (a chapter's link too)
            st.html(scroll_to(here, f"{chosen}@{start:g}"), unsafe_allow_javascript=True)
        if first + TRANSCRIPT_LINES < len(segments):
            later = segments[first + TRANSCRIPT_LINES]
            st.markdown(f"[Later: {format_timestamp(later.start, missing='') or 'more'} →]({moment_url(chosen, later.start)})")


def edit_forms(kb: KnowledgeBase, episode: Episode) -> None:
    """Correct an episode's title, date and show, and rename its speakers (nothing is embedded again)."""
    with st.expander("Edit this episode"):
        with st.form(f"edit-{episode.id}"):
            title = st.text_input("Title", value=episode.title)
            show = st.text_input("Show", value=episode.show or "")
            date = st.text_input("Date", value=episode.date or "", placeholder="YYYY-MM-DD")
            if st.form_submit_button("Save"):
                try:
                    kb.edit(episode.id, title=title, show=show, date=date)
                except ValueError as error:
                    say("error", str(error))
                else:
                    say_after_rerun("success", "Saved.")
        speakers = list(kb.speakers(episode=episode.id))
        voice_offers(kb, episode)
        if speakers:
            with st.form(f"rename-{episode.id}"):
                old = st.selectbox("Speaker", speakers, key=f"rename-old-{episode.id}")
                new = st.text_input("New name", key=f"rename-new-{episode.id}")
                whole_show = st.checkbox(f"In every episode of {episode.show}", disabled=not episode.show,
                                         key=f"rename-show-{episode.id}")
                if st.form_submit_button("Rename"):
                    try:
                        n = kb.rename_speaker(old, new, episode=None if whole_show else episode.id,
                                              show=episode.show if whole_show else None)
                    except (ValueError, LookupError) as error:
                        say("error", str(error))
                    else:  # the transcript and chapters above are drawn again with the new name
                        say_after_rerun("success", f"Renamed {old} to {new.strip()} in {n} lines.")


def voice_offers(kb: KnowledgeBase, episode: Episode) -> None:
    """Each of this episode's voices that may be someone known: "this may be X", with a button that
    names it so (and the same voice in the show's other episodes)."""
    for person in kb.voices(episode=episode.id):
        for heard in person.heard:
            if heard.how != "may be" or heard.voice.episode_id != episode.id or not person.name:
                continue
            say("info", f"{heard.voice.speaker} may be {person.name} (voice match {heard.score:.2f}).")
            if st.button(md(f"Yes, {heard.voice.speaker} is {person.name}"),
                         key=f"accept-{episode.id}-{heard.voice.speaker}"):
                try:
                    kb.rename_voice(episode.id, heard.voice.speaker, person.name)
                except (ValueError, LookupError) as error:
                    say("error", str(error))
                else:
                    say_after_rerun("success", f"Named {heard.voice.speaker} {person.name}.")


# Library

def library_page(kb: KnowledgeBase) -> None:
    st.title("Library")
    episodes = sorted(kb.episodes(), key=lambda ep: natural(ep.title))  # E9 before E10 before E100
    counts = kb.passage_counts()
    titles = {ep.id: ep.title for ep in episodes}
    if episodes:
        table = pd.DataFrame([{
            "#": n, "Episode": ep.title, "Show": ep.show or "", "Date": ep.date or "",
            "Duration": format_timestamp(ep.duration) if ep.duration is not None else "untimed",
            "Passages": counts.get(ep.id, 0), "Speakers": ", ".join(ep.speakers), "Audio": "yes" if ep.media else "",
            "Duplicate of": (f"{titles.get(ep.duplicate_of, ep.duplicate_of)} ({ep.similarity:.0%} shared)"
                             if ep.duplicate_of else ""),
            "Format": ep.format or "", "Source": ep.source or "", "id": ep.id,
        } for n, ep in enumerate(episodes, 1)])
        empty = [c for c in table.columns if c not in ("#", "Episode", "id") and (table[c] == "").all()]
        table = table.drop(columns=empty)
        st.caption("Click a column to sort by it, a row to open the episode.")
        picked = st.dataframe(table, hide_index=True, width="stretch", height=min(36 * (len(table) + 1) + 4, 1800),
                              on_select="rerun", selection_mode=["single-row", "single-cell"], key="library-table")
        # A click on any cell opens its row's episode, as does ticking the row.
        rows = [*picked.selection.rows, *(row for row, _ in picked.selection.cells)] if picked is not None else []
        if rows:
            open_episode(table.iloc[rows[0]]["id"])
    else:
        st.info("No episodes yet. Upload a transcript or audio file, or follow a feed.")
    with st.expander("Settings"):
        st.text_input("Ray cluster for transcription and embedding", key="ray", placeholder="e.g. 10.0.0.5:6379",
                      help="Blank: this machine. Otherwise what ray.init takes (auto, HOST:PORT, ray://HOST:10001), "
                           "or 'local' for a private cluster here. Needs podkb[ray] on every machine.")
    left, right = st.columns(2)
    with left:
        upload_form(kb)
    with right:
        feed_form(kb)
        attach_form(kb, episodes)
        remove_form(kb, episodes)


def open_episode(episode_id: str, start: float | None = None) -> None:
    """Go to the episode page (at a moment), as a link there would: on the next run, before the page
    picker is drawn (a widget's value can't be set once it is)."""
    st.session_state.goto = {"page": "Episode", "episode": episode_id, **({"t": str(int(start))} if start else {})}
    st.rerun()


def follow_goto() -> None:
    goto = st.session_state.pop("goto", None)
    if goto:
        st.session_state.page = goto["page"]
        st.session_state.episode = goto["episode"]
        st.session_state.pop("library-table", None)
        st.query_params.clear()
        st.query_params.update(goto)


def upload_form(kb: KnowledgeBase) -> None:
    st.subheader("Add episodes")
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader("Transcripts or audio", accept_multiple_files=True,
                                 type=sorted(s.lstrip(".") for s in SUFFIXES),
                                 help=f"Transcripts: {labels()}, detected from the content. Audio "
                                      f"({', '.join(sorted(s.lstrip('.') for s in AUDIO_SUFFIXES))}) is "
                                      "transcribed with Whisper.")
        title = st.text_input("Title (optional)")
        show = st.text_input("Show (optional)")
        speaker = st.text_input("Speaker (optional)")
        submitted = st.form_submit_button("Add")
    if submitted and files:
        info = EpisodeInfo(title=title or None, show=show or None, speakers=[speaker] if speaker else [])
        paths = []
        for upload in files:
            try:
                paths.append(str(save_upload(kb.path, upload.name, upload.getvalue())))
            except ValueError as error:
                say("error", f"{upload.name}: {error}")
        outcomes = run_import(kb, lambda: kb.add_events(paths, info, ray=cluster()))
        kept = {outcome.path for outcome in outcomes if keeps_upload(outcome)}
        for path in paths:
            if path not in kept:
                Path(path).unlink(missing_ok=True)  # a rejected or redundant upload leaves nothing behind


def keeps_upload(outcome) -> bool:
    """Whether an uploaded file is now an episode's (its transcript or its audio)."""
    if outcome.error or outcome.result is None:
        return False
    episode = outcome.result.episode
    return str(Path(outcome.path).resolve()) in (episode.path, episode.media)


def feed_form(kb: KnowledgeBase) -> None:
    st.subheader("Follow a podcast feed")
    with st.form("feed"):
        url = st.text_input("Feed URL", placeholder="https://example.org/podcast.rss")
        limit = st.number_input("Newest episodes to add", min_value=1, max_value=500, value=5)
        local = st.checkbox("The feed is on my own network", value=FeedOptions().allow_private,
                            help="Also fetch from this machine and private network addresses. Otherwise only "
                                 "public addresses are fetched, so a feed can't point podkb at your network.")
        submitted = st.form_submit_button("Follow")
    if submitted and url.strip():
        options = FeedOptions(limit=int(limit), allow_private=local)
        run_import(kb, lambda: kb.follow_events(url.strip(), options=options, ray=cluster()))


def shown(kb: KnowledgeBase, text: str) -> str:
    """Text for the page with the server's own folders left out: names relative to the knowledge base."""
    where = str(kb.path.resolve())
    return text.replace(where + os.sep, "").replace(where, "the knowledge base")


class Page:
    """A job's events on the page (podkb/events.py): one message per file, ``st.progress`` for
    transcription and indexing."""

    def __init__(self, kb: KnowledgeBase, bar):
        self.kb, self.bar, self.failed = kb, bar, 0
        self.began: float | None = None

    def run(self, events) -> Done | None:
        """Drive a job, showing each event; its ``Done``."""
        done = None
        for event in events:
            if isinstance(event, Outcome):
                self.outcome(event)
            elif isinstance(event, Transcribing):
                self.transcribing(event)
            elif isinstance(event, Indexing):
                self.indexing(event)
            elif isinstance(event, Done):
                done = event
                if event.report is not None:
                    self.bar.progress(1.0, text=f"Indexed {event.report.episodes} episodes, "
                                                f"{event.report.passages} passages")
        return done

    def outcome(self, outcome) -> None:
        for warning in outcome.warnings:
            say("warning", shown(self.kb, f"{outcome.path}: {warning}"))
        if outcome.error:
            self.failed += 1
            say("error", shown(self.kb, f"{outcome.path}: {outcome.error}"))
        else:
            ep = outcome.result.episode
            say("success", f"{outcome.result.status}: {ep.title} ({ep.segment_count} segments)")

    def transcribing(self, event: Transcribing) -> None:
        share = min(1.0, event.done / max(event.total, 1e-9))
        stage = "Transcribing" if event.stage == "transcribing" else f"{event.stage.capitalize()} in"
        self.bar.progress(share, text=f"{stage} {event.name}: "
                                      f"{format_timestamp(event.done)} of {format_timestamp(event.total)}")

    def indexing(self, event: Indexing) -> None:
        import time

        done, total, passages = event.done, event.total, event.passages
        if not done or self.began is None:
            self.began = time.monotonic()
        took = time.monotonic() - self.began
        rate = f", {passages / took:.1f} passages/s" if passages and took > 0 else ""
        left = f", about {format_timestamp(took / done * (total - done))} left" if done and done < total else ""
        self.bar.progress(min(1.0, done / max(total, 1)),
                          text=f"Indexing: {done} of {total} episodes, {passages:,} passages{rate}{left}")


def cluster() -> str | None:
    """The Ray cluster chosen in the Library page's settings; None: transcribe in this process."""
    return (st.session_state.get("ray") or "").strip() or None


def run_import(kb: KnowledgeBase, events) -> list:
    """Run an import (``events()``: an add's or follow's), showing each file's outcome and the indexing
    after it; the outcomes."""
    with st.status("Adding…", expanded=True) as status:
        page = Page(kb, st.progress(0.0))
        try:
            done = list(page.run(events()).outcomes)
        except NotIndexed as error:
            page.failed += 1
            say("error", shown(kb, str(error)))
            done = error.outcomes
        except ClusterError as error:  # before any work
            page.failed += 1
            say("error", str(error))
            done = []
        status.update(label="Done" if not page.failed else f"Done, {page.failed} failed",
                      state="complete" if not page.failed else "error")
    return done


def attach_form(kb: KnowledgeBase, episodes) -> None:
    """Give a transcript its recording, so its hits play from their moment."""
    st.subheader("Attach audio to an episode")
    if not episodes:
        return
    titles = {ep.id: ep.title + (" (has audio)" if ep.media else "") for ep in episodes}
    with st.form("attach", clear_on_submit=True):
        chosen = st.selectbox("Episode", list(titles), format_func=titles.get, key="attach-choice")
        upload = st.file_uploader("Its audio", type=sorted(s.lstrip(".") for s in AUDIO_SUFFIXES))
        submitted = st.form_submit_button("Attach")
    if submitted and upload:
        path = None
        try:
            path = save_upload(kb.path, upload.name, upload.getvalue())
            probe(str(path))
            kb.set_media(chosen, str(path))
        except (ValueError, LookupError, BadInput) as error:
            if path is not None:
                path.unlink(missing_ok=True)  # a rejected upload leaves nothing behind
            say("error", f"{upload.name}: {error}")
            return
        say("success", f"{titles[chosen]} now plays from {path.name}.")


def remove_form(kb: KnowledgeBase, episodes) -> None:
    st.subheader("Remove an episode")
    if not episodes:
        return
    titles = {ep.id: ep.title for ep in episodes}
    chosen = st.selectbox("Episode", list(titles), format_func=lambda ref: titles[ref], key="remove-choice")
    if st.button("Remove…"):
        st.session_state.confirm_remove = chosen
    pending = st.session_state.get("confirm_remove")
    if pending in titles:
        say("warning", f"Remove “{titles[pending]}” and its passages? Quotes saved from it stay in their collections.")
        yes, no = st.columns(2)
        if yes.button("Yes, remove", type="primary"):
            kb.remove(pending)
            del st.session_state.confirm_remove
            st.rerun()
        if no.button("Cancel"):
            del st.session_state.confirm_remove
            st.rerun()


# Collections

def collections_page(kb: KnowledgeBase) -> None:
    st.title("Collections")
    store = kb.collections
    with st.sidebar.form("new-collection", clear_on_submit=True):
        name = st.text_input("New collection")
        if st.form_submit_button("Create") and name.strip():
            try:
                store.create(name)
            except ValueError as error:
                say("error", str(error))
    names = store.names()
    if not names:
        st.info("No collections yet. Save a hit from the Search page with “Save quote”.")
        return
    labels = {n: f"{n} ({count})" for n, count in names}
    if st.session_state.get("collection") not in labels:
        st.session_state.collection = names[0][0]
    name = st.selectbox("Collection", list(labels), format_func=labels.get, key="collection")
    quotes = store.quotes(name)
    media = {episode.id: episode.media for episode in kb.episodes()}
    if quotes:
        st.write("Download")
        cols = st.columns(len(FORMATS))
        for col, fmt in zip(cols, FORMATS.values()):
            col.download_button(fmt.label, export(name, quotes, fmt.name), file_name=file_name(name, fmt.name),
                                mime=fmt.mime, key=f"download-{fmt.name}", on_click="ignore")
        if any(q.start is not None and media.get(q.episode_id) for q in quotes):
            clips_download(name, quotes, media)
    else:
        st.caption("This collection is empty.")
    for n, quote in enumerate(quotes):
        with st.container(border=True):
            st.html(quote_html(quote))
            play_quote(quote, media.get(quote.episode_id))
            up, down, delete, _ = st.columns([1, 1, 1, 5])
            if up.button("↑", key=f"up-{quote.id}", disabled=n == 0, help="Move up"):
                store.move(quote.id, -1)
                st.rerun()
            if down.button("↓", key=f"down-{quote.id}", disabled=n == len(quotes) - 1, help="Move down"):
                store.move(quote.id, 1)
                st.rerun()
            if delete.button("Delete", key=f"delete-{quote.id}"):
                store.remove(quote.id)
                st.rerun()
    if st.button("Delete this collection…"):
        st.session_state.confirm_delete = name
    if st.session_state.get("confirm_delete") == name:
        say("warning", f"Delete the collection “{name}” and its {len(quotes)} quotes?")
        if st.button("Yes, delete it", type="primary"):
            store.delete(name)
            del st.session_state.confirm_delete
            st.rerun()


def clips_download(name: str, quotes, media: dict) -> None:
    """An export with each quote's audio clip, as a zip: the file and its clips/ folder, cut on request."""
    from podkb.ui.exports import WITH_CLIPS, zip_name, zip_with_clips

    with st.expander("Download with audio clips (zip)"):
        fmt = st.selectbox("Format", WITH_CLIPS, format_func=lambda f: FORMATS[f].label, key="clips-format")
        wanted = (name, fmt, tuple((q.id, q.start, q.end) for q in quotes))
        if st.button("Cut the clips", key="cut-clips"):
            with st.spinner("Cutting the clips…"):
                st.session_state.clips_zip = (wanted, *zip_with_clips(name, quotes, fmt, media))
        made = st.session_state.get("clips_zip")
        if made and made[0] == wanted:
            for warning in made[2]:
                st.warning(md(warning))
            st.download_button(f"{FORMATS[fmt].label} with clips", made[1], file_name=zip_name(name, fmt),
                               mime="application/zip", key="download-clips", on_click="ignore")
            st.caption("Unzip it where you keep your notes; for Anki, copy clips/ into the profile's collection.media.")


def play_quote(quote, recording: str | None) -> None:
    """The quote's moment to listen to: its clip, cut from a recording on this machine; or the recording
    on the web, from the quote's start to its end."""
    from podkb.clips import ClipError, encoding, is_url

    if quote.start is None or not recording:
        return
    if is_url(recording):
        end = int(quote.end) + 1 if quote.end is not None else None
        st.audio(recording, format=mimetypes.guess_type(recording)[0] or "audio/mpeg", start_time=int(quote.start),
                 end_time=end)
        return
    try:
        st.audio(clip_audio(recording, quote.start, quote.end, os.stat(recording).st_mtime), format=encoding().mime)
    except (ClipError, OSError) as error:
        st.caption(md(f"No clip from {recording}: {getattr(error, 'strerror', None) or error}"))


@st.cache_data(max_entries=200, show_spinner=False)
def clip_audio(recording: str, start: float, end: float | None, modified: float) -> bytes:
    """A quote's clip (podkb/clips.py), cut once per recording version (``modified``) and moment."""
    import tempfile

    from podkb.clips import cut, encoding

    with tempfile.TemporaryDirectory(prefix="podkb-clip-") as folder:
        return cut(recording, start, end, Path(folder) / f"clip{encoding().suffix}").read_bytes()


def quote_html(quote) -> str:
    link = f' · <a href="{e(quote.link)}" target="_blank" rel="noopener noreferrer">source</a>' if quote.link else ""
    note = f'<div class="also">Note: {e(quote.note)}</div>' if quote.note else ""
    tags = f'<div class="also">Tags: {e(", ".join(quote.tags))}</div>' if quote.tags else ""
    cite = quote.cited.format(e, lambda when: f'<span class="ts">{e(when)}</span>', sep=" · ")
    return (f'<div class="podkb-hit"><div>“{e(quote.text)}”</div>'
            f'<div class="cite">{cite}{link}</div>{note}{tags}</div>')


# The page

def ensure_indexed(kb: KnowledgeBase) -> None:
    """On first start (or after an import elsewhere left episodes unindexed), index them with a progress bar."""
    stale = kb.stale()
    if not stale:
        return
    with st.status(f"Building the knowledge base: indexing {len(stale)} episodes…", expanded=True) as status:
        Page(kb, st.progress(0.0)).run(kb.sync_events())
        status.update(label="Knowledge base ready", state="complete", expanded=False)


def main() -> None:
    st.set_page_config(page_title="podkb", page_icon="🎧", layout="wide")
    st.html(STYLE)
    follow_goto()
    from_url("page", PAGES[0])
    if st.session_state.page not in PAGES:
        st.session_state.page = PAGES[0]
    st.sidebar.title("podkb")
    page = st.sidebar.radio("Page", PAGES, key="page", label_visibility="collapsed")
    to_url({"page": "" if page == PAGES[0] else page})
    if page != "Episode":
        to_url({"episode": "", "t": ""})
    try:
        kb = knowledge_base(KB)
    except (StoreError, sqlite3.Error, OSError) as error:
        st.error(md(store_problem(KB, error)))
        return
    try:
        ensure_indexed(kb)
        episodes, passages = kb.counts()
        st.sidebar.caption(f"{episodes} episodes · {passages} passages")
        if page == "Search":
            search_page(kb)
        elif page == "Episode":
            episode_page(kb)
        elif page == "Library":
            library_page(kb)
        else:
            collections_page(kb)
    except (StoreError, sqlite3.Error, OSError) as error:
        st.error(md(shown(kb, store_problem(KB, error))))


main()

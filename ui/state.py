"""What every page of the web app shares: the knowledge base, the URL and the session, messages, and the
rendering of a long job's events.

A page's state lives in its URL (the question and filters of Search, the episode and moment of
Episode), so a search or a moment is a link to share; widgets read it from there on first use and
write it back as they change. The pages (ui/pages/) import this module and ui/web.py; nothing here
imports a page, and app.py only names them.
"""
from __future__ import annotations

import os
import re
import time

import streamlit as st

from podkb import ClusterError, KnowledgeBase, NotIndexed, format_timestamp, home, store_problem
from podkb.events import Done, Indexing, Outcome, Transcribing

from .exports import md as markdown_text

ALL = "All"
# The pages, as app.py registers them (paths relative to it) and as links name them.
PAGES = {"Search": "pages/search.py", "Episode": "pages/episode.py", "Library": "pages/library.py",
         "Collections": "pages/collections.py"}

# Streamlit's Markdown makes links of bare URLs and e-mail addresses after parsing, whatever is escaped:
# a word joiner (U+2060, invisible) after "http", "www" or before "@" keeps them text.
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|www)(?=\\?[:.])|(?=@)")


@st.cache_resource(show_spinner="Opening the knowledge base…")
def _opened(path: str) -> KnowledgeBase:
    return KnowledgeBase(path)


def knowledge_base() -> KnowledgeBase:
    """The knowledge base in $PODKB_HOME (``podkb serve --kb`` sets it), else in the user's app folder: one
    per knowledge base and server, every session sharing its connection and its loaded models."""
    return _opened(str(home()))


def md(text: str | None) -> str:
    """Text for st.markdown, st.title and captions that shows as written: exports.md's escapes, no links."""
    return _AUTOLINK.sub(lambda m: (m.group(1) or "") + "\u2060", markdown_text(text))


def say(kind: str, text: str) -> None:
    """st.success/info/warning/error with the text escaped: it may quote a file name or a transcript."""
    getattr(st, kind)(md(text))


def say_after_rerun(kind: str, text: str) -> None:
    """``say`` it on the next run, which this one starts: a change shows at once, with its message."""
    st.session_state["said"] = (kind, text)
    st.rerun()


def said() -> None:
    """What the run before asked to say (say_after_rerun): at the top of the page, and as a toast, which shows
    wherever the page is scrolled (a form far down the page, as the Episode page's rename, stays in view)."""
    if "said" in st.session_state:
        kind, text = st.session_state.pop("said")
        say(kind, text)
        st.toast(md(text), icon="✅" if kind == "success" else None)


def shown(kb: KnowledgeBase, text: str) -> str:
    """Text for the page with the server's own folders left out: names relative to the knowledge base."""
    where = str(kb.path.resolve())
    return text.replace(where + os.sep, "").replace(where, "the knowledge base")


def problem(kb: KnowledgeBase | None, error: Exception) -> None:
    """A fault of the store itself (damaged, read-only, a full disk) as one message on the page."""
    text = store_problem(str(home()), error)
    st.error(md(shown(kb, text) if kb is not None else text))


# The URL

def from_url(key: str, default: str = "") -> None:
    """A widget's value from the URL (or the page's last visit), the first time the widget is drawn."""
    if key not in st.session_state:
        st.session_state[key] = st.query_params.get(key, st.session_state.get("kept", {}).get(key, default))


def to_url(values: dict[str, str]) -> None:
    """Put the page's state in its URL (an empty value or ALL leaves it out), and keep it for the page's
    next visit (the URL of another page does not hold it)."""
    st.session_state.setdefault("kept", {}).update(values)
    for key, value in values.items():
        if value and value != ALL:
            if st.query_params.get(key) != value:
                st.query_params[key] = value
        elif key in st.query_params:
            del st.query_params[key]


def open_episode(episode_id: str, start: float | None = None) -> None:
    """Go to the episode page (at a moment), in this tab, as a link there would."""
    st.session_state["episode"] = episode_id
    st.session_state.pop("shown_episode", None)
    st.session_state.pop("library-table", None)
    st.switch_page(PAGES["Episode"], query_params={"episode": episode_id, **({"t": str(int(start))} if start else {})})


# Long jobs (podkb/events.py) on the page

class Progress:
    """A job's events on the page: one message per file, ``st.progress`` for transcription and indexing."""

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

    def outcome(self, outcome: Outcome) -> None:
        for warning in outcome.warnings:
            say("warning", shown(self.kb, f"{outcome.path}: {warning}"))
        if outcome.error:
            self.failed += 1
            say("error", shown(self.kb, f"{outcome.path}: {outcome.error}"))
        elif outcome.result is not None:  # None: only warnings (what a folder left out)
            ep = outcome.result.episode
            say("success", f"{outcome.result.status}: {ep.title} ({ep.segment_count} segments)")

    def transcribing(self, event: Transcribing) -> None:
        share = min(1.0, event.done / max(event.total, 1e-9))
        stage = "Transcribing" if event.stage == "transcribing" else f"{event.stage.capitalize()} in"
        self.bar.progress(share, text=f"{stage} {shown(self.kb, event.name)}: "  # no server path
                                      f"{format_timestamp(event.done)} of {format_timestamp(event.total)}")

    def indexing(self, event: Indexing) -> None:
        done, total, passages = event.done, event.total, event.passages
        if not done or self.began is None:
            self.began = time.monotonic()
        took = time.monotonic() - self.began
        rate = f", {passages / took:.1f} passages/s" if passages and took > 0 else ""
        left = f", about {format_timestamp(took / done * (total - done))} left" if done and done < total else ""
        self.bar.progress(min(1.0, done / max(total, 1)),
                          text=f"Indexing: {done} of {total} episodes, {passages:,} passages{rate}{left}")


def importing(kb: KnowledgeBase, events) -> list[Outcome]:
    """Run an import (``events()``: an add's or follow's), showing each file's outcome and the indexing
    after it; the outcomes."""
    with st.status("Adding…", expanded=True) as status:
        progress = Progress(kb, st.progress(0.0))
        try:
            done = list(progress.run(events()).outcomes)
        except NotIndexed as error:
            progress.failed += 1
            say("error", shown(kb, str(error)))
            done = error.outcomes
        except ClusterError as error:  # before any work
            progress.failed += 1
            say("error", str(error))
            done = []
        status.update(label="Done" if not progress.failed else f"Done, {progress.failed} failed",
                      state="complete" if not progress.failed else "error")
    return done


def indexed(kb: KnowledgeBase) -> None:
    """On first start (or after an import elsewhere left episodes unindexed), index them with a progress bar."""
    stale = kb.stale()
    if not stale:
        return
    with st.status(f"Building the knowledge base: indexing {len(stale)} episodes…", expanded=True) as status:
        Progress(kb, st.progress(0.0)).run(kb.sync_events())
        status.update(label="Knowledge base ready", state="complete", expanded=False)

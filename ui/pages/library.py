"""The Library page: every episode in a table (a click opens it), and the forms that add episodes (uploads,
a feed), attach a recording to a transcript, and remove an episode."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from podkb import AUDIO_SUFFIXES, SUFFIXES, BadInput, EpisodeInfo, FeedOptions, KnowledgeBase, format_labels
from podkb import format_timestamp
from podkb.ui import state
from podkb.ui.state import say
from podkb.ui.web import natural, save_upload


def page(kb: KnowledgeBase) -> None:
    st.title("Library")
    episodes = sorted(kb.episodes(), key=lambda ep: natural(ep.title))  # E9 before E10 before E100
    if episodes:
        table(kb, episodes)
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


def table(kb: KnowledgeBase, episodes) -> None:
    """The episodes as a table to sort; a click on any cell (or ticking its row) opens that row's episode."""
    counts = kb.passage_counts()
    titles = {ep.id: ep.title for ep in episodes}
    rows = pd.DataFrame([{
        "#": n, "Episode": ep.title, "Show": ep.show or "", "Date": ep.date or "",
        "Duration": format_timestamp(ep.duration) if ep.duration is not None else "untimed",
        "Passages": counts.get(ep.id, 0), "Speakers": ", ".join(ep.speakers), "Audio": "yes" if ep.media else "",
        "Duplicate of": (f"{titles.get(ep.duplicate_of, ep.duplicate_of)} ({ep.similarity:.0%} shared)"
                         if ep.duplicate_of else ""),
        "Format": ep.format or "", "Source": ep.source or "", "id": ep.id,
    } for n, ep in enumerate(episodes, 1)])
    empty = [c for c in rows.columns if c not in ("#", "Episode", "id") and (rows[c] == "").all()]
    rows = rows.drop(columns=empty)
    st.caption("Click a column to sort by it, a row to open the episode.")
    # Widths that keep every column in view at 1400 px: a long title or source wraps its cell, not the table.
    widths = {"#": 36, "Episode": 250, "Show": 140, "Date": 88, "Duration": 72, "Passages": 66, "Speakers": 170,
              "Audio": 50, "Duplicate of": 160, "Format": 70, "Source": 140, "id": 120}
    config = {column: st.column_config.Column(width=width) for column, width in widths.items() if column in rows}
    picked = st.dataframe(rows, hide_index=True, width="stretch", height=min(36 * (len(rows) + 1) + 4, 1800),
                          column_config=config, on_select="rerun", selection_mode=["single-row", "single-cell"],
                          key="library-table")
    chosen = [*picked.selection.rows, *(row for row, _ in picked.selection.cells)] if picked is not None else []
    if chosen:
        state.open_episode(rows.iloc[chosen[0]]["id"])


def cluster() -> str | None:
    """The Ray cluster chosen in the page's settings; None: transcribe in this process."""
    return (st.session_state.get("ray") or "").strip() or None


def upload_form(kb: KnowledgeBase) -> None:
    st.subheader("Add episodes")
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader("Transcripts or audio", accept_multiple_files=True,
                                 type=sorted(s.lstrip(".") for s in SUFFIXES),
                                 help=f"Transcripts: {format_labels()}, detected from the content. Audio "
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
        outcomes = state.importing(kb, lambda: kb.add_events(paths, info, ray=cluster()))
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
        state.importing(kb, lambda: kb.follow_events(url.strip(), options=options, ray=cluster()))


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
            kb.set_media(chosen, str(path), check=True)
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


if __name__ == "__main__":  # run by Streamlit as a page of ui/app.py
    page(state.knowledge_base())

"""The Collections page: the quotes of a collection, each to play, reorder or delete, and the collection
to download in every export format (with the quotes' audio clips, as a zip)."""
from __future__ import annotations

import mimetypes
import os
import tempfile
from pathlib import Path

import streamlit as st

from podkb import ClipError, KnowledgeBase, clip_encoding, cut_clip, is_url
from podkb.ui import state
from podkb.ui.exports import FORMATS, WITH_CLIPS, export, file_name, zip_name, zip_with_clips
from podkb.ui.state import md, say
from podkb.ui.web import e


def page(kb: KnowledgeBase) -> None:
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
    if quote.start is None or not recording:
        return
    if is_url(recording):
        end = int(quote.end) + 1 if quote.end is not None else None
        st.audio(recording, format=mimetypes.guess_type(recording)[0] or "audio/mpeg", start_time=int(quote.start),
                 end_time=end)
        return
    try:
        st.audio(clip_audio(recording, quote.start, quote.end, os.stat(recording).st_mtime), format=clip_encoding().mime)
    except (ClipError, OSError) as error:
        st.caption(md(f"No clip from {recording}: {getattr(error, 'strerror', None) or error}"))


@st.cache_data(max_entries=200, show_spinner=False)
def clip_audio(recording: str, start: float, end: float | None, modified: float) -> bytes:
    """A quote's clip (podkb/clips.py), cut once per recording version (``modified``) and moment."""
    with tempfile.TemporaryDirectory(prefix="podkb-clip-") as folder:
        return cut_clip(recording, start, end, Path(folder) / f"clip{clip_encoding().suffix}").read_bytes()


def quote_html(quote) -> str:
    link = f' · <a href="{e(quote.link)}" target="_blank" rel="noopener noreferrer">source</a>' if quote.link else ""
    note = f'<div class="also">Note: {e(quote.note)}</div>' if quote.note else ""
    tags = f'<div class="also">Tags: {e(", ".join(quote.tags))}</div>' if quote.tags else ""
    cite = quote.cited.format(e, lambda when: f'<span class="ts">{e(when)}</span>', sep=" · ")
    return (f'<div class="podkb-hit"><div>“{e(quote.text)}”</div>'
            f'<div class="cite">{cite}{link}</div>{note}{tags}</div>')


if __name__ == "__main__":  # run by Streamlit as a page of ui/app.py
    page(state.knowledge_base())

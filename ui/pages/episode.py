"""The Episode page: an episode whole, its transcript by turns, its chapters and its audio, from the moment
in the URL (``episode``, ``t`` in seconds); where its title, show and speakers are corrected."""
from __future__ import annotations

import json
import mimetypes

import streamlit as st

from podkb import Episode, KnowledgeBase, format_timestamp, one_line, podcasting20, said_at
from podkb.ui import state
from podkb.ui.state import from_url, md, say, say_after_rerun, to_url
from podkb.ui.web import (FOLLOW, chapters_html, moment_url, natural, playback, scroll_to, seconds_of, segment_at,
                          transcript_html)

TRANSCRIPT_LINES = 300  # segments of an episode shown at a time


def page(kb: KnowledgeBase) -> None:
    episodes = sorted(kb.episodes(), key=lambda ep: natural(ep.title))
    if not episodes:
        st.info("The knowledge base is empty. Add episodes on the Library page.")
        return
    titles = {ep.id: ep.title for ep in episodes}
    from_url("episode", episodes[0].id)
    if st.session_state.episode not in titles:  # the start of an id, as the CLI takes it; else say so
        try:
            st.session_state.episode = kb.episode(st.session_state.episode).id
        except LookupError as error:
            say("warning", f"{error}: here is {episodes[0].title} instead. Pick one in the sidebar.")
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
    state.said()
    st.caption(md(" · ".join(part for part in (episode.show, episode.date, ", ".join(episode.speakers),
                                               format_timestamp(episode.duration, missing='')) if part)))
    follow = player(episode, start)
    chapters, transcript = st.columns([1, 2])
    with chapters:
        st.subheader("Chapters")
        found = kb.chapters(chosen)
        if found:
            st.html(chapters_html(chosen, found))
            st.download_button("Chapters (Podcasting 2.0 JSON)", json.dumps(podcasting20(found), indent=2,
                               ensure_ascii=False), file_name=f"{chosen}.chapters.json",
                               mime="application/json+chapters", key="chapters-download", on_click="ignore")
        else:
            st.caption("No chapters yet: they are found when the episode is indexed.")
        edit_forms(kb, episode)
    with transcript:
        st.subheader("Transcript")
        show_transcript(chosen, segments, start, follow)


def player(episode: Episode, start: float | None) -> bool:
    """The episode's recording, from ``start``, or a link to its source; whether the transcript follows it."""
    play = playback(episode.media, episode.source, start)
    if play.audio:
        kind = mimetypes.guess_type(play.audio)[0] or "audio/mpeg"
        st.audio(play.audio, format=kind, start_time=play.start, autoplay=start is not None)
        st.html(FOLLOW, unsafe_allow_javascript=True)  # a line's time plays from there; the line heard is marked
        return st.toggle("Follow along", value=True, key="follow",
                         help="Keep the line being heard in view while it plays")
    if play.link:
        st.link_button(f"▶ Open the source at {format_timestamp(start)}" if start is not None
                       else "▶ Open the source", play.link)
    else:
        st.caption("No recording for this episode yet: attach one on the Library page, and every moment plays.")
    return False


def show_transcript(chosen: str, segments: list, start: float | None, follow: bool) -> None:
    """The transcript from a little before the moment (or the lines that say the words looked for)."""
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
        st.markdown(f"[Later: {format_timestamp(later.start, missing='') or 'more'} →]"
                    f"({moment_url(chosen, later.start)})")


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
                whole_show = st.checkbox(md(f"In every episode of {episode.show}"), disabled=not episode.show,
                                         key=f"rename-show-{episode.id}")
                if st.form_submit_button("Rename"):
                    try:
                        n = kb.rename_speaker(old, new, episode=None if whole_show else episode.id,
                                              show=episode.show if whole_show else None)
                    except (ValueError, LookupError) as error:
                        say("error", str(error))
                    else:  # the transcript and chapters above are drawn again with the new name
                        say_after_rerun("success", f"Renamed {old} to {one_line(new)} in {n} lines.")  # as stored


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


if __name__ == "__main__":  # run by Streamlit as a page of ui/app.py
    page(state.knowledge_base())

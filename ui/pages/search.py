"""The Search page: a question in, key points and hits out, each cited and playable from its moment, each
savable as a quote. The question and the filters live in the URL (``q``, ``show``, ``in_episode``,
``speaker``, ``from``, ``to``), so a search is a link to share."""
from __future__ import annotations

import mimetypes
import re

import streamlit as st

from podkb import NO_ANSWER, AlreadySaved, Episode, Filters, KnowledgeBase, Query, check_date, format_timestamp
from podkb import moment, parse_tags
from podkb.ui import state
from podkb.ui.state import ALL, from_url, md, say, to_url
from podkb.ui.web import (EXAMPLES, context_html, e, hit_html, moment_url, natural, playback, point_html,
                         written_html)

FILTER_KEYS = ("show", "in_episode", "speaker", "from", "to")


def page(kb: KnowledgeBase) -> None:
    opened = st.session_state.pop("open-hit", None)  # "Open episode" of the run before: this tab goes there
    if opened:
        state.open_episode(*opened)
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
            st.button(md(example), on_click=ask, args=(example,), key=f"example-{example}", help=md(example))
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
        quoted = Query.of(query).phrases
        st.info(md(f"No passage says “{'” and “'.join(quoted)}” word for word. Without the quotes, its words "
                   "are searched by meaning.") if quoted else
                "No passages found. Try other words, or clear the filters in the sidebar.")
        return
    by_id = {ep.id: ep for ep in episodes}
    if answer.answered:
        show_written(kb, answer)
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


def ask(question: str) -> None:
    st.session_state.q = question


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


def show_written(kb: KnowledgeBase, answer) -> None:
    """With a language model set ('podkb config llm', $PODKB_LLM): the answer it writes from the key points,
    streamed, then shown with each citation a link to its moment and each unchecked sentence marked. Kept
    for the session, so that a click elsewhere on the page does not ask the model again. A failure is one
    line; the key points follow as without a model."""
    model = kb.llm()
    if model is None:
        return
    key = ("written", model, answer.question, tuple((h.episode_id, h.passage_id) for h in answer.hits))
    written = st.session_state.get("written", {}).get(key)
    with st.container(border=True, key="written"):
        st.subheader("Answer")
        if written is None:
            writing = kb.write(answer, model)
            if writing.written.skipped is None:
                streaming = st.empty()  # the words as they come, then the checked answer in their place
                with streaming:
                    st.write_stream(md(chunk) for chunk in writing)
                streaming.empty()
            written = writing.written
            st.session_state["written"] = {key: written}  # the last answer only
        if written.error:
            say("warning", f"Language model {written.error}. The key points follow.")
        elif written.ok:
            st.html(written_html(written))
            checked = sum(s.verified for s in written.sentences)
            st.caption(md(f"Written by {model} from the key points below: {checked} of {len(written.sentences)} "
                          "sentences cite the spans they come from."))


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
                label = f"▶ Play from {format_timestamp(hit.start, missing='')}" if hit.start is not None \
                    else "Open the source"
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
    """A hit's "Open episode": remembered for the next run, which goes there (a callback can't switch pages)."""
    st.session_state["open-hit"] = (episode_id, start)


def share_url(episode_id: str, start: float | None) -> str:
    """The moment's link, whole, to send to someone: the episode page at ``start``."""
    url = (getattr(st.context, "url", None) or "").split("?")[0]
    root = url[:url.rfind("/") + 1] if url.count("/") > 2 else f"{url}/" if url else ""  # the app's, without its page
    return moment_url(episode_id, start, root)


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


if __name__ == "__main__":  # run by Streamlit as a page of ui/app.py
    page(state.knowledge_base())

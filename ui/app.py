"""The podkb web app (Streamlit): search, read and play an episode at a moment, collect quotes, export them.

Run it with `podkb serve [--kb DIR] [--port N]`; the knowledge base comes from $PODKB_HOME. Each page is
a file of ui/pages/ and a function of the knowledge base and its URL's parameters; this script opens
the knowledge base, indexes what is new, and lets ``st.navigation`` run the page the URL names
(/, /episode, /library, /collections). A link of an older podkb (``?page=Episode&...``) still opens
its page.
"""
from __future__ import annotations

import sqlite3

import streamlit as st

from podkb import StoreError
from podkb.ui import state
from podkb.ui.web import STYLE

st.set_page_config(page_title="podkb", page_icon="🎧", layout="wide")
st.html(STYLE)
pages = {title: st.Page(path, title=title, default=title == "Search", url_path=title.lower())
         for title, path in state.PAGES.items()}
chosen = st.navigation(list(pages.values()))
older = st.query_params.get("page")
if older in pages:  # ?page=Episode&episode=...: podkb's links before it had pages of their own
    rest = {key: value for key, value in st.query_params.items() if key != "page"}
    if pages[older] is not chosen:
        st.switch_page(pages[older], query_params=rest)
    del st.query_params["page"]
st.sidebar.title("podkb")
kb = None
try:
    kb = state.knowledge_base()
    state.indexed(kb)
    episodes, passages = kb.counts()
    st.sidebar.caption(f"{episodes} episodes · {passages} passages")
    chosen.run()
except (StoreError, sqlite3.Error, OSError) as error:
    state.problem(kb, error)

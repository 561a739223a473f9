"""podkb.ui.pages: the web app's pages, one a file (search, episode, library, collections).

Each is a function, ``page(kb)``, of the knowledge base and its URL's parameters, so it can be run and
tested alone (``AppTest.from_function``); Streamlit runs the file itself as a page of ui/app.py. A page
imports the face of podkb (``podkb``, ``podkb.events``), ui/state.py (the URL, the session, messages,
progress) and ui/web.py (escaped HTML), never another page or app.py.
"""

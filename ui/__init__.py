"""podkb.ui: the podkb command line (cli.py), the web app (app.py and pages/), the exports (exports.py) and
the MCP server (mcp_server.py): thin layers over ``podkb.KnowledgeBase``.

Owns: what a person or an assistant sees: text on a terminal (render.py, progress.py, terminal.py),
HTML and the URL of the web app (web.py, state.py), export files (exports.py, files.py).

May import: the face of podkb only, ``podkb`` (KnowledgeBase, its value types, errors and helpers) and
``podkb.events``, and its own modules; nothing of ``podkb.ingest`` or ``podkb.index`` directly
(tests/test_layout.py).
"""

"""ui: the podkb command line (and later the web app and exports), thin layers over ingest and index."""

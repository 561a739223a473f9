"""podkb.ui: the podkb command line, the web app and the exports: thin layers over podkb.KnowledgeBase."""

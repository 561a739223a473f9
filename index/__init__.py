"""index: segments → passages → vectors and keywords → hits.

Search arrives with issue 3; this stage reads the store that ``ingest`` writes and never imports ``ui``.
"""

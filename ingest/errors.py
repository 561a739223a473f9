class BadInput(Exception):
    """A file that cannot become an episode. The message is the reason, one line, without the path."""

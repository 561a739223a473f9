"""podkb.ingest: transcript files, audio and podcast feeds → episodes and segments in the store.

Owns: the store's connection and its first tables (store.py: episodes, segments, chapters;
feed_items.py: feeds and their items; voice_prints.py: voices; migrations.py: the migrations table and
how every stage's migrations are applied), the transcript formats (formats/, one registry), audio
(audio.py, Whisper; diarize.py and voices.py, who speaks) and feeds (feeds.py, fetch.py), the settings
every layer reads (settings.py) and every event of podkb's long jobs (events.py).

May import: the standard library and third-party packages only; never ``podkb.index``, ``podkb.ui``
or the modules of ``podkb/`` itself (tests/test_layout.py).
"""
from .errors import BadInput
from .events import Outcome
from .importer import add_paths, read_file
from .manifest import EpisodeInfo
from .models import Episode, Segment, Transcript, Word
from .store import AddResult, Library
from .timecode import format_timestamp

__all__ = [
    "AddResult", "BadInput", "Episode", "EpisodeInfo", "Library", "Outcome", "Segment", "Transcript", "Word",
    "add_paths", "format_timestamp", "read_file",
]

"""podkb.ingest: transcript files, audio and podcast feeds → episodes and segments in the store."""
from .errors import BadInput
from .importer import Outcome, add_paths, read_file
from .manifest import EpisodeInfo
from .models import Episode, Segment, Transcript, Word
from .store import AddResult, Library
from .timecode import format_timestamp

__all__ = [
    "AddResult", "BadInput", "Episode", "EpisodeInfo", "Library", "Outcome", "Segment", "Transcript", "Word",
    "add_paths", "format_timestamp", "read_file",
]

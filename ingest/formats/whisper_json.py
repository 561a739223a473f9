"""openai-whisper / faster-whisper / WhisperX JSON: segments with start, end, text, maybe words."""
from __future__ import annotations

from ..errors import BadInput
from ..models import Segment, Transcript, Word, number_turns
from ..timecode import seconds
from .jsonshape import NUMBER, field, first_segment, take


def detect(data) -> bool:
    first = first_segment(data, allow_list=True)
    return "text" in first and "start" in first


def read(data) -> Transcript:
    items = data.get("segments") if isinstance(data, dict) else data
    segments = []
    for n, item in take(items):
        where = f"segment {n}"
        if not isinstance(item, dict):
            raise BadInput(f"{where} is not an object")
        text = " ".join(field(item, "text", str, where).split())
        start = seconds(field(item, "start", NUMBER, where))
        end = seconds(field(item, "end", NUMBER, where))
        words = _words(item.get("words"), where)
        speaker = field(item, "speaker", str, where, required=False)
        if text:
            segments.append(Segment(start, end, speaker, text, words=words))
    if not segments:
        raise BadInput("the JSON has no segments with text")
    language = data.get("language") if isinstance(data, dict) else None
    language = language if isinstance(language, str) else None
    has_speakers = any(s.speaker for s in segments)
    return Transcript("whisper-json", number_turns(segments) if has_speakers else segments, language=language)


def _words(items, where: str) -> list[Word] | None:
    if not isinstance(items, list) or not items:
        return None
    words = []
    for n, item in take(items):
        here = f"{where} word {n}"
        if not isinstance(item, dict):
            raise BadInput(f"{here} is not an object")
        text = item.get("word", item.get("text"))
        if not isinstance(text, str):
            raise BadInput(f"{here}: 'word' is missing or not a string")
        start, end = item.get("start"), item.get("end")
        if start is None or end is None:
            continue  # WhisperX leaves numbers and symbols it could not align untimed
        probability = item.get("probability", item.get("score"))
        probability = float(probability) if isinstance(probability, NUMBER) else None
        words.append(Word(seconds(start), seconds(end), text.strip(), probability))
    return words or None

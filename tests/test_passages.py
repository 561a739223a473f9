"""Segments → passages: sizes, speaker turns, pauses, and where each sentence starts."""
from podkb.ingest import Segment, Word
from podkb.ingest.formats import read_text
from podkb.index.passages import MAX_WORDS, MIN_WORDS, build

from .conftest import TRANSCRIPTS


def sentence(n, words=12):
    return " ".join(f"w{n}x{i}" for i in range(words - 1)) + f" end{n}."


def test_sizes_stay_within_bounds_on_a_long_monologue():
    text = (TRANSCRIPTS / "fastai-part1-2022-lesson-8.txt").read_text()
    passages = build("lesson", read_text(text).segments)
    sizes = [p.words for p in passages]
    assert max(sizes) <= MAX_WORDS
    assert sum(MIN_WORDS <= s for s in sizes) / len(sizes) > 0.95


def test_untimed_passages_keep_paragraph_and_source_offsets():
    text = (TRANSCRIPTS / "fastai-part1-2022-lesson-8.txt").read_text()
    passages = build("lesson", read_text(text).segments)
    for p in passages[:40]:
        assert p.start is None and p.end is None
        for s in p.sentences:
            assert text[s.offset:s.offset + 400].split()[:5] == p.text[s.at:].split()[:5]


def test_a_passage_never_crosses_a_change_of_speaker():
    segments = [Segment(i * 4.0, i * 4.0 + 4, "Ann" if i < 3 else "Bo", sentence(i), turn=0 if i < 3 else 1)
                for i in range(6)]
    passages = build("e", segments)
    assert [(p.speaker, p.first_segment, p.last_segment) for p in passages] == [("Ann", 0, 2), ("Bo", 3, 5)]


def test_a_long_pause_ends_a_passage():
    segments = [Segment(0.0, 4.0, None, sentence(0)), Segment(4.0, 8.0, None, sentence(1)),
                Segment(20.0, 24.0, None, sentence(2))]
    passages = build("e", segments)
    assert [(p.start, p.end) for p in passages] == [(0.0, 8.0), (20.0, 24.0)]


def test_sentences_spanning_segments_start_where_they_are_spoken():
    segments = [
        Segment(10.0, 12.0, None, "So the first"),
        Segment(12.0, 14.5, None, "sentence ends here. And the"),
        Segment(14.5, 16.0, None, "second one starts before this line."),
    ]
    [p] = build("e", segments)
    assert [(p.text[s.at:s.at + 10], s.start) for s in p.sentences] == [("So the fir", 10.0), ("And the se", 12.0)]


def test_word_times_give_the_exact_sentence_start():
    words = [Word(5.0, 5.4, "Hello"), Word(5.4, 6.0, "there."), Word(7.25, 7.5, "Second"), Word(7.5, 8.0, "one.")]
    [p] = build("e", [Segment(5.0, 8.0, None, "Hello there. Second one.", words=words)])
    assert [s.start for s in p.sentences] == [5.0, 7.25]


def test_text_without_punctuation_is_cut_into_windows():
    [segment] = read_text(" ".join(f"word{i}" for i in range(500))).segments
    passages = build("e", [segment])
    assert all(p.words <= MAX_WORDS for p in passages)
    assert sum(p.words for p in passages) == 500

"""Every transcript format, read from its content: times to the millisecond, speakers, turns."""
import json

import pytest

from podkb.ingest import BadInput
from podkb.ingest.decode import decode
from podkb.ingest.formats import read_text


def read(content, suffix=""):
    data = content if isinstance(content, bytes) else content.encode()
    return read_text(decode(data).text, suffix)


def times(transcript):
    return [(s.start, s.end) for s in transcript.segments]


def test_plain_text_one_long_line_is_one_untimed_segment():
    t = read("  What advice would you give? Put in 10,000 hours. It works.")
    assert t.format == "text"
    assert [(s.start, s.end, s.speaker, s.offset) for s in t.segments] == [(None, None, None, 2)]
    assert t.segments[0].text == "What advice would you give? Put in 10,000 hours. It works."


def test_plain_text_paragraphs_keep_their_offsets_and_join_wrapped_lines():
    text = "Title line\n\n\nFirst paragraph\nwraps here.\n\nSecond one."
    t = read(text)
    assert [s.text for s in t.segments] == ["Title line", "First paragraph wraps here.", "Second one."]
    assert [s.offset for s in t.segments] == [0, 13, 42]
    assert text[42:53] == "Second one."
    assert t.duration is None


def test_whisper_chunk_dump_gives_one_segment_per_chunk():
    text = "Transcription for chunk_0.wav:\n You're one of the greatest.\n\nTranscription for chunk_1.wav:\n surprise myself.\n"
    t = read(text)
    assert t.format == "whisper-chunks"
    assert [s.text for s in t.segments] == ["You're one of the greatest.", "surprise myself."]
    assert all(s.start is None and s.end is None for s in t.segments)


def test_otter_blocks_keep_speakers_and_start_times_and_never_invent_ends():
    text = (
        "Sanyam Bhutani  0:13  \nHey, welcome.\n\n"
        "Rob Bracco  2:21  \nThanks for\nhaving me.\n\n"
        "Sanyam Bhutani  1:57:52  \nBye.\n\nTranscribed by https://otter.ai\n"
    )
    t = read(text)
    assert t.format == "otter"
    assert [(s.start, s.end, s.speaker, s.text, s.turn) for s in t.segments] == [
        (13.0, None, "Sanyam Bhutani", "Hey, welcome.", 0),
        (141.0, None, "Rob Bracco", "Thanks for having me.", 1),
        (7072.0, None, "Sanyam Bhutani", "Bye.", 2),
    ]
    assert t.speakers == ["Sanyam Bhutani", "Rob Bracco"]


def test_whisper_console_lines_to_the_millisecond_with_turns_at_speaker_marks():
    text = (
        "\n[00:00:00.000 --> 00:00:05.020]   [ Music ]\n"
        "[00:00:05.020 --> 00:00:06.820]   >> Hi, everybody, and welcome\n"
        "[00:00:06.820 --> 00:00:09.800]   to the reading session.\n"
        "[01:02:03.456 --> 01:02:05.001]   >> Hello there.\n"
        "[01:02:05.001 --> 01:02:06.000]   - Yep.\n"
        "[01:09:34.180 --> 01:09:51.540]   \n"
    )
    t = read(text)
    assert t.format == "whisper-console"
    assert times(t) == [(0.0, 5.02), (5.02, 6.82), (6.82, 9.8), (3723.456, 3725.001), (3725.001, 3726.0)]
    assert [s.turn for s in t.segments] == [0, 1, 1, 2, 3]
    assert [s.text for s in t.segments][1:] == ["Hi, everybody, and welcome", "to the reading session.", "Hello there.", "Yep."]
    assert all(s.speaker is None for s in t.segments)


def test_whisper_console_without_hours():
    t = read("[00:05.500 --> 00:07.250]  short form\n[00:07.250 --> 00:09.000]  times\n")
    assert times(t) == [(5.5, 7.25), (7.25, 9.0)]


SRT = (
    "\ufeff2\r\n00:00:05,000 --> 00:00:06,500\r\n<i>second</i> cue\r\n\r\n"
    "1\r\n00:00:01,001 --> 00:00:02,999\r\nfirst\r\nline two\r\n\r\n"
    "3\r\n01:02:03,456 --> 01:02:04,000\r\n{\\an8}third <b>cue</b>\r\n"
)


def test_srt_with_bom_crlf_and_cues_out_of_order():
    t = read(SRT.encode("utf-8"))
    assert t.format == "srt"
    assert times(t) == [(1.001, 2.999), (5.0, 6.5), (3723.456, 3724.0)]
    assert [s.text for s in t.segments] == ["first line two", "second cue", "third cue"]
    assert any("out of order" in w for w in t.warnings)


def test_srt_keeps_non_markup_angle_brackets_as_text():
    t = read("1\n00:00:01,000 --> 00:00:02,000\nuse <script>alert(1)</script> carefully\n")
    assert t.segments[0].text == "use <script>alert(1)</script> carefully"


VTT = """WEBVTT - lesson

STYLE
::cue { color: lime }

NOTE a note
over two lines

intro
00:01.500 --> 00:04.250 align:start position:10%
<v Jeremy Howard>Hello <b>there</b></v>

2
01:02:03.456 --> 01:02:05.000
<v.loud Rachel Thomas>Hi <c.yellow>Jeremy</c>
second line

00:00:06.000 --> 00:00:07.000
no voice here
"""


def test_webvtt_blocks_ids_settings_short_times_and_voices():
    t = read(VTT)
    assert t.format == "vtt"
    assert [(s.start, s.end, s.speaker, s.text) for s in t.segments] == [
        (1.5, 4.25, "Jeremy Howard", "Hello there"),
        (6.0, 7.0, None, "no voice here"),
        (3723.456, 3725.0, "Rachel Thomas", "Hi Jeremy second line"),
    ]
    assert t.speakers == ["Jeremy Howard", "Rachel Thomas"]
    assert [s.turn for s in t.segments] == [0, 1, 2]


def test_webvtt_without_header_is_refused():
    with pytest.raises(BadInput, match="WEBVTT"):
        read("00:01.000 --> 00:02.000\nhello\n", ".vtt")


def test_whisper_json_segments_and_words():
    data = {
        "text": "Hello world. Again.",
        "language": "en",
        "segments": [
            {"id": 0, "start": 0.0, "end": 1.5, "text": " Hello world.",
             "words": [{"word": " Hello", "start": 0.0, "end": 0.6, "probability": 0.9},
                       {"word": " world.", "start": 0.6, "end": 1.5, "probability": 0.8}]},
            {"id": 1, "start": 3723.4561, "end": 3725.0, "text": " Again."},
        ],
    }
    t = read(json.dumps(data))
    assert t.format == "whisper-json"
    assert t.language == "en"
    assert times(t) == [(0.0, 1.5), (3723.456, 3725.0)]
    assert [(w.start, w.end, w.text, w.probability) for w in t.segments[0].words] == [
        (0.0, 0.6, "Hello", 0.9), (0.6, 1.5, "world.", 0.8)]
    assert t.segments[1].words is None


def test_faster_whisper_list_of_segments_with_speakers():
    data = [{"start": 1, "end": 2, "text": "a", "speaker": "SPEAKER_00"},
            {"start": 2, "end": 3, "text": "b", "speaker": "SPEAKER_01"}]
    t = read(json.dumps(data), ".json")
    assert [(s.speaker, s.turn) for s in t.segments] == [("SPEAKER_00", 0), ("SPEAKER_01", 1)]


def test_podcasting_2_json():
    data = {"version": "1.0.0", "segments": [
        {"speaker": "Alice", "startTime": 0.5, "endTime": 2.25, "body": "Welcome to the show."},
        {"speaker": "Bob", "startTime": 2.25, "endTime": 4.125, "body": "Glad to be here."},
    ]}
    t = read(json.dumps(data))
    assert t.format == "podcasting2-json"
    assert [(s.start, s.end, s.speaker, s.text) for s in t.segments] == [
        (0.5, 2.25, "Alice", "Welcome to the show."), (2.25, 4.125, "Bob", "Glad to be here.")]


@pytest.mark.parametrize("content, reason", [
    ('{"segments": [{"start": 0, "end": 1, "text": "hi"}', "truncated JSON"),
    ('{"hello": "world"}', "unknown shape"),
    ('[1, 2, 3]', "unknown shape"),
    ('{"segments": [{"start": "zero", "end": 1, "text": "hi"}]}', "segment 0: 'start'"),
    ('{"segments": [{"startTime": 0, "body": 5}]}', "segment 0: 'body'"),
    ('{"segments": [{"start": -1, "end": 1, "text": "hi"}]}', "outside 0 to 1000 hours"),
])
def test_json_of_the_wrong_shape_says_why(content, reason):
    with pytest.raises(BadInput, match=reason):
        read(content, ".json")


def test_detection_ignores_a_misleading_extension():
    t = read(VTT, ".txt")
    assert t.format == "vtt"
    t = read(SRT.encode(), ".vtt")
    assert t.format == "srt"


MARKDOWN = """**Adam Stacoviak:** So I'm here with Scott. Welcome to the show, it's an *honor* to have you.

**Scott Johnston:** Thanks so much, Adam. I learned BASIC on a [TRS-80](https://example.org/trs80) at a neighbor&#39;s house.

And I was always fascinated by two things.

\\[02:00\\] One is the democratization.

**Adam Stacoviak:** \\[03:00\\] Gotcha. Tell me about Puppet, and how you got to Docker.

**Scott Johnston:** It was a short road. \\[04:00\\] Six months later I joined as an employee.
"""


def test_markdown_dialogue_keeps_turns_speakers_and_the_publishers_timestamps():
    transcript = read_text(MARKDOWN, ".md")
    assert transcript.format == "markdown-dialogue"
    assert transcript.speakers == ["Adam Stacoviak", "Scott Johnston"]
    texts = [s.text for s in transcript.segments]
    assert texts[0] == "So I'm here with Scott. Welcome to the show, it's an honor to have you."  # no markup
    assert texts[1] == "Thanks so much, Adam. I learned BASIC on a TRS-80 at a neighbor's house."
    assert texts[2] == "And I was always fascinated by two things."  # an untagged paragraph: the same turn
    assert [s.speaker for s in transcript.segments[1:4]] == ["Scott Johnston"] * 3
    assert [s.turn for s in transcript.segments] == [0, 1, 1, 1, 2, 3, 3]
    starts = [s.start for s in transcript.segments]
    assert starts[3:] == [120.0, 180.0, starts[5], 240.0] and 180.0 < starts[5] < 240.0
    assert starts == sorted(starts) and starts[0] < starts[1] < starts[2] < 120.0  # placed by their words
    assert all(s.end == n.start for s, n in zip(transcript.segments, transcript.segments[1:]))


def test_markdown_dialogue_without_timestamps_is_untimed_with_its_speakers():
    text = "\n\n".join(f"**{'Host' if i % 2 == 0 else 'Guest'}:** Line number {i} of the talk." for i in range(6))
    transcript = read_text(text, ".md")
    assert transcript.format == "markdown-dialogue" and transcript.speakers == ["Host", "Guest"]
    assert all(s.start is None and s.end is None for s in transcript.segments)


def test_prose_with_a_bold_word_or_two_is_not_a_dialogue():
    prose = "**Note:** this is a blog post.\n\nIt has paragraphs of prose and no speakers at all.\n\n" * 1 + \
            "\n\n".join(f"Paragraph {i} says something." for i in range(20))
    assert read_text(prose, ".md").format == "text"


# Speakers written in the cues' text (issue 39): `Name: text`, as community transcripts write it, and `>>`

def srt(*cues: str) -> str:
    return "\n".join(f"{n}\n00:00:{2 * n:02d},000 --> 00:00:{2 * n + 2:02d},000\n{text}\n"
                     for n, text in enumerate(cues, 1))


LABELLED = ["Bekah Hawrot Weigel: Hello, and welcome", "to the Virtual Coffee podcast.", "Dan Ott: Thanks, Bekah.",
            "Bekah: So how do you avoid burnout?", "Dan: Take breaks,", "and keep a routine.",
            "Bekah: Note: that is a good one.", "Dan: Thanks."]


def test_srt_cues_that_start_with_a_recurring_name_give_named_speakers_and_clean_text():
    segments = read_text(srt(*LABELLED), ".srt").segments
    said = [(s.speaker, s.text) for s in segments]
    assert said == [("Bekah Hawrot Weigel", "Hello, and welcome"), ("Bekah Hawrot Weigel", "to the Virtual Coffee podcast."),
                    ("Dan Ott", "Thanks, Bekah."), ("Bekah Hawrot Weigel", "So how do you avoid burnout?"),
                    ("Dan Ott", "Take breaks,"), ("Dan Ott", "and keep a routine."),
                    ("Bekah Hawrot Weigel", "Note: that is a good one."), ("Dan Ott", "Thanks.")]
    assert [s.turn for s in segments] == [0, 0, 1, 2, 3, 3, 4, 5]


def test_webvtt_and_plain_text_read_the_same_labels():
    vtt = "WEBVTT\n\n" + "\n".join(f"00:00:{2 * n:02d}.000 --> 00:00:{2 * n + 2:02d}.000\n{text}\n"
                                   for n, text in enumerate(LABELLED, 1))
    for transcript in (read_text(vtt, ".vtt"), read_text("\n".join(LABELLED) + "\n", ".txt")):
        speakers = [s.speaker for s in transcript.segments]
        assert set(speakers) == {"Bekah Hawrot Weigel", "Dan Ott"}, transcript.format
        assert not any(s.text.startswith(("Bekah", "Dan")) for s in transcript.segments)
    plain = read_text("\n".join(LABELLED) + "\n", ".txt").segments
    assert [s.text for s in plain][:2] == ["Hello, and welcome to the Virtual Coffee podcast.", "Thanks, Bekah."]


@pytest.mark.parametrize("cues", [
    ["Note: the audio drops at ten minutes.", "We start with the news.", "Then the interview."],
    ["Step one: open the editor.", "Step two: save the file.", "Tip: use the shortcut.", "Tip: save often.",
     "Note: done.", "Note: really."],
])
def test_a_one_off_label_or_a_word_like_note_is_text_not_a_speaker(cues):
    segments = read_text(srt(*cues), ".srt").segments
    assert all(s.speaker is None for s in segments) and [s.text for s in segments] == cues


def test_a_double_chevron_or_a_dash_in_a_cue_starts_a_new_unnamed_turn():
    segments = read_text(srt(">> Hi, everybody, and welcome", "to the show.", ">> Hello there.", "- Thanks.",
                             "Glad to be here."), ".srt").segments
    assert [s.text for s in segments] == ["Hi, everybody, and welcome", "to the show.", "Hello there.", "Thanks.",
                                          "Glad to be here."]
    assert [s.turn for s in segments] == [0, 0, 1, 2, 2] and all(s.speaker is None for s in segments)


def test_a_short_dialogue_and_a_cue_cut_after_a_full_stop_keep_their_speakers():
    """From a new user's trial (issue 39): two cues, "Alice: …" and "Bob: …", each name once, kept their
    labels in the text; ". Joan: So I did…" (a cue cut just after a full stop) lost its speaker."""
    short = read_text(srt("Alice: The best way to learn is to teach.", "Bob: Take breaks."), ".srt").segments
    assert [(s.speaker, s.text) for s in short] == [("Alice", "The best way to learn is to teach."),
                                                     ("Bob", "Take breaks.")]
    cut = read_text(srt(*LABELLED, ". Joan: So I did go to the iron yard.", "Dan: Nice."), ".srt").segments
    assert (cut[-2].speaker, cut[-2].text) == ("Joan", "So I did go to the iron yard.")

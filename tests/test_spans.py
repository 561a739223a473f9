"""Answer spans (index/spans.py): a key point is one to three sentences that stand on their own."""
import pytest

from podkb import KnowledgeBase
from podkb.index import spans as S

from .fake_embedder import HashEmbedder


def said(*texts, speaker="Guest"):
    return [S.Said(speaker, text, float(10 * i), None, None) for i, text in enumerate(texts)]


def texts(found):
    return [span.text for span in found]


POSTING = said("Posting online is easy to get wrong when you are angry.",
               "So before you post anything, ask yourself two questions.",
               "Would I say this to the person's face?",
               "And will I still agree with it in a year?")


def test_an_announcement_reaches_forward_into_all_it_announces():
    found = texts(S.spans(POSTING))
    announcing = [t for t in found if "two questions" in t]
    assert announcing and all("face?" in t and "in a year?" in t for t in announcing)
    assert "So before you post anything, ask yourself two questions." not in found


def test_an_announcement_whose_content_is_missing_is_no_span():
    cut = said("Here are the three rules I follow every single week:", "Sleep eight hours every night, always.")
    assert not any("three rules" in t for t in texts(S.spans(cut)))


def test_a_preamble_gives_way_to_what_follows():
    found = S.spans(said("I want to answer this with an anecdote to begin with.",
                         "Stop working at six every evening and book two gym sessions a week."))
    assert found and all(not t.startswith("I want to answer") for t in texts(found))


def test_a_reference_back_takes_its_antecedent_or_is_dropped():
    found = texts(S.spans(said("They review every design with the whole team before any code gets written.",
                               "And you're forcing them to do all of that.")))
    assert "And you're forcing them to do all of that." not in found
    assert any(t.startswith("They review") and t.endswith("all of that.") for t in found) or \
        all("forcing" not in t for t in found)
    alone = said("And that's why it works so well for teams like ours, every time.")
    assert S.spans(alone) == []


def test_a_view_the_speaker_rejects_next_is_not_a_point():
    found = texts(S.spans(said("A lot of people say you should work ninety hours a week to succeed.",
                               "But I don't think that's right at all for most founders.")))
    assert not any(t.startswith("A lot of people say") and "ninety" in t and "don't think" not in t for t in found)


def test_questions_promos_and_fragments_are_never_spans():
    found = texts(S.spans(said("How do you avoid burnout when the deadlines pile up?",
                               "Next week on Writers Room, Anna will be talking to Ben about first drafts.",
                               "This episode is brought to you by Scribe Academy.", "Yes, exactly.")))
    assert found == []


def test_one_voice_per_span():
    mixed = said("Rest before you are tired, and take whole days off.") + \
        said("That is the advice I give every founder who asks me.", speaker="Host")
    assert all(span.first == span.last for span in S.spans(mixed))


@pytest.mark.parametrize("sentence", [
    "Next week on Founders Talk, Adam will be talking to Jane Doe about pricing.",
    "This episode is brought to you by Linode.", "Welcome to Founders Talk, I'm Adam.",
    "If you like the show, please subscribe and tune in each week.", "Links are in the show notes.",
    "Hey, this is Sanyam and you're listening to Chai Time Data Science.",
    "Welcome to a short show about study habits.", "Hello, and welcome to another episode of the show.",
])
def test_what_a_show_says_about_itself_is_a_promo(sentence):
    assert S.promo(sentence)


@pytest.mark.parametrize("sentence", [
    "If you're listening to this and you're on the fence, go qualify them.",
    "Patreon is trying to get into this game as well.", "Our editor team does great work on open source.",
    "The next time we have a win, I'll call you.",
])
def test_talk_that_mentions_a_show_word_is_not_a_promo(sentence):
    assert not S.promo(sentence)


LECTURE = [
    "Today I want to talk about writing a first draft you can actually finish.",
    "I want to answer this with an anecdote to begin with.",
    "My first novel sat unfinished in a drawer for six years, because I polished every page of it.",
    "So before you write a better first draft, ask yourself two questions.",
    "Who is this draft for, and what is the one thing it must say?",
    "Can you finish it in a week if you never go back to fix a sentence?",
    "Write the whole draft before you polish a single line, and finish it fast.",
    "Next week on Writers Room, Anna will be talking to Ben Okri about how to write a better first draft.",
]


def lecture_vtt() -> str:
    """The lecture as one speaker's WebVTT, a sentence every 70 seconds (so each may be its own point)."""
    cues = [f"{i * 70 // 60:02d}:{i * 70 % 60:02d}.000 --> {(i * 70 + 60) // 60:02d}:{(i * 70 + 60) % 60:02d}.000\n"
            f"<v Lecturer>{text}" for i, text in enumerate(LECTURE)]
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


def test_ask_points_reach_the_announced_content_and_skip_the_preamble_and_the_promo(tmp_path):
    path = tmp_path / "lecture.vtt"
    path.write_text(lecture_vtt())
    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        kb.add([str(path)])
        points = kb.ask("how to write a better first draft", points=5).points
    assert points
    assert all("Next week on" not in p.text for p in points)
    assert all("I want to answer this" not in p.text and "Today I want" not in p.text for p in points)
    announcing = [p for p in points if "two questions" in p.text]
    assert announcing and all("Who is this draft for" in p.text and "never go back" in p.text for p in announcing)

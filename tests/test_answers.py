"""Answer-first hits and the key points, with the fake embedder: questions are told from answers,
a question cites what follows it, neighbouring passages join, and points are distinct."""
import dataclasses

import pytest

from podkb.index import Index, search_index
from podkb.index.points import key_points
from podkb.index.questions import is_question

from .conftest import built, index_of
from .fake_embedder import HashEmbedder


@pytest.mark.parametrize("sentence", [
    "So how do you avoid burnout because for me, I have a very structured day",
    "I'm curious how do you avoid burnout when you miss the goals",
    "How many hours does it take to become an expert",
    "What advice would you give to someone starting out",
    "Do you have any advice for beginners", "Any tips for staying focused", "Is there a book you recommend",
    "Why did you start blogging", "and what's your take on Kaggle", "You rest on Sundays?",
])
def test_questions_are_questions_with_or_without_a_question_mark(sentence):
    assert is_question(sentence)


@pytest.mark.parametrize("sentence", [
    "What I do is book a fixed amount of hours in my calendar to go to the gym.",
    "This is how it is done in practice.", "What you need to do is practise every day.",
    "How I got started was by reading the book.", "When I was young I played chess.",
    "Do the work and the results follow.", "Where you start matters less than how long you keep going.",
])
def test_answers_are_not_questions(sentence):
    assert not is_question(sentence)


INTERVIEW = """WEBVTT

00:00:01.000 --> 00:00:09.000
<v Host>Welcome back to the show, today we talk about rest and work with our guest.

00:00:10.000 --> 00:00:16.000
<v Host>So how do you avoid burnout when the deadlines pile up every single week?

00:00:17.000 --> 00:00:30.000
<v Guest>I stop work at six every evening and I book two gym sessions in my calendar each week. That rhythm keeps my energy steady for years.

00:00:31.000 --> 00:00:40.000
<v Host>Great. Let us move on to the books you read when you started out in programming.
"""


def indexed(tmp_path, name: str, text: str) -> Index:
    """A knowledge base of one transcript, indexed with the fake embedder (its library left open)."""
    path = tmp_path / name
    path.write_text(text)
    built(tmp_path / "kb", [path], embedder=HashEmbedder())
    return index_of(tmp_path / "kb", HashEmbedder())


@pytest.fixture
def interview(tmp_path):
    index = indexed(tmp_path, "interview.vtt", INTERVIEW)
    yield index
    index.library.close()


def test_a_question_hit_cites_the_answer_in_the_next_turn_with_the_question_above_it(interview):
    [top, *_] = search_index(interview, "how do you avoid burnout when deadlines pile up", k=3)
    assert top.question == "So how do you avoid burnout when the deadlines pile up every single week?"
    assert top.question_start == 10.0
    assert top.speaker == "Guest" and top.start == 17.0 and top.highlight.startswith("I stop work at six")
    assert top.citation.endswith("Guest — 00:17")
    with pytest.raises(StopIteration):  # the answer is not also a second hit
        next(h for h in search_index(interview, "how do you avoid burnout when deadlines pile up", k=3)[1:]
             if set(h.passage_ids) & set(top.passage_ids))


def test_filters_keep_answer_first_within_them(interview):
    from podkb.index import Filters

    hits = search_index(interview, "how do you avoid burnout when deadlines pile up", k=3,
                        filters=Filters(speaker="Host"))
    assert hits and {h.speaker for h in hits} == {"Host"}


def test_key_points_are_answers_from_different_moments(interview):
    hits = search_index(interview, "how do you avoid burnout when deadlines pile up", k=10)
    points = key_points(interview, hits, "how do you avoid burnout when deadlines pile up")
    assert points and points[0].speaker == "Guest" and points[0].text.startswith("I stop work at six")
    assert not any(is_question(p.text) for p in points)
    starts = [p.start for p in points]
    assert all(abs(a - b) >= 60 for i, a in enumerate(starts) for b in starts[i + 1:])  # one 40 s episode: one point
    assert len(points) == 1


def test_neighbouring_passages_of_one_speaker_join_into_one_hit(tmp_path):
    sentences = " ".join(f"Sentence {i} talks about steady practice and rest number {i}." for i in range(40))
    index = indexed(tmp_path, "lecture.txt", sentences)
    library = index.library
    hits = search_index(index, "steady practice and rest", k=5)
    passages = library.db.execute("SELECT count(*) FROM passages").fetchone()[0]
    assert passages >= 3 and len(hits[0].passage_ids) == 2  # the best passage and a neighbour, within 220 words
    assert list(hits[0].passage_ids) == sorted(hits[0].passage_ids)
    assert len({p for h in hits for p in h.passage_ids}) == sum(len(h.passage_ids) for h in hits)
    library.close()


def test_a_point_from_an_untimed_transcript_shows_its_paragraph():
    from podkb.index import Hit
    from podkb.index.points import Point
    from podkb.ui.web import point_html

    def hit(start, paragraph=None, url=None):
        return Hit(passage_id=1, episode_id="k", episode_title="Advice", show=None, speaker=None, start=start,
                   end=None, passage_start=start, text="Spend 10,000 hours.", highlight="Spend 10,000 hours.",
                   score=1.0, citation="", link=None, paragraph=paragraph, url=url)

    untimed = Point("Spend 10,000 hours.", None, None, hit(None, paragraph=2))
    assert untimed.citation == "Advice — ¶3"
    assert 'episode=k" target="_self" title="Open the episode here">¶3</a>' in point_html(1, untimed)
    timed = Point("<b>x</b>", 75.0, None, hit(70.0, url="https://example.org/ep"))  # a sentence after the hit's
    assert timed.link == "https://example.org/ep#t=75" and timed.citation == "Advice — 01:15"
    html = point_html(2, timed)
    assert "01:15" in html and "https://example.org/ep#t=75" in html and "<b>x</b>" not in html


def test_the_question_a_hit_answers_is_shown_once_above_the_answer_not_again_in_it():
    from podkb.index import Hit
    from podkb.ui.render import hit_text
    from podkb.ui.web import hit_html

    said = "We met in March. So how do you avoid burnout at work? I keep the same hours every day. Then I stop."
    hit = Hit(passage_id=1, episode_id="e", episode_title="E", show=None, speaker="Rob", start=10.0, end=20.0,
              passage_start=5.0, text=said, highlight="I keep the same hours every day.", score=1.0, citation="E",
              link=None, question="So how do you avoid burnout at work?")
    assert hit.shown_text() == "I keep the same hours every day. Then I stop."
    for shown in (hit_text(1, hit, color=False), hit_html(1, hit)):
        assert shown.count("avoid burnout") == 1 and "Then I stop." in shown
    assert hit.to_dict()["text"] == said  # JSON keeps the whole passage
    with pytest.raises(dataclasses.FrozenInstanceError):  # a hit is built once
        hit.question = "What do you do about tiredness?"
    other = dataclasses.replace(hit, question="What do you do about tiredness?")  # asked in another passage
    assert other.shown_text() == said  # the text stays whole

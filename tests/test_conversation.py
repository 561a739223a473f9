"""Conversation structure (issue 18): the host's question is followed to the guest's answer, key points
are answers (never a question or a rhetorical '…, right?', never the host's lead-in), and what a show
repeats in every episode (a sponsor read) ranks below what was said once. Real SQLite and FAISS
files, the deterministic fake embedder."""
import numpy as np
import pytest

from podkb import KnowledgeBase
from podkb.index.conversation import question_like
from podkb.ingest import EpisodeInfo

from .conftest import points_of
from .fake_embedder import HashEmbedder

INTERVIEW = """WEBVTT

00:00:01.000 --> 00:00:08.000
<v Maya Lin>Welcome to the show. My guest today is Ravi Shah, who coaches young athletes.

00:00:08.500 --> 00:00:10.000
<v Ravi Shah>Thanks for having me, Maya.

00:00:11.000 --> 00:00:30.000
<v Maya Lin>I want to ask you about parents and sport. A lot of parents push their child into one sport very early, and they care about winning. What advice would you have for parents who want their child to love sport? Should parents really care about the results at that age?

00:00:31.000 --> 00:00:52.000
<v Ravi Shah>I would say, first of all, parents need to expose their children to a variety of games. Let them try many of them before they choose one, and praise the effort, not the score. You have to keep it fun, right? A bored kid quits by twelve.

00:00:53.000 --> 00:01:05.000
<v Maya Lin>That is a great point. Where do you coach now, and how many teams do you have this season?

00:01:06.000 --> 00:01:20.000
<v Ravi Shah>I coach three junior teams in Leeds, and each of them trains twice a week on the river fields.
"""


@pytest.fixture
def kb(tmp_path):
    path = tmp_path / "e01.vtt"
    path.write_text(INTERVIEW)
    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as base:
        base.add([str(path)])
        yield base


def test_the_host_is_told_from_the_guest_in_one_episode(kb):
    assert kb._index.hosts() == {"e01": frozenset({"Maya Lin"})}


def test_a_hosts_several_sentence_question_is_followed_to_the_guests_answer(kb):
    query = "how should parents nurture a child's interest in sport"
    [top, *rest] = kb.search(query, k=3)
    assert top.speaker == "Ravi Shah" and top.start == 31.0
    assert top.highlight.startswith("I would say, first of all, parents need to expose their children")
    assert top.question.startswith("What advice would you have for parents")
    assert top.citation.endswith("Ravi Shah — 00:31")
    assert "What advice would you have" not in top.text  # the question is shown once, above the answer
    assert all(h.speaker != "Maya Lin" or "What advice" not in h.text for h in rest)


def test_without_a_question_a_hosts_words_stay_the_hosts(kb):
    hits = kb.search("parents sport results winning early", k=3, speaker="Maya Lin")
    assert hits and all(h.speaker == "Maya Lin" for h in hits)


def test_key_points_are_answers_never_a_question_a_rhetorical_tag_or_the_hosts_lead_in(kb):
    points = points_of(kb.path, HashEmbedder(), "should I keep sport fun for my kids", 5)
    assert points
    for point in points:
        assert point.speaker == "Ravi Shah", point
        assert "right?" not in point.text and not point.text.rstrip().endswith("?")


@pytest.mark.parametrize("query, asks", [
    ("how to avoid burnout", True), ("should I quit my job", True), ("tips for staying focused", True),
    ("what do you do when you feel stuck", True), ("Tetris Consumer Electronics Show", False),
    ("burnout", False),
])
def test_question_like_queries(query, asks):
    assert question_like(query) is asks


AD = ("This episode is brought to you by Scribe Academy, the online course that makes you a better writer in "
      "thirty days. Go to scribe academy dot com slash room for twenty percent off your first month of lessons.")


def writers_room(folder, n: int):
    """``n`` episodes of one show, each with the same sponsor read and its own, longer talk (so the
    episodes are not near-duplicates of each other)."""
    folder.mkdir()
    topics = ["Write every day, even when it is bad, and read each draft aloud before you edit it.",
              "Cut the first paragraph of anything you write; the story usually starts in the second one.",
              "Keep a notebook of overheard lines, because real speech teaches dialogue better than books do.",
              "Finish the draft before you polish a single sentence, or you never reach the ending."]
    stories = ["my grandmother kept bees behind a chapel in Wales and sold the honey at a market stall",
               "we drove a borrowed van across Nevada with a broken radio and a crate of oranges",
               "the ferry to the island stopped running in winter so the school closed every January",
               "a neighbour rebuilt a piano from scrap wood and tuned it by ear every Sunday morning"]
    for i in range(n):
        talk = " ".join(f"Then {stories[i]}, part {j}." for j in range(12))
        (folder / f"room-{i}.srt").write_text(
            f"1\n00:00:01,000 --> 00:00:20,000\n[Host]: {AD}\n\n"
            f"2\n00:00:25,000 --> 00:00:45,000\n[Guest]: {topics[i]} That is what I tell every student.\n\n"
            f"3\n00:00:50,000 --> 00:01:50,000\n[Host]: {talk}\n")
    return folder


def test_a_sponsor_read_in_three_episodes_ranks_below_real_answers_and_is_never_a_point(tmp_path):
    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        kb.add([str(writers_room(tmp_path / "room", 3))], EpisodeInfo(show="Writers Room"))
        hits = kb.search("how to become a better writer in thirty days", k=6)
        ads = [h for h in hits if "brought to you by" in h.text]
        assert ads and all(h.recurring for h in ads)
        assert not hits[0].recurring and "brought to you" not in hits[0].text
        assert all(not h.recurring for h in hits if "brought to you" not in h.text)
        points = points_of(kb.path, HashEmbedder(), "how to become a better writer in thirty days")
        assert points and all("Scribe Academy" not in p.text for p in points)
        # Still searchable when asked for: a keyword search for it finds it, marked.
        found = kb.search("Scribe Academy twenty percent", k=3, mode="keyword")
        assert found and found[0].recurring


def test_a_read_heard_in_only_two_episodes_is_not_yet_recurring(tmp_path):
    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        kb.add([str(writers_room(tmp_path / "room", 2))], EpisodeInfo(show="Writers Room"))
        assert not any(h.recurring for h in kb.search("Scribe Academy twenty percent", k=3, mode="keyword"))


def test_each_passage_keeps_its_fingerprints_and_one_stored_without_them_is_found_the_same(tmp_path):
    """A search reads each candidate's recurring-talk fingerprints from its row (issue 41); a passage stored
    before they were (NULL, as an upgraded knowledge base has) is fingerprinted from its text: the same hits."""
    import sqlite3

    from podkb.index import recurring

    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        kb.add([str(writers_room(tmp_path / "room", 3))], EpisodeInfo(show="Writers Room"))
        stored = kb.search("how to become a better writer in thirty days", k=6)
    with sqlite3.connect(tmp_path / "kb" / "podkb.db") as db:
        rows = db.execute("SELECT text, prints FROM passages").fetchall()
        assert rows and all(np.frombuffer(prints, dtype="<i8").tolist() == list(recurring.fingerprints(text))
                            for text, prints in rows)
        assert sum(len(prints) for _, prints in rows) > 0
        db.execute("UPDATE passages SET prints = NULL")
    recurring.fingerprints.cache_clear()
    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        again = kb.search("how to become a better writer in thirty days", k=6)
    assert [(h.passage_id, h.score, h.recurring) for h in again] == [(h.passage_id, h.score, h.recurring) for h in stored]
    assert any(h.recurring for h in again)

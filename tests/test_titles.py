"""Chapter titles from a chapter's own words (index/chapters.py `_title`): what a title leaves out."""
import numpy as np

from podkb.index import chapters


def titled(*texts, named):
    """The title of a chapter saying ``texts``, the first the most central."""
    texts = (*texts, "Yes.")  # a word of no title, said as the first is, which draws the centre to it
    sentences = [(text, 10.0 * i, i) for i, text in enumerate(texts)]
    vectors = np.zeros((len(texts), 4), dtype=np.float32)
    vectors[:, 0] = 1.0
    vectors[1:-1, 1] = 1.0  # the others further from the centre
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return chapters._title(sentences, vectors, named)


def test_an_aside_in_brackets_never_reaches_a_title():
    # a transcriber's note holding a time split the clause at its decimal point: "06] related to blood flow"
    title = titled("And then heart attack is [unintelligible 00:34:45.06] related to blood flow.", named=["blood flow"])
    assert title == "Heart attack is related to blood flow"


def test_a_question_cut_of_its_first_word_is_not_a_title():
    title = titled("How the heck do you work with your family?", "The thing that matters most is family.",
                   named=["family"])
    assert title == "The thing that matters most is family"


def test_a_title_neither_starts_nor_ends_on_a_hedge():
    assert titled("I would say curiosity around software development.", named=["software development"]) == \
        "Curiosity around software development"
    assert titled("Yeah, making confident decisions I guess.", named=["confident decisions"]) == \
        "Making confident decisions"

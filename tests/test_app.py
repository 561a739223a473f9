"""The web app's flows through streamlit.testing's AppTest: search, filter, save, export, library changes, safety."""
import pytest
from streamlit.testing.v1 import AppTest

from podkb import KnowledgeBase
from podkb.ingest import add_paths

from podkb.knowledgebase import open_store
from podkb.index import Index
from podkb.ui.quotes import Collections

from .conftest import FAKE_MODEL, ROOT, TRANSCRIPTS, silent_wav

APP = str(ROOT / "ui" / "app.py")
HOSTILE = """1
00:00:01,000 --> 00:00:04,000
Burnout warning <script>alert('xss')</script> and <img src=x onerror=alert(1)> here.

2
00:00:04,500 --> 00:00:09,000
Read [this link](javascript:alert(2)) and **bold** claims about burnout and rest, $x^2$ too.
"""


@pytest.fixture
def app_kb(tmp_path):
    folder = tmp_path / "app_kb"
    hostile = tmp_path / "hostile-episode.srt"
    hostile.write_text(HOSTILE)
    with open_store(folder) as library:
        list(add_paths(library, [str(TRANSCRIPTS), str(hostile)]))
        Index(library, model=FAKE_MODEL).sync()
    return folder


@pytest.fixture
def app(app_kb, monkeypatch):
    monkeypatch.setenv("PODKB_HOME", str(app_kb))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def hit_cards(at):
    return [h.value for h in at.get("html") if 'class="podkb-hit"' in h.value]


def ask(at, question):
    at.text_input(key="q").set_value(question).run()
    assert not at.exception, at.exception
    return hit_cards(at)


def test_search_cites_hits_and_keeps_the_question_in_the_url(app):
    assert hit_cards(app) == []  # no question yet: examples, no hits
    assert [b.label for b in app.button][:1] == ["how to avoid burnout"]
    cards = ask(app, "practice deep learning every day")
    assert len(cards) >= 3
    assert all('class="ts"' in card or "¶" in card for card in cards)  # each cites its moment
    assert any("<mark>" in card for card in cards)  # the best sentence is highlighted
    assert app.query_params["q"] == "practice deep learning every day"
    # Context opens onto the neighbouring segments.
    assert any('class="podkb-context"' in h.value for h in app.get("html"))


def test_example_questions_fill_the_box(app):
    app.button(key="example-how to avoid burnout").click().run()
    assert app.text_input(key="q").value == "how to avoid burnout"
    assert hit_cards(app)


def test_a_shared_link_opens_the_same_search(app_kb, monkeypatch):
    monkeypatch.setenv("PODKB_HOME", str(app_kb))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["q"] = "learning to learn"
    at.query_params["show"] = "Chai Time Data Science"
    at.run()
    assert at.text_input(key="q").value == "learning to learn"
    cards = hit_cards(at)
    assert cards and all("Chai Time Data Science" in card for card in cards)


def test_filters_narrow_the_hits(app):
    ask(app, "learning")
    shows = {card.split(" · ")[1] for card in hit_cards(app)}
    assert len(shows) > 1
    app.selectbox(key="show").set_value("Fastbook reading sessions (Weights & Biases)").run()
    assert app.query_params["show"] == "Fastbook reading sessions (Weights & Biases)"
    cards = hit_cards(app)
    assert cards and all("Fastbook reading sessions (Weights &amp; Biases)" in card for card in cards)
    app.selectbox(key="speaker").set_value("Jeremy Howard").run()
    assert all("Jeremy Howard" in card for card in hit_cards(app))


def test_empty_and_useless_questions_get_a_message_not_an_exception(app):
    ask(app, "?!?")
    assert "no words to search" in app.warning[0].value
    ask(app, "zzqxv")
    assert not app.exception
    ask(app, "   ")
    assert hit_cards(app) == [] and not app.exception


def test_duplicate_episodes_give_one_hit(app):
    cards = ask(app, "Karpathy advice for beginners")
    karpathy = [card for card in cards if "Andrej Karpathy" in card]
    assert len(karpathy) == len({card[card.index("</b>"):card.index("</div>")] for card in karpathy})
    assert any("Also in:" in card for card in karpathy)


def save_first_hit(at, collection, text=None, note=""):
    submit = next(b for b in at.button if b.label == "Save to collection")
    form = submit.form_id
    if text is not None:
        next(w for w in at.text_area if w.form_id == form).set_value(text)
    inputs = {w.label: w for w in at.text_input if w.form_id == form}
    inputs["Collection"].set_value(collection)
    inputs["Note"].set_value(note)
    inputs["Tags"].set_value("rest, habits")
    submit.click().run()
    assert not at.exception, at.exception


def test_save_a_trimmed_quote_then_reorder_export_and_delete(app, app_kb):
    ask(app, "burnout and rest")
    passage = app.text_area[0].value
    words = passage.split()
    trimmed = " ".join(words[2:9])
    save_first_hit(app, "Rest", trimmed, note="a <b>note</b>")
    assert any("Saved to Rest" in s.value for s in app.success)
    save_first_hit(app, "Rest")  # the whole passage
    with open_store(app_kb) as library:
        quotes = Collections(library).quotes("Rest")
    assert [q.text for q in quotes] == [trimmed, " ".join(words)]
    assert quotes[0].tags == ["rest", "habits"] and quotes[0].note == "a <b>note</b>"
    assert quotes[1].start is not None and quotes[0].start >= quotes[1].start  # the trimmed part starts later
    # A rewritten quote is refused with a message.
    save_first_hit(app, "Rest", "words nobody said in this passage")
    assert any("trim its start or end" in err.value for err in app.error)

    app.radio(key="page").set_value("Collections").run()
    assert app.query_params["page"] == "Collections"
    assert {b.label for b in app.get("download_button")} == {
        "Markdown", "CSV", "JSON", "Readwise CSV", "Anki CSV", "Obsidian Markdown"}
    cards = [h.value for h in app.get("html") if "podkb-hit" in h.value]
    assert "a &lt;b&gt;note&lt;/b&gt;" in cards[0]
    app.button(key=f"down-{quotes[0].id}").click().run()
    with open_store(app_kb) as library:
        assert [q.id for q in Collections(library).quotes("Rest")] == [quotes[1].id, quotes[0].id]
    app.button(key=f"delete-{quotes[0].id}").click().run()
    with open_store(app_kb) as library:
        assert [q.id for q in Collections(library).quotes("Rest")] == [quotes[1].id]


def test_library_lists_uploads_and_removes_after_confirmation(app, app_kb):
    app.radio(key="page").set_value("Library").run()
    table = app.dataframe[0].value
    assert len(table) == 6 and set(table.columns) >= {"Episode", "Duration", "Passages", "Source", "Duplicate of"}
    duplicate = table[table["id"] == "karpathy-advice"]["Duplicate of"].iloc[0]
    assert "81% shared" in duplicate
    # Upload: a hostile name can't leave the uploads folder; a bad file gets one line; the good one is added.
    srt = b"1\n00:00:01,000 --> 00:00:03,000\nUploaded advice: sleep well before you study.\n"
    app.file_uploader[0].set_value([("../../escape.srt", srt, "application/x-subrip"),
                                    ("empty.txt", b"", "text/plain")])
    [add] = [b for b in app.button if b.label == "Add"]
    add.click().run()
    assert not app.exception, app.exception
    assert (app_kb / "uploads" / "escape.srt").read_bytes() == srt
    assert not (app_kb.parent.parent / "escape.srt").exists()
    assert any("empty.txt" in err.value and "empty" in err.value for err in app.error)
    assert not (app_kb / "uploads" / "empty.txt").exists()  # a rejected upload leaves nothing behind
    assert not any(str(app_kb.parent) in err.value for err in app.error)  # and names no server folder
    with open_store(app_kb) as library:
        assert any(ep.path and ep.path.endswith("uploads/escape.srt") for ep in library.episodes())
    # A transcript gets its recording, and its hits then play from their moment.
    app.selectbox(key="attach-choice").set_value("chai-time-learning-to-learn")
    app.file_uploader[1].set_value(("fake.mp3", b"This is text, not audio.\n" * 20, "audio/mpeg"))
    [attach] = [b for b in app.button if b.label == "Attach"]
    attach.click().run()
    assert any(err.value.startswith("fake.mp3") and "not audio podkb can play" in err.value for err in app.error)
    assert not (app_kb / "uploads" / "fake.mp3").exists()
    app.selectbox(key="attach-choice").set_value("chai-time-learning-to-learn")
    app.file_uploader[1].set_value(("../chai.wav", silent_wav(), "audio/wav"))
    [attach] = [b for b in app.button if b.label == "Attach"]
    attach.click().run()
    assert not app.exception, app.exception
    with open_store(app_kb) as library:
        assert library.episode("chai-time-learning-to-learn").media == str((app_kb / "uploads" / "chai.wav").resolve())
    app.radio(key="page").set_value("Search").run()
    ask(app, "how to avoid burnout")
    assert any(t.label.startswith("▶ Play from") for t in app.toggle)
    app.toggle[0].set_value(True).run()
    assert app.get("audio") and not app.exception
    app.radio(key="page").set_value("Library").run()
    # Remove asks first.
    app.selectbox(key="remove-choice").set_value("fastai-lesson-8").run()
    [remove] = [b for b in app.button if b.label == "Remove…"]
    remove.click().run()
    with open_store(app_kb) as library:
        assert "fastai-lesson-8" in {ep.id for ep in library.episodes()}
    [yes] = [b for b in app.button if b.label == "Yes, remove"]
    yes.click().run()
    with open_store(app_kb) as library:
        ids = {ep.id for ep in library.episodes()}
        passages = library.db.execute("SELECT count(*) FROM passages WHERE episode_id = 'fastai-lesson-8'")
        assert "fastai-lesson-8" not in ids and passages.fetchone()[0] == 0


def test_transcript_markup_is_shown_as_text(app):
    cards = ask(app, "burnout warning script link bold")
    hostile = [card for card in cards if "hostile" in card.lower()]
    assert hostile, cards
    card = hostile[0]
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in card
    assert "&lt;img src=x onerror=alert(1)&gt;" in card
    assert "<script" not in card and "<img" not in card and "<a " not in card
    context = [h.value for h in app.get("html") if 'class="podkb-context"' in h.value]
    assert context and all("<script" not in c for c in context)


def test_an_empty_knowledge_base_says_where_to_start(tmp_path, monkeypatch):
    monkeypatch.setenv("PODKB_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("PODKB_MODEL", FAKE_MODEL)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception and "knowledge base is empty" in at.info[0].value
    at.radio(key="page").set_value("Collections").run()
    assert "No collections yet" in at.info[0].value


def test_the_library_page_sends_imports_to_the_ray_cluster_it_names(app, app_kb):
    """The cluster is a setting of the Library page; one that can't be reached is one message, before any work."""
    app.radio(key="page").set_value("Library").run()
    app.text_input(key="ray").set_value("127.0.0.1:1").run()
    srt = b"1\n00:00:01,000 --> 00:00:03,000\nSent to a cluster that is not there.\n"
    app.file_uploader[0].set_value([("cluster.srt", srt, "application/x-subrip")])
    [add] = [b for b in app.button if b.label == "Add"]
    add.click().run()
    assert not app.exception, app.exception
    assert any("cannot reach the Ray cluster at 127.0.0.1" in err.value for err in app.error), [e.value for e in app.error]
    assert not (app_kb / "uploads" / "cluster.srt").exists()
    with KnowledgeBase(app_kb) as kb:
        assert not any(ep.title == "cluster" for ep in kb.episodes())

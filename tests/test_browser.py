"""End to end in a real headless Chromium (Debian's, driven by Playwright) against `podkb serve`.

Types a question, checks a cited hit found by the real model, saves it to a collection, downloads
the Markdown export and checks the file, and keeps a screenshot of the search page.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]
SCREENSHOTS = Path(os.environ.get("PODKB_SCREENSHOTS", ROOT / ".screenshots"))

# `make test` installs chromium; in CI a missing browser must fail, not skip.
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                                   reason="needs /usr/bin/chromium (make test installs it)")]


SPOKEN_SRT = """1
00:00:00,000 --> 00:00:03,500
Welcome to a short show about study habits.

2
00:00:03,500 --> 00:00:08,000
Take a walk outside whenever you feel tired of the screen.
"""


def add_spoken_episode(kb: Path, tmp_path: Path) -> None:
    """A transcript with its audio (espeak-ng speech), so a hit can play from its moment."""
    from podkb.ingest import EpisodeInfo

    from .conftest import built
    from .speech import speak

    srt = tmp_path / "habits.srt"
    srt.write_text(SPOKEN_SRT)
    wav = speak("Welcome to a short show about study habits. Take a walk outside whenever you feel tired of the "
                "screen.", tmp_path / "habits.wav")
    [outcome] = built(kb, [srt], info=EpisodeInfo(title="Study habits", show="Habits Radio", media=str(wav)))
    assert outcome.error is None, outcome.error


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(real_kb, tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(real_kb, kb)
    add_spoken_episode(kb, tmp_path)
    process, url = serve(kb, tmp_path, ROOT)
    yield url, kb
    process.terminate()
    process.wait(timeout=20)


def serve(kb: Path, tmp_path: Path, cwd: Path) -> tuple[subprocess.Popen, str]:
    """`podkb serve` of ``kb``, started in ``cwd``, once its health check answers."""
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    env = {k: v for k, v in os.environ.items() if k != "PODKB_MODEL"}
    podkb = Path(sys.executable).with_name("podkb")
    process = subprocess.Popen([str(podkb), "serve", "--port", str(port), "--kb", str(kb)], cwd=cwd, stdout=log,
                               stderr=subprocess.STDOUT, env=dict(env, HF_HUB_OFFLINE="1"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the app did not start:\n" + (tmp_path / "serve.log").read_text())
    return process, url


def settle(page) -> None:
    """Wait until Streamlit has finished the script run (its 'running' widget is gone)."""
    page.wait_for_timeout(500)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)


def test_ask_save_and_download_in_a_real_browser(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from podkb.index.questions import is_question

    url, kb = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(url, wait_until="networkidle")

        box = page.get_by_label("Ask a question")
        box.fill("how to avoid burnout")
        box.press("Enter")
        # Key points first: each an answer (never the question), cited at its moment.
        point = page.locator(".podkb-point").first
        expect(point).to_be_visible(timeout=90_000)
        said = point.inner_text().split("“", 1)[1].split("”", 1)[0]
        assert not is_question(said) and "Chai Time" in point.locator(".cite").inner_text()
        first = page.locator(".podkb-hit:not(.podkb-point)").first
        expect(first).to_be_visible(timeout=30_000)
        assert "q=how+to+avoid+burnout" in page.url or "q=how%20to%20avoid%20burnout" in page.url
        card = first.inner_text()
        assert "burnout" in card.lower()
        asked = first.locator(".asked")
        if asked.count():  # an answer-first hit shows the question it answers above the answer
            assert "Asked:" in asked.inner_text() and not is_question(first.locator("mark").inner_text())
        citation = first.locator(".cite").inner_text()
        assert "Lex Fridman Podcast" in citation or "Chai Time" in citation or ":" in citation
        settle(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "search-page.png"), full_page=False)

        page.get_by_role("button", name="Save quote").first.click()
        visible = "visible=true"
        page.get_by_role("textbox", name="Collection", exact=True).locator(visible).first.fill("Burnout")
        page.get_by_role("textbox", name="Note", exact=True).locator(visible).first.fill("rest before you are tired")
        page.get_by_role("button", name="Save to collection").locator(visible).first.click()
        expect(page.get_by_text("Saved to Burnout")).to_be_visible(timeout=30_000)
        page.keyboard.press("Escape")  # close the popover
        settle(page)
        # A key point goes into the current collection in one click; the moment just saved from the
        # hits is not saved twice without asking.
        saves = page.get_by_role("button", name="Save", exact=True)
        saves.first.click()
        already, saved = page.get_by_text("is already in Burnout as quote 1"), page.get_by_text("Saved to Burnout (quote 2")
        expect(already.or_(saved)).to_be_visible(timeout=30_000)
        if already.is_visible():
            settle(page)
            saves.nth(1).click()
            expect(saved).to_be_visible(timeout=30_000)
        settle(page)

        page.get_by_text("Collections", exact=True).click()
        download_button = page.get_by_role("button", name="Markdown", exact=True)
        expect(download_button).to_be_visible(timeout=30_000)
        with page.expect_download() as info:
            download_button.click()
        saved = tmp_path / "burnout.md"
        info.value.save_as(saved)
        assert info.value.suggested_filename == "burnout.md"
        markdown = saved.read_text()
        lines = markdown.splitlines()
        assert lines[0] == "# Burnout"
        quote_lines = [line for line in lines if line.startswith("> ") and not line.startswith("> —")]
        assert len(quote_lines) == 2 and "burnout" in markdown.lower()
        assert any(line.startswith("> — ") for line in lines)  # the citation under the quote
        assert "rest before you are tired" in markdown
        settle(page)
        page.screenshot(path=str(SCREENSHOTS / "collections-page.png"), full_page=False)

        # Play from here: the episode with audio plays from the cited moment.
        page.get_by_text("Search", exact=True).click()
        box = page.get_by_label("Ask a question")
        box.fill("walk outside when tired of the screen")
        box.press("Enter")
        hit = page.locator(".podkb-hit", has_text="Habits Radio").first
        expect(hit).to_be_visible(timeout=60_000)
        assert "00:03" in hit.locator(".ts").inner_text()
        page.get_by_text("▶ Play from 00:03").first.click()
        audio = page.locator("audio").first
        expect(audio).to_be_attached(timeout=30_000)
        page.wait_for_function("() => { const a = document.querySelector('audio'); return a && a.readyState >= 1; }",
                               timeout=30_000)
        assert audio.evaluate("a => a.currentTime") == pytest.approx(3, abs=0.6)
        browser.close()
    assert dialogs == []  # no transcript text ever ran as script


def pick(page, box, option_name: str) -> None:
    """Choose an option of a Streamlit selectbox. Just after its expander opens, a click can focus the
    box without opening its list: click again until the list is there."""
    from playwright.sync_api import expect

    option = page.get_by_role("option", name=option_name, exact=True)
    for _ in range(10):
        box.click()
        try:
            expect(option).to_be_visible(timeout=3_000)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    option.click()


def luminance(rgb: str) -> float:
    """0 (black) to 1 (white), from a computed 'rgb(r, g, b)' colour."""
    r, g, b = (int(v) / 255 for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_phrase_quote_episode_page_chapters_rename_and_dark_mode_in_a_real_browser(server):
    from urllib.parse import quote

    from playwright.sync_api import expect, sync_playwright

    from podkb import KnowledgeBase
    from podkb import format_timestamp

    url, kb = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS + ["--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

        # A quoted phrase: every hit says it, word for word, and cites the sentence that does.
        page.goto(f"{url}/?q={quote(chr(34) + 'four hours' + chr(34))}", wait_until="networkidle")
        hits = page.locator(".podkb-hit:not(.podkb-point)")
        expect(hits.first).to_be_visible(timeout=90_000)
        settle(page)
        assert all("four hours" in " ".join(text.lower().split()) for text in hits.all_inner_texts())
        first = hits.first
        marked = " ".join(first.locator("mark").inner_text().split())
        shown_at = first.locator(".cite a.ts").inner_text()
        assert "four hours" in marked.lower()

        # Saved, the quote is that sentence, timed to it.
        page.get_by_role("button", name="Save quote").first.click()
        visible = "visible=true"
        page.get_by_role("textbox", name="Collection", exact=True).locator(visible).first.fill("Hours")
        page.get_by_role("button", name="Save to collection").locator(visible).first.click()
        expect(page.get_by_text("Saved to Hours")).to_be_visible(timeout=30_000)
        page.keyboard.press("Escape")
        with KnowledgeBase(kb) as base:
            [saved] = base.collections.quotes("Hours")
        assert saved.text == marked and format_timestamp(saved.start) == shown_at

        # The hit's moment opens its episode page there: the line said then is marked; chapters link onwards.
        first.locator(".cite a.ts").click()
        page.wait_for_url("**/episode?**", timeout=30_000)
        here = page.locator(".podkb-transcript p.here")
        expect(here).to_be_visible(timeout=60_000)
        settle(page)
        assert float(here.get_attribute("data-t")) <= saved.start + 1
        chapters = page.locator(".podkb-chapters li")
        assert chapters.count() >= 3
        page.screenshot(path=str(SCREENSHOTS / "episode-page.png"), full_page=False)
        link = chapters.nth(2).locator("a")
        starts = float(link.get_attribute("data-t"))
        link.click()
        page.wait_for_url(f"**t={int(starts)}**", timeout=30_000)
        expect(page.locator(".podkb-transcript p.here")).to_be_visible(timeout=60_000)
        settle(page)
        at = float(page.locator(".podkb-transcript p.here").get_attribute("data-t"))
        assert starts - 60 <= at <= starts + 0.5  # the line being said when the chapter starts

        # With a recording, a line's time plays from there in the page, and the line heard is marked.
        page.goto(f"{url}/episode?episode=habits", wait_until="networkidle")
        line = page.locator(".podkb-transcript p[data-t='3.5'] a.ts")
        expect(line).to_be_visible(timeout=60_000)
        settle(page)
        line.click()
        page.wait_for_function("() => { const a = document.querySelector('audio'); return a && a.currentTime >= 3.4; }",
                               timeout=30_000)
        expect(page.locator(".podkb-transcript p.playing")).to_have_attribute("data-t", "3.5", timeout=30_000)
        assert "/episode?" in page.url and "t=3" not in page.url  # played in place, no reload

        # Rename a speaker on the episode page; the next search's hits carry the new name.
        page.goto(f"{url}/episode?episode=chai-time-learning-to-learn", wait_until="networkidle")
        expect(page.get_by_text("Edit this episode")).to_be_visible(timeout=60_000)
        settle(page)
        page.get_by_text("Edit this episode").click()
        speaker = page.get_by_role("combobox", name="Speaker")
        expect(speaker).to_be_visible(timeout=30_000)
        pick(page, speaker, "Rob Bracco")
        page.get_by_role("textbox", name="New name").fill("Robert Bracco")
        page.get_by_role("button", name="Rename").click()
        expect(page.get_by_text("Renamed Rob Bracco to Robert Bracco")).to_be_visible(timeout=30_000)
        page.goto(f"{url}/?q=how+to+avoid+burnout", wait_until="networkidle")
        expect(hits.first).to_be_visible(timeout=60_000)
        settle(page)
        cited = " ".join(hits.all_inner_texts())
        assert "Robert Bracco" in cited and "Rob Bracco ·" not in cited and "Rob Bracco\n" not in cited

        # Dark mode (the system's, which Streamlit follows): hit titles are light on dark.
        dark = browser.new_page(viewport={"width": 1400, "height": 1000}, color_scheme="dark")
        dark.goto(f"{url}/?q=how+to+avoid+burnout", wait_until="networkidle")
        card = dark.locator(".podkb-hit:not(.podkb-point)").first
        expect(card).to_be_visible(timeout=60_000)
        settle(dark)
        background = dark.evaluate("getComputedStyle(document.querySelector('.stApp')).backgroundColor")
        assert luminance(background) < 0.2
        for part in (".cite b", "div:not(.cite)"):
            assert luminance(card.locator(part).first.evaluate("e => getComputedStyle(e).color")) > 0.6, part
        dark.screenshot(path=str(SCREENSHOTS / "dark-mode.png"), full_page=False)
        browser.close()
    assert dialogs == []


def in_view(page, selector: str) -> bool:
    return page.evaluate(f"""() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect();
                                      return r.top >= 0 && r.bottom <= window.innerHeight; }}""")


def test_the_episode_page_as_a_newcomer_uses_it_in_a_real_browser(server):
    """Issue 27, item 15: Open episode stays in the tab and lands at the moment, in view; a chapter's link
    (no audio) lands at its line, in view; Context is the card's width; a phone sees the question box
    and two example questions, not a screen of buttons."""
    from playwright.sync_api import expect, sync_playwright

    url, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(f"{url}/?q=how+to+avoid+burnout", wait_until="networkidle")
        card = page.locator(".podkb-hit:not(.podkb-point)").first
        expect(card).to_be_visible(timeout=90_000)
        settle(page)

        # Context opens across the whole card, not in a quarter of it.
        page.get_by_text("Context", exact=True).first.click()
        shown = page.locator(".podkb-context").first
        expect(shown).to_be_visible(timeout=30_000)
        assert shown.bounding_box()["width"] >= 0.8 * card.bounding_box()["width"]  # the first hit's card

        # Open episode: this tab, the moment marked and scrolled into view.
        page.get_by_role("button", name="Open episode").first.click()
        page.wait_for_url("**/episode?**", timeout=30_000)
        here = page.locator(".podkb-transcript p.here")
        expect(here).to_be_visible(timeout=60_000)
        settle(page)
        page.wait_for_function("() => window.podkbScrolled !== undefined", timeout=30_000)
        assert len(context.pages) == 1
        assert in_view(page, ".podkb-transcript p.here")

        # A chapter far into a long episode without audio: the page reloads there, its line in view.
        page.goto(f"{url}/episode?episode=fastbook-reading-session", wait_until="networkidle")
        chapters = page.locator(".podkb-chapters li a")
        expect(chapters.first).to_be_visible(timeout=60_000)
        settle(page)
        chapters.nth(chapters.count() - 2).click()
        page.wait_for_url("**t=**", timeout=30_000)
        expect(page.locator(".podkb-transcript p.here")).to_be_visible(timeout=60_000)
        settle(page)
        page.wait_for_function("() => window.podkbScrolled !== undefined", timeout=30_000)
        assert in_view(page, ".podkb-transcript p.here")

        # A phone: the box and the first examples fit in the top of the first screen.
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.goto(url, wait_until="networkidle")
        expect(phone.get_by_role("textbox", name="Ask a question")).to_be_visible(timeout=60_000)
        settle(phone)
        buttons = phone.locator(".st-key-examples button").locator("visible=true")
        assert 1 <= buttons.count() <= 2
        bottom = max(b["y"] + b["height"] for b in (buttons.nth(i).bounding_box() for i in range(buttons.count())))
        assert bottom < 0.5 * 844
        phone.screenshot(path=str(SCREENSHOTS / "phone.png"), full_page=False)
        browser.close()


def test_served_from_the_clones_parent_a_markdown_title_is_text_and_fetches_nothing(real_kb, tmp_path):
    """Issue 27, items 4, 5 and 12: `podkb serve` started in the folder above the clone shows the app; an
    episode titled with Markdown (an image from a local server, a link) shows it as text and nothing is
    fetched; a moment of `t=²` shows the page from its beginning."""
    from playwright.sync_api import expect, sync_playwright

    from podkb import KnowledgeBase

    from .feedserver import FeedServer

    kb = tmp_path / "kb"
    shutil.copytree(real_kb, kb)
    with FeedServer() as pixels:
        pixel = pixels.serve("/pixel.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")
        title = f"Rest ![tracker]({pixel}) and [click](javascript:alert(1)) **now**"
        with KnowledgeBase(kb) as base:
            base.edit("fastbook-reading-session", title=title)
        process, url = serve(kb, tmp_path, ROOT.parent)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(f"{url}/?page=Episode&episode=fastbook-reading-session&t=%C2%B2", wait_until="networkidle")
                heading = page.locator("h1").filter(has_text="Rest")
                expect(heading).to_be_visible(timeout=90_000)
                settle(page)
                assert "![tracker](" in heading.inner_text() and "**now**" in heading.inner_text()
                # Streamlit's own anchor link beside a heading points into the page; nothing else is a link
                assert heading.locator("img, a:not([href^='#'])").count() == 0, heading.inner_html()
                expect(page.locator(".podkb-transcript p").first).to_be_visible(timeout=30_000)
                assert page.locator("[data-testid='stException']").count() == 0
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=20)
        assert not [r for r in pixels.requests if r.startswith("/pixel")], pixels.requests

"""Every task from the generate page in a real browser: drag-and-drop and picked
uploads with their previews, results for images, captions, streamed text,
summaries and transcripts with their downloads; a refused upload's message;
deleting from the gallery; and the admin pages with the moderation queue."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import LiveServer, create_account
from tests.inference.test_whisper import wav_bytes
from tests.web.conftest import (
    PASSWORD,
    Shots,
    Watched,
    assert_clean,
    needs_browser,
    open_page,
    sign_up,
)

DONE = "() => ['succeeded', 'failed', 'canceled'].includes(document.getElementById('result-card').dataset.state)"
# Records whether streamed text was ever on the page before the job ended.
WATCH_STREAM = """() => { window.__streamed = false;
  new MutationObserver(() => { if (document.querySelector('.textout.streaming')?.textContent) window.__streamed = true; })
    .observe(document.getElementById('result'), { childList: true, subtree: true, characterData: true }); }"""


def png_file(tmp_path: Path, name: str = "source.png") -> Path:
    path = tmp_path / name
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 120, 200)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def drop_file(page: Any, selector: str, path: Path, mime: str) -> None:
    """A real drop event carrying the file, as a drag from the desktop would send."""
    data = list(path.read_bytes())
    transfer = page.evaluate_handle(
        """([bytes, name, mime]) => { const dt = new DataTransfer();
             dt.items.add(new File([new Uint8Array(bytes)], name, { type: mime })); return dt; }""",
        [data, path.name, mime],
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def wait_done(page: Any) -> None:
    page.wait_for_function(DONE)
    assert page.get_attribute("#result-card", "data-state") == "succeeded", page.text_content("#status")


def image_to_image(user: Watched, shots: Shots, tmp_path: Path) -> None:
    page = user.page
    page.goto(f"{user.base}/?task=image-to-image")
    drop_file(page, "#dropzone", png_file(tmp_path), "image/png")
    page.wait_for_function(
        "() => { const i = document.querySelector('#source-preview img'); return i && i.naturalWidth === 64; }"
    )
    assert page.input_value("#source")
    page.fill("#num_variations", "2")
    page.click("#advanced summary")
    page.fill("#steps", "4")
    page.click("#submit")
    wait_done(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#result img')].filter(i => i.naturalWidth > 0).length === 2"
    )
    shots.take(page, "20-image-to-image")


def caption(user: Watched, shots: Shots, tmp_path: Path) -> None:
    page = user.page
    page.goto(f"{user.base}/?task=caption")
    page.set_input_files("#source-file", str(png_file(tmp_path, "photo.png")))
    page.locator("#source-preview img").wait_for()
    page.select_option("#tone", "poetic")
    page.click("#submit")
    wait_done(page)
    assert page.locator("#result .caption-out").count() == 1
    shots.take(page, "21-caption")


def text(user: Watched, shots: Shots) -> None:
    page = user.page
    page.goto(f"{user.base}/?task=text")
    page.evaluate(WATCH_STREAM)
    page.fill("#message", "Write a haiku about rain.")
    page.fill("#max_tokens", "24")
    page.click("#submit")
    wait_done(page)
    assert page.evaluate("() => window.__streamed"), "tokens showed while they were written"
    assert page.locator("#result .textout").count() == 1
    assert page.locator("#result-actions a[href$='format=txt']").count() == 1
    shots.take(page, "22-text")


def summarize(user: Watched) -> None:
    page = user.page
    page.goto(f"{user.base}/?task=summarize")
    page.fill("#text", "The tide came in at dawn. " * 20)
    page.select_option("#style", "bullets")
    page.click("#advanced summary")
    page.fill("#max_tokens", "16")
    page.click("#submit")
    wait_done(page)


def transcribe(user: Watched, shots: Shots, tmp_path: Path) -> None:
    page = user.page
    page.goto(f"{user.base}/?task=transcribe")
    audio = tmp_path / "voice.wav"
    audio.write_bytes(wav_bytes(2.0))
    drop_file(page, "#dropzone", audio, "audio/wav")
    page.locator("#source-preview audio").wait_for(state="attached")
    page.click("#submit")
    wait_done(page)
    links = page.locator("#result-actions a[download]").all_text_contents()
    assert links == ["TXT", "SRT", "VTT", "JSON"]
    srt = page.get_attribute("#result-actions a[href$='format=srt']", "href")
    response = page.request.get(f"{user.base}{srt}")
    assert response.status == 200 and "-->" in response.text()
    shots.take(page, "23-transcribe")


def refused_upload(user: Watched, tmp_path: Path) -> None:
    page = user.page
    page.goto(f"{user.base}/?task=caption")
    bogus = tmp_path / "notes.png"
    bogus.write_text("not an image at all")
    user.allowed_statuses.add(415)
    page.set_input_files("#source-file", str(bogus))
    error = page.locator("#source-error")
    error.wait_for(state="visible")
    assert error.text_content()
    page.click("#submit")
    assert page.text_content("#source-error") == "Add a file first."
    assert page.evaluate("() => document.activeElement.id") == "source-file"


def delete_from_gallery(user: Watched, shots: Shots) -> None:
    page = user.page
    page.goto(f"{user.base}/gallery")
    shots.take(page, "24-gallery")
    before = page.locator("#gallery li.job").count()
    button = page.locator("#gallery button[data-delete]").first
    button.click()
    assert button.text_content() == "Press again to delete"
    button.click()
    page.wait_for_function(f"() => document.querySelectorAll('#gallery li.job').length === {before - 1}")
    page.reload()
    assert page.locator("#gallery li.job").count() == before - 1


@needs_browser
@pytest.mark.timeout(600)
def test_every_task_from_the_generate_page(browser: Any, live: LiveServer, shots: Shots, tmp_path: Path) -> None:
    user = open_page(browser, live.url)
    sign_up(user, "maker")
    image_to_image(user, shots, tmp_path)
    caption(user, shots, tmp_path)
    text(user, shots)
    summarize(user)
    transcribe(user, shots, tmp_path)
    refused_upload(user, tmp_path)
    delete_from_gallery(user, shots)
    assert_clean(user)


@needs_browser
@pytest.mark.timeout(420)
def test_report_and_hide_from_the_moderation_queue(browser: Any, live: LiveServer, shots: Shots) -> None:
    author = open_page(browser, live.url)
    sign_up(author, "author")
    page = author.page
    page.fill("#prompt", "to be reported")
    page.fill("#width", "64")
    page.fill("#height", "64")
    page.fill("#steps", "2")
    page.click("#submit")
    wait_done(page)
    page.click("#result-actions a:text('Share')")
    page.fill("#share-title-input", "Reported post")
    page.click("#share-submit")
    page.wait_for_url("**/posts/*")
    post_url = page.url

    reader = open_page(browser, live.url)
    sign_up(reader, "reader")
    reader.page.goto(post_url)
    reader.page.click("#report-title")
    reader.page.select_option("#report-reason", "spam")
    reader.page.fill("#report-note", "<b>buy now</b>")
    reader.page.click("#report-submit")
    reader.page.locator("text=the moderators will look at it").wait_for()

    create_account(live.services, "boss", admin=True)
    admin = open_page(browser, live.url)
    admin.page.goto(f"{live.url}/login")
    admin.page.fill("#login", "boss")
    admin.page.fill("#password", "a test password that nobody would guess")
    admin.page.click("#submit")
    admin.page.wait_for_url(f"{live.url}/")
    assert admin.page.locator("nav a[href='/admin']").count() == 1
    admin.page.goto(f"{live.url}/admin")
    admin.page.locator("#users tr", has_text="reader").locator("select[data-field='plan']").select_option("pro")
    admin.page.locator("#toast:has-text('reader is now user on pro')").wait_for()
    shots.take(admin.page, "25-admin")
    admin.page.goto(f"{live.url}/admin/moderation")
    report = admin.page.locator("#reports li.report").first
    report.wait_for()
    assert "<b>buy now</b>" in (report.text_content() or "")
    shots.take(admin.page, "26-moderation")
    report.locator("button:text('Hide')").click()
    report.locator("button:text('Unhide')").wait_for()

    reader.allowed_statuses.add(404)
    assert reader.page.goto(post_url).status == 404
    author.page.goto(post_url)
    assert "Hidden by a moderator (reason: spam)" in (author.page.text_content("#hidden-notice") or "")
    for watched in (author, reader, admin):
        assert_clean(watched)
    assert PASSWORD  # the browser accounts share the one test password

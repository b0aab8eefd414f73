"""The blocklist: matching rules, where it is loaded from, and the 422 it gives at every submit."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptmagic.config import Settings
from aptmagic.kit.blocklist import BlockedContent, Blocklist, load_blocklist
from tests.social.conftest import BLOCKED, User, error_of


@pytest.mark.parametrize(
    ("text", "blocked"),
    [
        ("forbiddenword", True), ("a FORBIDDENWORD here", True), ("(forbiddenword)", True),
        ("ｆｏｒｂｉｄｄｅｎｗｏｒｄ", True),  # full-width forms, folded by NFKC
        ("forbiddenwords", False), ("unforbiddenword", False), ("forbidden word", False),
        ("a very bad phrase indeed", True), ("very  bad\nphrase", True), ("very bad", False), ("", False),
    ],
)  # fmt: skip
def test_matching(text: str, blocked: bool) -> None:
    assert Blocklist(BLOCKED).matches(text) is blocked


def test_empty_blocklist_blocks_nothing() -> None:
    Blocklist([" ", ""]).check({"caption": "anything at all"})
    assert Blocklist([]).size == 0


def test_check_names_the_field_without_the_term() -> None:
    with pytest.raises(BlockedContent) as caught:
        Blocklist(BLOCKED).check({"title": "fine", "caption": "so forbiddenword"})
    assert caught.value.message == "the caption contains a blocked term"
    assert caught.value.details[0]["field"] == "caption" and caught.value.details[0]["loc"] == ["body", "caption"]
    assert "forbiddenword" not in str(caught.value.details)


def test_terms_from_settings_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    terms = tmp_path / "terms.txt"
    terms.write_text("# comment line\nfromfile\n\n  spaced term  \n", encoding="utf-8")
    monkeypatch.setenv("APTMAGIC_MODERATION_BLOCKLIST", "alpha, Beta ,,")
    monkeypatch.setenv("APTMAGIC_MODERATION_BLOCKLIST_FILE", str(terms))
    settings = Settings(environment="test", data_dir=tmp_path)
    assert settings.moderation_blocklist == ["alpha", "Beta"]
    blocklist = load_blocklist(settings.moderation_blocklist, settings.moderation_blocklist_file)
    assert blocklist.size == 4
    assert all(blocklist.matches(t) for t in ("ALPHA", "beta", "FromFile", "spaced   term"))
    assert not blocklist.matches("comment line")
    monkeypatch.setenv("APTMAGIC_MODERATION_BLOCKLIST_FILE", str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="not a file"):
        Settings(environment="test", data_dir=tmp_path)


def job(prompt: str, **params: object) -> dict[str, object]:
    return {"task": "text-to-image", "model": "tiny-sd", "params": {"prompt": prompt, "width": 64, "height": 64,
                                                                    "steps": 1, **params}}  # fmt: skip


def test_job_prompts_are_checked_at_submit(make_user: type[User]) -> None:
    alice = make_user()
    for body, field in (
        (job("a FORBIDDENWORD landscape"), "prompt"),
        (job("a landscape", negative_prompt="very bad phrase"), "negative_prompt"),
        ({"task": "text", "params": {"messages": [{"role": "user", "content": "say forbiddenword"}]}}, "messages"),
        ({"task": "summarize", "params": {"text": "a text with forbiddenword in it"}}, "text"),
    ):  # fmt: skip
        response = alice.http.post("/api/v1/jobs", json=body)
        assert response.status_code == 422, response.text
        error = error_of(response)
        assert error["code"] == "blocked_content" and "blocked term" in error["message"]
        assert error["details"][0]["field"] == field
        assert "forbiddenword" not in response.text.lower() and "bad phrase" not in response.text
    assert alice.http.post("/api/v1/jobs", json=job("a forbidden word, spelled apart")).status_code == 202


def test_post_fields_and_comments_are_checked(make_user: type[User]) -> None:
    alice, bob = make_user(), make_user()
    asset_id = alice.image()
    for fields, field, message in (
        ({"title": "forbiddenword"}, "title", "the title contains a blocked term"),
        ({"caption": "hello\nvery bad phrase"}, "caption", "the caption contains a blocked term"),
        ({"tags": ["ok", "forbiddenword"]}, "tags", "a tag contains a blocked term"),
    ):  # fmt: skip
        response = alice.http.post("/api/v1/posts", json={"asset_id": asset_id, "title": "t", **fields})
        assert response.status_code == 422, response.text
        error = error_of(response)
        assert (error["code"], error["message"], error["details"][0]["field"]) == ("blocked_content", message, field)
    post = alice.post(asset_id=asset_id)
    patched = alice.http.patch(f"/api/v1/posts/{post['id']}", json={"caption": "Forbiddenword!"})
    assert patched.status_code == 422 and error_of(patched)["code"] == "blocked_content"
    comment = bob.http.post(f"/api/v1/posts/{post['id']}/comments", json={"body": "you forbiddenword"})
    assert comment.status_code == 422
    assert error_of(comment)["message"] == "the comment contains a blocked term"
    assert bob.http.get(f"/api/v1/posts/{post['id']}").json()["comment_count"] == 0

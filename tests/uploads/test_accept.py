"""Every allowed type is accepted and comes back as an asset."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
import pytest

from aptmagic.assets.models import Asset
from aptmagic.uploads.service import display_name
from tests.conftest import LiveServer
from tests.uploads import (
    SAMPLES,
    encode_audio,
    encode_video,
    http,  # noqa: F401  (fixture)
    post_file,
    sample,
    shared_server,
)

server = shared_server()


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_allowed_type_is_accepted(name: str, server: LiveServer, http: httpx.Client) -> None:
    data = sample(name)
    _, content_type, media_kind = SAMPLES[name]

    response = post_file(http, data, f"sample.{name}", content_type)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_type"] == content_type
    assert body["media_kind"] == media_kind
    assert body["url"] == f"/api/v1/assets/{body['id']}"
    assert response.headers["location"] == body["url"]
    assert body["original_name"] == f"sample.{name}"
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["expires_at"]) - created == timedelta(hours=24)
    if media_kind == "image":
        assert (body["width"], body["height"]) == (40, 20)
        assert body["duration_seconds"] is None
    else:
        assert 0.4 <= body["duration_seconds"] <= 0.7
        assert (body["width"], body["height"]) == ((64, 48) if media_kind == "video" else (None, None))
    if media_kind != "image":  # audio and video are stored as they came
        assert body["size"] == len(data)

    served = http.get(body["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == content_type
    assert len(served.content) == body["size"]

    with server.services.session_factory() as session:
        asset = session.get(Asset, body["id"])
        assert asset is not None and asset.kind == "upload"
        assert re.fullmatch(r"uploads/[0-9a-f]{2}/[0-9a-f]{32}", asset.storage_key)


def test_undeclared_type_is_taken_from_the_bytes(http: httpx.Client) -> None:
    response = post_file(http, sample("jpeg"), "photo", None)  # application/octet-stream

    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "image/jpeg"


def test_content_type_aliases_and_parameters_are_understood(http: httpx.Client) -> None:
    assert post_file(http, sample("wav"), "a.wav", "audio/x-wav").status_code == 201
    assert post_file(http, sample("jpeg"), "a.jpg", "IMAGE/JPG").status_code == 201
    assert post_file(http, sample("ogg"), "a.ogg", "audio/ogg; codecs=opus").status_code == 201


def test_an_mp4_holding_only_sound_is_audio(http: httpx.Client) -> None:
    data = encode_audio("mp4", "aac", 22050)  # brand isom, like a video

    undeclared = post_file(http, data, "voice.mp4")
    declared = post_file(http, data, "voice.m4a", "audio/mp4")

    assert undeclared.status_code == 201, undeclared.text
    assert (undeclared.json()["content_type"], undeclared.json()["media_kind"]) == ("audio/mp4", "audio")
    assert declared.status_code == 201
    assert declared.json()["media_kind"] == "audio"


def test_a_webm_holding_only_sound_is_audio(http: httpx.Client) -> None:
    data = encode_audio("webm", "libopus", 48000)  # what browsers record

    response = post_file(http, data, "voice.webm", "audio/webm")

    assert response.status_code == 201, response.text
    assert (response.json()["content_type"], response.json()["media_kind"]) == ("audio/webm", "audio")


def test_storage_keys_never_come_from_the_file_name(server: LiveServer, http: httpx.Client) -> None:
    response = post_file(http, sample("png"), "../../etc/pass\u202ewd.png", "image/png")

    assert response.status_code == 201, response.text
    assert response.json()["original_name"] == "passwd.png"
    with server.services.session_factory() as session:
        key = session.get(Asset, response.json()["id"]).storage_key
    assert "passwd" not in key and key.startswith("uploads/")


def test_display_names_lose_paths_and_control_characters() -> None:
    assert display_name("C:\\Users\\me\\cat\x00\x07.png") == "cat.png"
    assert display_name(" ..\t ") is None
    assert display_name("a\n  b.wav") == "a b.wav"
    assert display_name(None) is None


def test_a_long_name_is_shortened_keeping_its_extension(http: httpx.Client) -> None:
    response = post_file(http, sample("png"), "x" * 400 + ".png", "image/png")

    name = response.json()["original_name"]
    assert len(name) == 255 and name.endswith(".png")


def test_a_video_with_another_codec_is_accepted(http: httpx.Client) -> None:
    response = post_file(http, encode_video("mp4", "mpeg4", frames=3), "clip.mp4", "video/mp4")

    assert response.status_code == 201, response.text
    assert response.json()["media_kind"] == "video"

"""Each way an upload is refused, with its status, code and message."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from aptmagic.config import Settings
from tests.conftest import LiveServer
from tests.uploads import (
    PDF,
    encode_video,
    error_of,
    gif_bytes,
    http,  # noqa: F401  (fixture)
    image_bytes,
    png_bomb,
    post_file,
    raw_request,
    sample,
    shared_server,
    wav_bytes,
)

MAX_BYTES = 200_000
MAX_PIXELS = 1_000_000
server = shared_server(upload_max_bytes=MAX_BYTES, upload_max_pixels=MAX_PIXELS, upload_max_media_seconds=2.0)


def refused(response: httpx.Response, status: int, code: str, *words: str) -> dict:
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["code"] == code, error
    for word in words:
        assert word in error["message"], error["message"]
    return error


# empty, type and declared type


def test_a_zero_byte_upload_is_refused(http: httpx.Client) -> None:
    refused(post_file(http, b"", "empty.png", "image/png"), 422, "upload_empty", "empty")


@pytest.mark.parametrize("data", [gif_bytes(), PDF], ids=["gif", "pdf"])
@pytest.mark.parametrize("declared", ["image/png", None])
def test_a_png_name_on_other_bytes_is_refused(http: httpx.Client, data: bytes, declared: str | None) -> None:
    error = refused(post_file(http, data, "cat.png", declared), 415, "unsupported_media_type", "not of an allowed type")
    assert "image/png" in error["details"]["allowed"]


@pytest.mark.parametrize(
    "data",
    [
        b"hello, world\n",
        b"\x00" * 100,
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"PK\x03\x04zip",
        b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\nfile:///etc/passwd\n",  # a playlist must never reach FFmpeg
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",  # HEIC: ISO BMFF, but not allowed
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf",
        b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x88matroska",
        b"RIFF\x00\x00\x00\x00AVI LIST",
    ],
    ids=["text", "zeros", "svg", "zip", "m3u8", "heic", "avif", "mkv", "avi"],
)
def test_bytes_outside_the_allowlist_are_refused(http: httpx.Client, data: bytes) -> None:
    refused(post_file(http, data, "x.bin"), 415, "unsupported_media_type")


def test_a_declared_type_that_disagrees_with_the_bytes_is_refused(http: httpx.Client) -> None:
    error = refused(post_file(http, sample("png"), "a.png", "image/jpeg"), 415, "content_type_mismatch", "image/png")
    assert error["details"] == {"declared": "image/jpeg", "detected": "image/png"}
    refused(post_file(http, wav_bytes(), "a.wav", "video/mp4"), 415, "content_type_mismatch")
    refused(post_file(http, sample("png"), "a.png", "text/plain"), 415, "content_type_mismatch")


def test_the_file_name_never_decides_the_type(http: httpx.Client) -> None:
    response = post_file(http, sample("jpeg"), "really.png", None)

    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "image/jpeg"
    assert response.json()["original_name"] == "really.png"


# size


def test_a_file_one_byte_over_the_limit_is_refused(http: httpx.Client) -> None:
    data = sample("png") + b"\x00" * (MAX_BYTES + 1 - len(sample("png")))

    error = refused(post_file(http, data, "big.png", "image/png"), 413, "upload_too_large", f"{MAX_BYTES:,}")
    assert error["details"] == {"max_bytes": MAX_BYTES}


def test_a_content_length_over_the_limit_is_refused_before_the_body_is_read(server: LiveServer) -> None:
    auth = f"Authorization: {server.auth_headers['Authorization']}\r\n".encode()
    head = (
        b"POST /api/v1/uploads HTTP/1.1\r\nHost: test\r\n"
        + auth
        + b"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 1000000000\r\n\r\n"
    )
    started = time.monotonic()

    status, reply = raw_request(server.url, head, b"--xyz\r\n")  # almost none of the promised gigabyte

    assert status == 413
    assert b"upload_too_large" in reply
    assert time.monotonic() - started < 1.0


def test_a_chunked_body_is_refused_once_it_passes_the_limit(http: httpx.Client) -> None:
    sent = []

    def body() -> Iterator[bytes]:
        yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        for _ in range(40):
            sent.append(1)
            yield b"\x89PNG" + b"\x00" * 8188

    response = http.post(
        "/api/v1/uploads", content=body(), headers={"Content-Type": "multipart/form-data; boundary=xyz"}
    )

    refused(response, 413, "upload_too_large")
    assert "content-length" not in {k.lower() for k in response.request.headers}


# images


def test_an_image_over_the_pixel_limit_is_refused(http: httpx.Client) -> None:
    data = image_bytes("PNG", size=(1001, 1000))

    error = refused(post_file(http, data, "wide.png", "image/png"), 413, "image_too_large", "1001x1000")
    assert error["details"] == {"width": 1001, "height": 1000, "max_pixels": MAX_PIXELS}


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_the_pixel_limit_holds_for_every_image_format(http: httpx.Client, fmt: str) -> None:
    refused(post_file(http, image_bytes(fmt, size=(1200, 1000))), 413, "image_too_large")


def test_a_png_bomb_is_refused_fast_without_allocating_it(http: httpx.Client) -> None:
    bomb = png_bomb(50_000, 50_000)  # 2.5 gigapixels promised in a few hundred bytes
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()

    response = post_file(http, bomb, "bomb.png", "image/png")

    assert time.monotonic() - started < 1.0
    refused(response, 413, "image_too_large", "50000x50000")
    peak_rise_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert peak_rise_kib < 100 * 1024


def test_the_pixel_limit_setting_stays_below_pillows_bomb_limit() -> None:
    with pytest.raises(ValidationError):
        Settings(upload_max_pixels=100_000_000)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_truncated_image_is_refused(http: httpx.Client, fmt: str) -> None:
    data = image_bytes(fmt, size=(300, 200), **({"quality": 90} if fmt != "PNG" else {}))

    refused(post_file(http, data[: len(data) // 2]), 422, "upload_corrupt", "truncated or corrupt")


def test_an_image_whose_header_is_garbage_is_refused(http: httpx.Client) -> None:
    refused(post_file(http, b"\x89PNG\r\n\x1a\n" + b"\x13" * 60), 422, "upload_corrupt")
    refused(post_file(http, b"\xff\xd8\xff\xe0" + b"\x00" * 60), 422, "upload_corrupt")


# audio and video


def test_media_over_the_duration_limit_is_refused(http: httpx.Client) -> None:
    error = refused(post_file(http, wav_bytes(seconds=3.0), "long.wav"), 422, "media_too_long", "3.0 s")
    assert error["details"]["max_seconds"] == 2.0


def test_a_video_frame_over_the_pixel_limit_is_refused(http: httpx.Client) -> None:
    data = encode_video("mp4", "mpeg4", size=(1200, 1000), frames=1)

    refused(post_file(http, data, "wide.mp4"), 413, "image_too_large")


def test_audio_must_have_an_audio_stream(http: httpx.Client) -> None:
    video_only = sample("mp4")

    refused(post_file(http, video_only, "a.m4a", "audio/mp4"), 422, "upload_corrupt", "no audio stream")


def test_video_must_have_a_video_stream(http: httpx.Client) -> None:
    refused(post_file(http, sample("m4a"), "a.mp4", "video/mp4"), 422, "upload_corrupt", "no video stream")


@pytest.mark.parametrize("name", ["mp4", "mov", "webm", "ogg", "flac", "m4a", "mp3"])
def test_truncated_or_corrupt_media_is_refused(http: httpx.Client, name: str) -> None:
    data = sample(name)
    garbled = data[:40] + bytes(b ^ 0x5A for b in data[40:])  # the magic bytes kept

    for broken in (data[: len(data) // 3], garbled):
        response = post_file(http, broken)
        assert response.status_code in (201, 422), response.text  # a tolerant decoder may play a prefix
        if response.status_code == 422:
            assert error_of(response)["code"] == "upload_corrupt"
    refused(post_file(http, garbled), 422, "upload_corrupt")


# the request itself


def test_a_body_that_is_not_multipart_is_refused(http: httpx.Client) -> None:
    refused(http.post("/api/v1/uploads", json={"file": "x"}), 415, "unsupported_media_type", "multipart/form-data")


def test_a_multipart_body_without_a_file_field_is_refused(http: httpx.Client) -> None:
    response = http.post("/api/v1/uploads", files={"image": ("a.png", sample("png"), "image/png")})

    error = refused(response, 422, "validation_error", "file")
    assert error["details"][0]["loc"] == ["body", "file"]


def test_two_files_in_one_upload_are_refused(http: httpx.Client) -> None:
    files = [("file", ("a.png", sample("png"), "image/png")), ("file", ("b.png", sample("png"), "image/png"))]

    refused(http.post("/api/v1/uploads", files=files), 422, "validation_error", "one file")


def test_a_multipart_body_cut_short_is_refused(http: httpx.Client) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n' + sample("png")

    response = http.post("/api/v1/uploads", content=body, headers={"Content-Type": "multipart/form-data; boundary=xyz"})

    refused(response, 400, "malformed_body", "closing boundary")

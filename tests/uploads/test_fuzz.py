"""Property-based fuzzing of the upload and decode path: whatever arrives,
the answer is a 201 or a 4xx, never a 5xx, and never slow."""

from __future__ import annotations

import struct
import time
from datetime import timedelta

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aptmagic.kit.errors import AppError
from tests.conftest import LiveServer
from tests.uploads import (
    SAMPLES,
    http,  # noqa: F401  (fixture)
    png_chunk,
    post_file,
    sample,
    shared_server,
)

server = shared_server(upload_max_bytes=256 * 1024, upload_max_pixels=4_000_000, upload_probe_timeout_seconds=2.0)

SLOWEST_SECONDS = 3.0
FUZZ = settings(
    max_examples=60,
    deadline=timedelta(seconds=SLOWEST_SECONDS),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

MAGIC_PREFIXES = [
    b"\x89PNG\r\n\x1a\n",
    b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 6, 0, 0, 0)),
    b"\xff\xd8\xff\xe0",
    b"\xff\xd8\xff\xdb\x00\x43\x00",
    b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    b"RIFF\x00\x10\x00\x00WEBPVP8L",
    b"RIFF\x00\x10\x00\x00WEBPVP8X",
    b"RIFF\x00\x10\x00\x00WAVEfmt ",
    b"fLaC",
    b"OggS\x00\x02",
    b"ID3\x03\x00\x00\x00\x00\x00\x00",
    b"\xff\xfb\x90\x00",
    b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",
    b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00M4A isom",
    b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ",
    b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm",
]
DECLARED = st.sampled_from(
    [None, "application/octet-stream", "image/png", "image/jpeg", "audio/mp4", "video/mp4", "audio/webm", "text/html"]
)


@st.composite
def truncated_samples(draw: st.DrawFn) -> bytes:
    data = sample(draw(st.sampled_from(list(SAMPLES))))
    return data[: draw(st.integers(0, len(data)))]


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    data = bytearray(sample(draw(st.sampled_from(list(SAMPLES)))))
    for _ in range(draw(st.integers(1, 12))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@st.composite
def magic_then_noise(draw: st.DrawFn) -> bytes:
    return draw(st.sampled_from(MAGIC_PREFIXES)) + draw(st.binary(max_size=4096))


ANY_UPLOAD = st.one_of(st.binary(max_size=2048), truncated_samples(), mutated_samples(), magic_then_noise())


def check_with_service(live: LiveServer, data: bytes, declared: str | None) -> None:
    started = time.monotonic()
    try:
        live.services.uploads.accept(data, declared, "fuzz.bin")
    except AppError as exc:
        assert 400 <= exc.status_code < 500 or exc.code == "scanner_unavailable", (exc.status_code, exc.message)
    assert time.monotonic() - started < SLOWEST_SECONDS


@FUZZ
@given(data=truncated_samples(), declared=DECLARED)
def test_truncated_files(server: LiveServer, data: bytes, declared: str | None) -> None:
    check_with_service(server, data, declared)


@FUZZ
@given(data=magic_then_noise(), declared=DECLARED)
def test_random_bytes_after_a_valid_magic_prefix(server: LiveServer, data: bytes, declared: str | None) -> None:
    check_with_service(server, data, declared)


@FUZZ
@given(data=mutated_samples())
def test_valid_files_with_random_bytes_changed(server: LiveServer, data: bytes) -> None:
    check_with_service(server, data, None)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(server: LiveServer, data: bytes) -> None:
    check_with_service(server, data, None)


@settings(FUZZ, max_examples=40)
@given(
    data=ANY_UPLOAD,
    declared=DECLARED,
    filename=st.one_of(st.none(), st.text(st.characters(exclude_categories=["Cs"]), max_size=40)),
)
def test_the_http_endpoint_never_answers_5xx(
    http: httpx.Client, data: bytes, declared: str | None, filename: str | None
) -> None:
    started = time.monotonic()

    response = post_file(http, data, filename, declared)

    assert response.status_code in (201, 400, 413, 415, 422), response.text
    assert ("error" in response.json()) == (response.status_code >= 400)
    assert time.monotonic() - started < SLOWEST_SECONDS


@settings(FUZZ, max_examples=25)
@given(data=ANY_UPLOAD, size_slack=st.integers(-64, 64))
def test_the_presigned_endpoint_never_answers_5xx(http: httpx.Client, data: bytes, size_slack: int) -> None:
    declared = "image/png" if data[:4] == b"\x89PNG" else "video/mp4"
    grant = http.post(
        "/api/v1/uploads/presign", json={"content_type": declared, "size": max(1, len(data) + size_slack)}
    )
    assert grant.status_code == 201, grant.text

    response = http.put(grant.json()["url"], content=data)

    assert response.status_code in (201, 413, 415, 422), response.text

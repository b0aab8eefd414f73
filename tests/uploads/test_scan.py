"""The ClamAV hook, against a stand-in clamd on a unix socket."""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from aptmagic.config import Settings
from aptmagic.uploads.scan import ClamdAddress
from tests.conftest import LiveServer, start_server
from tests.uploads import EICAR, FakeClamd, error_of, post_file, sample


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """Unix socket paths must stay under about 100 characters; pytest's tmp_path may not."""
    path = Path(tempfile.mkdtemp(prefix="clamd-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def clamd(short_dir: Path) -> Iterator[FakeClamd]:
    fake = FakeClamd(short_dir / "clamd.sock")
    yield fake
    fake.close()


def serve(make_settings: Callable[..., Settings], **overrides: object) -> LiveServer:
    return start_server(make_settings(clamav_timeout_seconds=5.0, **overrides))


@pytest.fixture
def scanned(make_settings: Callable[..., Settings], clamd: FakeClamd) -> Iterator[httpx.Client]:
    server = serve(make_settings, clamav_socket=clamd.path)
    with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as client:
        yield client
    server.stop()


def test_an_infected_upload_is_refused(scanned: httpx.Client, clamd: FakeClamd) -> None:
    polyglot = sample("png") + EICAR  # a valid image carrying the test virus after its end

    response = post_file(scanned, polyglot, "cat.png", "image/png")

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "upload_infected"
    assert "Eicar-Test-Signature" in error["message"]
    assert clamd.scanned[-1] == polyglot  # the bytes as sent, before any re-encoding


def test_a_clean_upload_is_scanned_and_accepted(scanned: httpx.Client, clamd: FakeClamd) -> None:
    response = post_file(scanned, sample("wav"), "a.wav", "audio/wav")

    assert response.status_code == 201, response.text
    assert clamd.scanned == [sample("wav")]


def test_presigned_uploads_are_scanned_too(scanned: httpx.Client, clamd: FakeClamd) -> None:
    data = sample("png") + EICAR
    grant = scanned.post("/api/v1/uploads/presign", json={"content_type": "image/png", "size": len(data)}).json()

    response = scanned.put(grant["url"], content=data)

    assert response.status_code == 422
    assert error_of(response)["code"] == "upload_infected"


def test_bytes_refused_by_type_never_reach_the_scanner(scanned: httpx.Client, clamd: FakeClamd) -> None:
    assert post_file(scanned, EICAR, "eicar.com").status_code == 415
    assert clamd.scanned == []


def test_an_unreachable_scanner_is_503_with_retry_after(
    make_settings: Callable[..., Settings], short_dir: Path
) -> None:
    server = serve(make_settings, clamav_socket=str(short_dir / "nobody-listens.sock"))
    try:
        with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as client:
            response = post_file(client, sample("png"), "a.png", "image/png")
    finally:
        server.stop()

    assert response.status_code == 503
    assert error_of(response)["code"] == "scanner_unavailable"
    assert "cannot be reached" in error_of(response)["message"]
    assert int(response.headers["retry-after"]) > 0


def test_an_unreachable_tcp_scanner_is_503(make_settings: Callable[..., Settings]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = serve(make_settings, clamav_socket=f"127.0.0.1:{port}")
    try:
        with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as client:
            response = post_file(client, sample("png"), "a.png", "image/png")
    finally:
        server.stop()

    assert response.status_code == 503
    assert "retry-after" in response.headers


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        (b"INSTREAM size limit exceeded. ERROR\0", 413, "upload_too_large"),
        (b"Can't allocate memory ERROR\0", 503, "scanner_unavailable"),
        (b"", 503, "scanner_unavailable"),
    ],
)
def test_scanner_errors(
    make_settings: Callable[..., Settings], short_dir: Path, answer: bytes, status: int, code: str
) -> None:
    fake = FakeClamd(short_dir / "odd.sock", answer=answer)
    server = serve(make_settings, clamav_socket=fake.path)
    try:
        with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as client:
            response = post_file(client, sample("png"), "a.png", "image/png")
    finally:
        server.stop()
        fake.close()

    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_without_a_scanner_one_line_says_so_at_start(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="aptmagic.uploads"):
        server = start_server(make_settings())
        with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as client:
            assert post_file(client, sample("png"), "a.png", "image/png").status_code == 201
            assert post_file(client, sample("jpeg"), "a.jpg", "image/jpeg").status_code == 201
        server.stop()

    lines = [r.getMessage() for r in caplog.records if "virus" in r.getMessage()]
    assert lines == ["uploads are not virus-scanned: set APTMAGIC_CLAMAV_SOCKET to scan them with ClamAV"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/run/clamav/clamd.ctl", ClamdAddress(unix_path="/run/clamav/clamd.ctl")),
        ("unix:///run/clamd.sock", ClamdAddress(unix_path="/run/clamd.sock")),
        ("clamav:3310", ClamdAddress(host="clamav", port=3310)),
        ("tcp://10.0.0.5:3310", ClamdAddress(host="10.0.0.5", port=3310)),
        ("[::1]:3310", ClamdAddress(host="::1", port=3310)),
    ],
)
def test_clamd_addresses(value: str, expected: ClamdAddress) -> None:
    assert ClamdAddress.parse(value) == expected


@pytest.mark.parametrize("value", ["clamav", "host:port", ":3310"])
def test_bad_clamd_addresses(value: str) -> None:
    with pytest.raises(ValueError):
        ClamdAddress.parse(value)

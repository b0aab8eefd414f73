"""File-carrying compat routes take bodies up to the upload limit; everything else keeps the 1 MiB limit."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.compat.conftest import assert_openai_error
from tests.conftest import LiveServer, start_server
from tests.jobs.conftest import shared_settings

UPLOAD_LIMIT = 3 * 1024 * 1024


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[httpx.Client]:
    settings = shared_settings(tmp_path_factory.mktemp("limits"), models_dir, upload_max_bytes=UPLOAD_LIMIT)
    server: LiveServer = start_server(settings)
    with httpx.Client(base_url=server.url, timeout=120, headers=server.auth_headers) as client:
        yield client
    server.stop()


def noisy_png(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_image_over_one_mebibyte_is_accepted_on_edits(limited: httpx.Client) -> None:
    image = noisy_png(700)
    assert 1024 * 1024 < len(image) < UPLOAD_LIMIT
    response = limited.post(
        "/v1/images/edits",
        files={"image": ("big.png", image, "image/png")},
        data={"prompt": "a fox", "model": "tiny-sd", "response_format": "b64_json", "size": "64x64"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"][0]["b64_json"]


def test_a_file_body_over_the_upload_limit_is_413_in_openai_shape(limited: httpx.Client) -> None:
    image = os.urandom(UPLOAD_LIMIT * 2)
    response = limited.post("/v1/images/variations", files={"image": ("huge.png", image, "image/png")})
    assert_openai_error(response, 413)


def test_a1111_base64_over_the_upload_limit_is_413(limited: httpx.Client) -> None:
    body = {"init_images": [base64.b64encode(os.urandom(UPLOAD_LIMIT * 2)).decode()], "prompt": "x"}
    response = limited.post("/sdapi/v1/img2img", json=body)
    assert response.status_code == 413, response.text


def test_other_compat_routes_keep_the_request_limit(limited: httpx.Client) -> None:
    body = {"model": "tiny-llm", "messages": [{"role": "user", "content": "x" * (2 * 1024 * 1024)}]}
    assert_openai_error(limited.post("/v1/chat/completions", json=body), 413)

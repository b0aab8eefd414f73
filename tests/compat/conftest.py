"""One live server per module for the compat tests, and the official openai client pointed at it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from PIL import Image

from tests.conftest import LiveServer, start_server
from tests.jobs.conftest import shared_settings


@pytest.fixture(scope="module")
def compat_live(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[LiveServer]:
    server = start_server(shared_settings(tmp_path_factory.mktemp("compat"), models_dir))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(compat_live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=compat_live.url, timeout=60, headers=compat_live.auth_headers) as client:
        yield client


@pytest.fixture(scope="module")
def oai(compat_live: LiveServer) -> Iterator[openai.OpenAI]:
    assert compat_live.account is not None
    with openai.OpenAI(
        base_url=compat_live.url + "/v1", api_key=compat_live.account.api_key, max_retries=0, timeout=60
    ) as client:
        yield client


def png_bytes(size: tuple[int, int] = (64, 64), color: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def assert_openai_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, object]:
    """OpenAI's error shape: {"error": {"message", "type", "param", "code"}}."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return error

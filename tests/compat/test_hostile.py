"""Malformed, oversized, hostile and unauthorised requests to the compat APIs: a 4xx in the
dialect's error shape, never a 5xx, never a hang."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from aptmagic.compat.deps import wait_seconds
from aptmagic.compat.errors import Forbidden
from aptmagic.compat.links import LinkSigner
from aptmagic.config import Settings
from tests.compat.conftest import assert_openai_error, png_bytes
from tests.conftest import LiveServer, create_account, start_server

CHAT = "/v1/chat/completions"
IMAGES = "/v1/images/generations"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": 123}, "prompt"),
        ({"prompt": "x", "n": 10_000}, "n"),
        ({"prompt": "x", "n": "lots"}, "n"),
        ({"prompt": "x", "size": "100000x100000"}, "size"),
        ({"prompt": "x", "size": "63x64"}, "size"),
        ({"prompt": "x", "size": "1024x1024", "model": "tiny-sd"}, "size"),
        ({"prompt": "x", "response_format": "gif"}, "response_format"),
        ({"prompt": "x", "seed": -1}, "seed"),
        ({"prompt": "x" * 5000}, "prompt"),
        ({"prompt": "x", "model": "tiny-llm"}, "model"),
    ],
)
def test_bad_image_requests(http: httpx.Client, body: dict[str, Any], param: str) -> None:
    error = assert_openai_error(http.post(IMAGES, json=body), 400)
    assert error["param"] == param and error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": "hi"}, "messages"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "user", "content": "x"}], "n": 3}, "n"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 10**9}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}, "temperature"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, None),
        ({"messages": [{"role": "user", "content": "x"}], "model": "tiny-sd"}, "model"),
        ({"messages": [{"role": "user", "content": "x"}], "stop": [""]}, None),
    ],
)
def test_bad_chat_requests(http: httpx.Client, body: dict[str, Any], param: str | None) -> None:
    error = assert_openai_error(http.post(CHAT, json=body), 400)
    if param is not None:
        assert error["param"] == param


def test_malformed_json_and_unknown_routes(http: httpx.Client) -> None:
    assert_openai_error(http.post(CHAT, content=b"{not json", headers={"content-type": "application/json"}), 400)
    assert_openai_error(http.post(CHAT, content=b"\xff\xfe", headers={"content-type": "application/json"}), 400)
    assert_openai_error(http.get("/v1/nothing-here"), 404)
    assert_openai_error(http.delete("/v1/models"), 405)
    error = assert_openai_error(
        http.post(CHAT, json={"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}), 404
    )
    assert error["code"] == "model_not_found"


def test_an_oversized_body_is_413_in_openai_shape(http: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "x" * 50_000}] * 40}
    assert_openai_error(http.post(CHAT, json=body), 413)


def test_multipart_refusals(http: httpx.Client) -> None:
    edits = "/v1/images/edits"
    error = assert_openai_error(
        http.post(edits, files={"image": ("a.png", b"not an image", "image/png")}, data={"prompt": "x"}), 415
    )
    assert error["type"] == "invalid_request_error"
    assert (
        assert_openai_error(http.post(edits, data={"prompt": "x"}, files={"other": ("a", b"x")}), 400)["param"]
        == "image"
    )
    assert_openai_error(http.post(edits, json={"prompt": "x"}), 400)
    masked = {"image": ("a.png", png_bytes(), "image/png"), "mask": ("m.png", png_bytes(), "image/png")}
    assert assert_openai_error(http.post(edits, files=masked, data={"prompt": "x"}), 400)["param"] == "mask"
    no_prompt = http.post(edits, files={"image": ("a.png", png_bytes(), "image/png")})
    assert assert_openai_error(no_prompt, 400)["param"] == "prompt"
    bad_n = http.post("/v1/images/variations", files={"image": ("a.png", png_bytes(), "image/png")}, data={"n": "x"})
    assert assert_openai_error(bad_n, 400)["param"] == "n"
    truncated = b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\nabc'
    assert_openai_error(
        http.post(edits, content=truncated, headers={"content-type": "multipart/form-data; boundary=b"}), 400
    )


def test_transcribing_an_image_or_garbage_is_refused(http: httpx.Client) -> None:
    url = "/v1/audio/transcriptions"
    assert_openai_error(
        http.post(url, files={"file": ("a.png", png_bytes(), "image/png")}, data={"model": "whisper-1"}), 400
    )
    assert_openai_error(http.post(url, files={"file": ("a.wav", b"RIFF" + bytes(40), "audio/wav")}), 415)
    assert_openai_error(http.post(url, data={"model": "whisper-1"}, files={"x": ("a", b"1")}), 400)
    bad_format = http.post(url, files={"file": ("a.png", png_bytes(), "image/png")}, data={"response_format": "mp3"})
    assert assert_openai_error(bad_format, 400)["param"] == "response_format"


def test_unauthorised_requests(compat_live: LiveServer) -> None:
    url = compat_live.url
    error = assert_openai_error(httpx.post(url + CHAT, json={"messages": []}), 401, "invalid_api_key")
    assert "API key" in str(error["message"])
    assert_openai_error(
        httpx.get(url + "/v1/models", headers={"Authorization": "Bearer amk_x"}), 401, "invalid_api_key"
    )
    assert_openai_error(httpx.get(url + "/v1/models", headers={"Authorization": "Basic abc"}), 401, "invalid_api_key")
    reader = create_account(compat_live.services, "reader", scopes=("read",))
    forbidden = assert_openai_error(httpx.post(url + IMAGES, json={"prompt": "x"}, headers=reader.headers), 403)
    assert forbidden["type"] == "permission_error"


def test_signed_links_refuse_tampering_and_expiry() -> None:
    now = [1_000_000.0]
    signer = LinkSigner("a secret that is long enough for tests", ttl_seconds=60, clock=lambda: now[0])
    token = signer.sign("a" * 32, "u1")
    assert signer.verify(token).asset_id == "a" * 32
    with pytest.raises(Forbidden):
        LinkSigner("another secret entirely, also long").verify(token)
    with pytest.raises(Forbidden):
        signer.verify(token.replace(".", "x", 1))
    now[0] += 61
    with pytest.raises(Forbidden, match="expired"):
        signer.verify(token)


def test_a_signed_link_to_a_missing_asset_is_403(compat_live: LiveServer) -> None:
    signer = LinkSigner(compat_live.services.settings.secret_key.get_secret_value())
    response = httpx.get(compat_live.url + "/v1/files/signed/" + signer.sign("f" * 32, None))
    assert_openai_error(response, 403)
    assert_openai_error(httpx.get(compat_live.url + "/v1/files/signed/garbage"), 403)


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/sdapi/v1/img2img", {"init_images": ["!!!not base64"]}, 422),
        ("/sdapi/v1/img2img", {"init_images": [base64.b64encode(b"not an image").decode()]}, 415),
        ("/sdapi/v1/img2img", {"init_images": []}, 422),
        ("/sdapi/v1/img2img", {"init_images": [base64.b64encode(png_bytes()).decode()], "mask": "abc"}, 422),
        ("/sdapi/v1/txt2img", {"prompt": "x", "batch_size": 8, "n_iter": 8}, 422),
        ("/sdapi/v1/txt2img", {"prompt": "x", "width": 100_000}, 422),
        ("/sdapi/v1/txt2img", {"prompt": "x", "width": 1024, "height": 1024}, 422),
        ("/sdapi/v1/txt2img", {"prompt": ""}, 422),
        ("/sdapi/v1/txt2img", {"prompt": ["x"]}, 422),
        ("/sdapi/v1/txt2img", {"prompt": "x", "override_settings": {"sd_model_checkpoint": 5}}, 422),
        ("/sdapi/v1/txt2img", {"prompt": "x", "override_settings": {"sd_model_checkpoint": "tiny-llm"}}, 400),
        ("/sdapi/v1/interrogate", {"image": base64.b64encode(png_bytes()).decode(), "model": "nope"}, 404),
        ("/sdapi/v1/interrogate", {"image": ""}, 422),
    ],
)
def test_bad_a1111_requests(http: httpx.Client, path: str, body: dict[str, Any], status: int) -> None:
    response = http.post(path, json=body)
    assert response.status_code == status, response.text
    shaped = response.json()
    if status == 422 and "error" not in shaped:
        assert isinstance(shaped["detail"], list) and shaped["detail"][0]["loc"][0] == "body"
    else:
        assert set(shaped) == {"error", "detail", "body", "errors"}, shaped
        assert shaped["detail"]


@pytest.fixture
def limited(make_settings: Callable[..., Settings]) -> Iterator[LiveServer]:
    server = start_server(make_settings(rate_limit_user_per_second=0.01, rate_limit_user_burst=2))
    yield server
    server.stop()


def test_rate_limits_apply_with_retry_after(limited: LiveServer) -> None:
    with httpx.Client(base_url=limited.url, headers=limited.auth_headers) as client:
        assert client.get("/v1/models").status_code == 200
        assert client.get("/sdapi/v1/options").status_code == 200
        response = client.get("/v1/models")
        error = assert_openai_error(response, 429, "rate_limit_exceeded")
        assert int(response.headers["Retry-After"]) >= 1 and error["type"] == "rate_limit_error"
        assert client.get("/sdapi/v1/sd-models").status_code == 429


@pytest.fixture
def idle(make_settings: Callable[..., Settings]) -> Iterator[LiveServer]:
    server = start_server(make_settings(worker_concurrency=0))
    server.app.dependency_overrides[wait_seconds] = lambda: 0.5
    yield server
    server.stop()


def test_a_job_that_does_not_finish_in_time_is_canceled(idle: LiveServer) -> None:
    with httpx.Client(base_url=idle.url, headers=idle.auth_headers, timeout=30) as client:
        response = client.post(IMAGES, json={"prompt": "a slow one", "model": "tiny-sd"})
        assert_openai_error(response, 504, "timeout")
        jobs = client.get("/api/v1/jobs").json()["items"]
        assert [job["status"] for job in jobs] == ["canceled"]


@pytest.fixture
def patient_idle(make_settings: Callable[..., Settings]) -> Iterator[LiveServer]:
    """No worker, and the routes would wait a long time: only a client that leaves ends the wait."""
    server = start_server(make_settings(worker_concurrency=0))
    server.app.dependency_overrides[wait_seconds] = lambda: 60
    yield server
    server.stop()


def wait_for_status(client: httpx.Client, status: str, timeout: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        statuses = [job["status"] for job in client.get("/api/v1/jobs").json()["items"]]
        if (statuses and all(s == status for s in statuses)) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.1)


def test_a_client_that_leaves_cancels_its_job(patient_idle: LiveServer) -> None:
    with httpx.Client(base_url=patient_idle.url, headers=patient_idle.auth_headers, timeout=30) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post(IMAGES, json={"prompt": "left behind", "model": "tiny-sd"}, timeout=httpx.Timeout(30, read=0.5))
        assert wait_for_status(client, "canceled") == ["canceled"]
        body = {"messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 4}
        with client.stream("POST", CHAT, json=body) as response:
            first = next(line for line in response.iter_lines() if line.startswith("data:"))
            assert '"role":"assistant"' in first
        assert wait_for_status(client, "canceled") == ["canceled", "canceled"]


def test_a_stream_that_runs_out_of_time_ends_with_an_error_and_done(idle: LiveServer) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 4}
    with (
        httpx.Client(base_url=idle.url, headers=idle.auth_headers, timeout=30) as client,
        client.stream("POST", CHAT, json=body) as response,
    ):
        data = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data:")]
    assert data[-1] == "[DONE]"
    assert json.loads(data[-2])["error"]["code"] == "timeout"

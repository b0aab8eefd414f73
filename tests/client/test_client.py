"""The Python client, sync and async, against a live server."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from PIL import Image

from aptmagic.client import (
    APIConnectionError,
    AptmagicError,
    AsyncClient,
    AuthenticationError,
    Client,
    Event,
    JobFailedError,
    NotFoundError,
    Progress,
    UnsupportedMediaTypeError,
    ValidationError,
)
from tests.client.conftest import free_port_url
from tests.compat.conftest import png_bytes
from tests.conftest import LiveServer
from tests.inference.test_whisper import wav_bytes


@pytest.fixture(scope="module")
def client(server: LiveServer, api_key: str) -> Client:
    with Client(server.url, api_key) as c:
        yield c  # type: ignore[misc]


def test_generate_waits_with_progress_and_downloads(client: Client, tmp_path: Path) -> None:
    seen: list[Progress] = []
    job = client.generate(
        "a lighthouse", model="tiny-sd", width=64, height=64, steps=5, seed=101, on_progress=seen.append
    )
    assert job.status == "succeeded" and job.seed == 101 and len(job.outputs) == 1
    assert seen and seen[-1].step == seen[-1].total == 5
    path = tmp_path / "out.png"
    data = client.download(job.outputs[0], path)
    assert path.read_bytes() == data and Image.open(io.BytesIO(data)).size == (64, 64)


def test_submit_then_stream_events(client: Client) -> None:
    job = client.submit("text-to-image", {"prompt": "a fox", "steps": 3, "seed": 102}, model="tiny-sd")
    events: list[Event] = list(client.events(job.id))
    assert events[0].type == "job" and events[-1].type == "job"
    final = events[-1].job
    assert final is not None and final.status == "succeeded"
    assert client.get(job.id).status == "succeeded"


def test_upload_vary_caption(client: Client) -> None:
    upload = client.upload(png_bytes(), filename="in.png")
    assert upload.media_kind == "image" and upload.width == 64
    varied = client.vary(png_bytes(), num_variations=2, strength=0.5, seed=103)
    assert len(varied.outputs) == 2
    captioned = client.caption(io.BytesIO(png_bytes()), tone="playful", length="short")
    assert isinstance(captioned.text, str)


def test_transcribe_and_text_results(client: Client, tmp_path: Path) -> None:
    clip = tmp_path / "clip.wav"
    clip.write_bytes(wav_bytes(2.0))
    job = client.transcribe(clip)
    assert job.result is not None and job.result["duration"] == pytest.approx(2.0, abs=0.1)
    assert client.result(job.id, "srt").startswith("1\n") or client.result(job.id, "srt") == ""
    assert client.result(job.id, "vtt").startswith("WEBVTT")


def test_chat_streams_the_whole_answer(client: Client) -> None:
    messages = [{"role": "user", "content": "hello"}]
    pieces = list(client.chat(messages, model="tiny-llm", max_tokens=10, temperature=0, seed=5))
    job = client.run("text", {"messages": messages, "max_tokens": 10, "temperature": 0, "seed": 5}, model="tiny-llm")
    assert "".join(pieces) == job.text


def test_errors_are_typed(client: Client, server: LiveServer) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.get("0" * 32)
    assert missing.value.status_code == 404 and missing.value.code == "not_found"
    with pytest.raises(ValidationError) as invalid:
        client.submit("text-to-image", {"prompt": "x", "width": 65}, model="tiny-sd")
    assert invalid.value.details and invalid.value.details[0]["loc"][-1] == "width"
    with pytest.raises(UnsupportedMediaTypeError):
        client.upload(b"not a file type anyone knows", filename="x.png")
    with pytest.raises(AptmagicError, match="cannot read"):
        client.upload("/no/such/file.png")
    with pytest.raises(JobFailedError) as failed:
        client.transcribe(wav_bytes(1.0), language="ko")
    assert failed.value.job.status == "failed" and failed.value.job.error is not None
    with Client(server.url, "amk_wrong") as bad, pytest.raises(AuthenticationError):
        bad.models()
    with Client(free_port_url(), "amk_x") as nowhere, pytest.raises(APIConnectionError, match="cannot reach"):
        nowhere.models()
    with pytest.raises(AptmagicError, match="http"):
        Client("ftp://example.com")


def test_environment_defaults(monkeypatch: pytest.MonkeyPatch, server: LiveServer, api_key: str) -> None:
    monkeypatch.setenv("APTMAGIC_SERVER", server.url)
    monkeypatch.setenv("APTMAGIC_API_KEY", api_key)
    with Client() as env_client:
        assert any(model.id == "tiny-sd" for model in env_client.models())


def test_async_client(server: LiveServer, api_key: str) -> None:
    async def scenario() -> None:
        async with AsyncClient(server.url, api_key) as client:
            seen: list[Progress] = []
            job = await client.generate("a heron", model="tiny-sd", steps=4, seed=104, on_progress=seen.append)
            assert job.status == "succeeded" and seen[-1].step == 4
            data = await client.download(job.outputs[0])
            assert data.startswith(b"\x89PNG")
            upload = await client.upload(png_bytes(), filename="a.png")
            assert upload.media_kind == "image"
            events = [event async for event in client.events(job.id)]
            assert events[-1].job is not None and events[-1].job.done
            pieces = [
                p async for p in client.chat([{"role": "user", "content": "hi"}], max_tokens=6, seed=1, temperature=0)
            ]
            assert isinstance("".join(pieces), str)
            with pytest.raises(NotFoundError):
                await client.get("f" * 32)
        async with AsyncClient(server.url, "amk_wrong") as bad:
            with pytest.raises(AuthenticationError):
                await bad.models()

    asyncio.run(scenario())

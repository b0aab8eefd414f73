"""The caption task end to end over HTTP on tiny-caption (tiny-llm rewrites, tiny-whisper transcribes)."""

from __future__ import annotations

import io
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.conftest import LiveServer, create_asset, wait_for
from tests.jobs.conftest import JOBS, assert_validation_error, fresh_seed

TONES = ("neutral", "playful", "formal", "poetic", "marketing")


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (96, 64), (40, 120, 200))
    image.paste((250, 220, 40), (30, 16, 66, 48))
    image.save(buffer, "PNG")
    return buffer.getvalue()


def mp4_bytes(with_audio: bool, seconds: float = 1.0) -> bytes:
    """A small MP4 made with PyAV: moving colours, and a 440 Hz tone when ``with_audio``."""
    import av

    buffer = io.BytesIO()
    frames = int(seconds * 10)
    with av.open(buffer, mode="w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width = video.height = 64
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=16_000, layout="mono") if with_audio else None
        for index in range(frames):
            pixels = np.zeros((64, 64, 3), dtype=np.uint8)
            pixels[:, :, 0] = 20 * index
            pixels[16:48, 16:48, 2] = 200
            for packet in video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        container.mux(video.encode())
        if audio is not None:
            t = np.arange(int(16_000 * seconds)) / 16_000
            samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 16_000
            for packet in audio.encode(frame):
                container.mux(packet)
            container.mux(audio.encode())
    return buffer.getvalue()


def caption_body(source: str, **params: Any) -> dict[str, Any]:
    return {"task": "caption", "model": "tiny-caption", "params": {"source": source, "seed": fresh_seed(), **params}}


def submit_caption(client: httpx.Client, source: str, **params: Any) -> dict[str, Any]:
    response = client.post(JOBS, json=caption_body(source, **params))
    assert response.status_code == 202, response.text
    return response.json()


@pytest.fixture(scope="module")
def image_id(shared_live: LiveServer) -> str:
    return create_asset(shared_live, png_bytes(), "image/png", "image")


def test_caption_an_image_and_download_it_as_text(shared_client: httpx.Client, image_id: str) -> None:
    job = submit_caption(shared_client, image_id, tone="playful", length="short")
    assert job["task"] == "caption" and job["model"] == "tiny-caption"
    done = wait_for(shared_client, job["id"])
    assert done["status"] == "succeeded", done
    result = done["result"]
    assert isinstance(result["text"], str) and result["text"].strip()
    assert isinstance(result["base_caption"], str) and result["base_caption"].strip()
    assert (result["tone"], result["length"], result["rewriter"]) == ("playful", "short", "tiny-llm")
    assert len(result["text"].split()) <= 15
    assert "transcript" not in result

    download = shared_client.get(f"{JOBS}/{job['id']}/result", params={"format": "txt"})
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/plain")
    assert download.text == result["text"] + "\n"


def test_a_word_count_length_caps_the_caption(shared_client: httpx.Client, image_id: str) -> None:
    job = submit_caption(shared_client, image_id, tone="marketing", length=12)
    done = wait_for(shared_client, job["id"])
    assert done["status"] == "succeeded", done
    assert 1 <= len(done["result"]["text"].split()) <= 12
    assert done["result"]["length"] == 12


def test_every_tone_and_length_is_accepted(idle_live: LiveServer, idle_client: httpx.Client) -> None:
    source = create_asset(idle_live, png_bytes(), "image/png", "image")
    for tone in TONES:
        for length in ("short", "medium", "long", 3, 300):
            response = idle_client.post(JOBS, json=caption_body(source, tone=tone, length=length))
            assert response.status_code == 202, response.text
            assert response.json()["params"]["tone"] == tone and response.json()["params"]["length"] == length
    defaults = idle_client.post(JOBS, json={"task": "caption", "params": {"source": source}})
    assert defaults.status_code == 202, defaults.text
    assert (defaults.json()["params"]["tone"], defaults.json()["params"]["length"]) == ("neutral", "short")


@pytest.mark.parametrize(
    "params, field",
    [
        ({"tone": "grumpy"}, "tone"),
        ({"tone": ""}, "tone"),
        ({"length": "huge"}, "length"),
        ({"length": 2}, "length"),
        ({"length": 301}, "length"),
        ({"length": 12.5}, "length"),
        ({"style": "bullets"}, "style"),
    ],
)
def test_invalid_tone_or_length_is_422(
    idle_live: LiveServer, idle_client: httpx.Client, params: dict[str, Any], field: str
) -> None:
    source = create_asset(idle_live, png_bytes(), "image/png", "image")
    response = idle_client.post(JOBS, json=caption_body(source, **params))
    assert_validation_error(response, ["body", "params", field])


def test_an_audio_source_is_422(idle_live: LiveServer, idle_client: httpx.Client) -> None:
    source = create_asset(idle_live, b"RIFF....WAVEfmt ", "audio/wav", "audio")
    response = idle_client.post(JOBS, json=caption_body(source))
    error = assert_validation_error(response, ["body", "params", "source"])
    assert "audio" in error["message"] or "audio" in str(error["details"])


def test_caption_a_video_with_speech(shared_live: LiveServer, shared_client: httpx.Client) -> None:
    source = create_asset(shared_live, mp4_bytes(with_audio=True), "video/mp4", "video")
    job = submit_caption(shared_client, source, tone="formal", length="short")
    done = wait_for(shared_client, job["id"], timeout=120)
    assert done["status"] == "succeeded", done
    result = done["result"]
    assert result["text"].strip() and result["base_caption"].strip()
    assert result["has_audio"] is True
    assert isinstance(result["transcript"], str)
    assert len(result["text"].split()) <= 15


def test_caption_a_silent_video(shared_live: LiveServer, shared_client: httpx.Client) -> None:
    source = create_asset(shared_live, mp4_bytes(with_audio=False), "video/mp4", "video")
    job = submit_caption(shared_client, source, tone="poetic", length=8)
    done = wait_for(shared_client, job["id"], timeout=120)
    assert done["status"] == "succeeded", done
    result = done["result"]
    assert result["text"].strip() and len(result["text"].split()) <= 8
    assert result["has_audio"] is False and result["transcript"] is None
    assert "no audio track" in result["note"]

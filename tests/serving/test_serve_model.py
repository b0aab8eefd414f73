"""``aptmagic serve-model``: the SageMaker container contract (``GET /ping``, ``POST /invocations``)
for registry models, with the job API's params validated by the same params models."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image
from typer.testing import CliRunner

from aptmagic.cli import app as cli_app
from aptmagic.inference.spec import ModelSpec
from tests.inference.test_whisper import wav_bytes
from tests.serving.support import Container, start_container
from tests.support.services import free_port, wait_for_port

ASSET = "c" * 32


def invoke(container: Container, body: object, **headers: str) -> httpx.Response:
    return httpx.post(container.url + "/invocations", json=body, headers=headers, timeout=60)


def png_b64(size: tuple[int, int] = (64, 64)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def decode(image: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(image)))


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"], error
    return str(error["message"])


def test_ping_answers_once_the_model_is_loaded(sd_container: Container) -> None:
    response = httpx.get(sd_container.url + "/ping")
    assert response.status_code == 200 and response.json() == {"status": "ready", "model": "tiny-sd"}


def test_text_to_image_answers_png_images_with_the_seed(sd_container: Container) -> None:
    body = {"task": "text-to-image", "params": {"prompt": "a lighthouse", "width": 64, "height": 80, "steps": 2,
                                                 "num_images": 2, "seed": 5}}  # fmt: skip
    first = invoke(sd_container, body)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["task"] == "text-to-image" and answer["model"] == "tiny-sd" and answer["seed"] == 5
    images = [decode(image) for image in answer["images"]]
    assert [(image.format, image.size) for image in images] == [("PNG", (64, 80))] * 2
    again = invoke(sd_container, body).json()
    other = invoke(sd_container, {**body, "params": {**body["params"], "seed": 6}}).json()
    assert again["images"] == answer["images"] and other["images"] != answer["images"]


def test_model_defaults_fill_the_params(sd_container: Container) -> None:
    answer = invoke(sd_container, {"task": "text-to-image", "params": {"prompt": "a cat", "steps": 1}}).json()
    assert decode(answer["images"][0]).size == (64, 64)  # tiny-sd's default width and height
    assert isinstance(answer["seed"], int)


def test_image_to_image_reads_its_source_from_inputs(sd_container: Container) -> None:
    body = {
        "task": "image-to-image",
        "params": {"source": ASSET, "prompt": "ink", "num_variations": 1, "steps": 2, "strength": 0.5},
        "inputs": {ASSET: {"data": png_b64((72, 64)), "content_type": "image/png", "media_kind": "image"}},
    }
    response = invoke(sd_container, body)
    assert response.status_code == 200, response.text
    assert decode(response.json()["images"][0]).size == (72, 64)
    assert response.json()["data"]["source_size"] == [72, 64]


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({"task": "paint", "params": {}}, 400, "unknown_task", "unknown task"),
        ({"task": "caption", "params": {"source": ASSET}}, 400, "task_not_served", "does not serve"),
        ({"task": "text-to-image", "params": {"prompt": "x", "width": 63}}, 400, "invalid_params", "width"),
        ({"task": "text-to-image", "params": {"prompt": ""}}, 400, "invalid_params", "prompt"),
        ({"task": "text-to-image", "params": {"prompt": "x", "width": 512}}, 400, "limit_exceeded", "at most 256"),
        ({"task": "text-to-image", "params": {"prompt": "x"}, "extra": 1}, 400, "invalid_request", "extra"),
        ({"task": "image-to-image", "params": {"source": ASSET}}, 400, "missing_input", "no file for source"),
        ({"task": "image-to-image", "params": {"source": ASSET},
          "inputs": {ASSET: {"data": "%%%", "media_kind": "image"}}}, 400, "invalid_input", "base64"),
        ({"task": "image-to-image", "params": {"source": ASSET},
          "inputs": {ASSET: {"data": png_b64(), "media_kind": "audio"}}}, 400, "invalid_input", "not audio"),
    ],
)  # fmt: skip
def test_bad_invocations_get_a_clear_400(
    sd_container: Container, body: dict[str, object], status: int, code: str, words: str
) -> None:
    assert words in assert_error(invoke(sd_container, body), status, code)


def test_a_body_that_is_not_json_is_a_400(sd_container: Container) -> None:
    response = httpx.post(sd_container.url + "/invocations", content=b"{not json", timeout=10)
    assert_error(response, 400, "invalid_request")


def test_text_answers_the_text_and_streams_jsonlines_tokens(llm_container: Container) -> None:
    body = {"task": "text", "params": {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 12, "seed": 3}}
    plain = invoke(llm_container, body)
    assert plain.status_code == 200, plain.text
    answer = plain.json()
    assert answer["text"] and answer["data"]["usage"]["completion_tokens"] > 0

    with httpx.stream("POST", llm_container.url + "/invocations", json=body,
                      headers={"Accept": "application/jsonlines"}, timeout=60) as response:  # fmt: skip
        assert response.headers["content-type"].startswith("application/jsonlines")
        lines = [json.loads(line) for line in response.iter_lines() if line]
    tokens = [line["data"]["text"] for line in lines if line["type"] == "token"]
    assert len(tokens) > 1 and lines[-1]["type"] == "result"
    assert "".join(tokens) == lines[-1]["result"]["text"] == answer["text"]  # same seed, same text
    assert any(line["type"] == "progress" for line in lines)


def test_summaries_and_bad_text_params(llm_container: Container) -> None:
    summary = invoke(llm_container, {"task": "summarize", "params": {"text": "A long day ended.", "max_tokens": 8}})
    assert summary.status_code == 200 and isinstance(summary.json()["text"], str)
    bad = invoke(llm_container, {"task": "text", "params": {"messages": []}})
    assert "messages" in assert_error(bad, 400, "invalid_params")


def test_transcribe_reads_audio_from_inputs(tmp_path: Path, models_dir: Path) -> None:
    container = start_container(tmp_path, models_dir, "tiny-whisper")
    try:
        data = base64.b64encode(wav_bytes(1.0)).decode()
        body = {"task": "transcribe", "params": {"source": ASSET},
                "inputs": {ASSET: {"data": data, "content_type": "audio/wav", "media_kind": "audio"}}}  # fmt: skip
        response = invoke(container, body)
        assert response.status_code == 200, response.text
        assert isinstance(response.json()["text"], str) and "segments" in response.json()["data"]
    finally:
        container.stop()


def test_a_model_that_fails_to_load_keeps_ping_at_503(tmp_path: Path, models_dir: Path) -> None:
    broken = ModelSpec(id="broken-sd", task="text-to-image", backend="diffusers", source=str(tmp_path / "missing"),
                       device="cpu")  # fmt: skip
    container = start_container(tmp_path, models_dir, "broken-sd", ready=False, models=[broken])
    try:
        deadline = time.monotonic() + 30
        while (ping := httpx.get(container.url + "/ping")).json()["status"] == "loading":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert ping.status_code == 503 and ping.json()["status"] == "failed"
        response = invoke(container, {"task": "text-to-image", "params": {"prompt": "x"}})
        error = response.json()["error"]
        assert response.status_code == 503 and error["code"] == "not_ready" and error["transient"] is True
    finally:
        container.stop()


def test_the_command_refuses_an_unknown_model_and_stray_arguments(tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(cli_app, ["serve-model", "--model", "nope", "--demo", "--data-dir", str(tmp_path)])
    assert unknown.exit_code == 2 and "known: " in unknown.output and "tiny-sd" in unknown.output
    stray = runner.invoke(cli_app, ["serve-model", "train", "--model", "tiny-sd", "--data-dir", str(tmp_path)])
    assert stray.exit_code == 2 and "'serve'" in stray.output


@pytest.mark.slow
def test_the_command_serves_as_sagemaker_starts_it(tmp_path: Path, models_dir: Path) -> None:
    """``docker run IMAGE serve`` with the model named in the environment, as a SageMaker model defines it."""
    port = free_port()
    env = {**os.environ, "APTMAGIC_SERVE_MODEL": "tiny-sd", "APTMAGIC_MODELS_DIR": str(models_dir),
           "APTMAGIC_DEMO": "true", "APTMAGIC_ENVIRONMENT": "test"}  # fmt: skip
    args = [sys.executable, "-m", "aptmagic", "serve-model", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--data-dir", str(tmp_path)]  # fmt: skip
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=60)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while httpx.get(url + "/ping").status_code != 200:
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.1)
        response = httpx.post(
            url + "/invocations", json={"task": "text-to-image", "params": {"prompt": "x", "steps": 1}}
        )
        assert response.status_code == 200 and len(response.json()["images"]) == 1
    finally:
        process.terminate()
        process.wait(30)

"""The ``openai`` backend against a second aptmagic, in demo mode, in its own process.

The engine is real: its OpenAI-compatible routes run the tiny models. What a
demo engine cannot show (a vision chat model, how many requests reach an
engine at once) runs against a small OpenAI-shaped endpoint in the tests."""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from PIL import Image

from aptmagic.inference.base import InferenceError, InputFile, JobCanceled, ModelLoadError, TransientInferenceError
from aptmagic.inference.params import (
    CaptionParams,
    ImageToImageParams,
    SummarizeParams,
    TextParams,
    TextToImageParams,
    TranscribeParams,
)
from aptmagic.inference.remote import engine_load
from tests.inference.remote.conftest import (
    ENGINE_KEY_ENV,
    EngineProcess,
    Recorder,
    backend_for,
    run,
    spec,
    start_engine,
)
from tests.inference.remote.openai_double import OpenAIDouble
from tests.inference.test_whisper import mp4_without_audio, wav_bytes

ASSET = "a" * 32
HELLO = [{"role": "user", "content": "Say something."}]


def llm(engine: EngineProcess, **options: object) -> object:
    model = spec("openai", engine.base_url, "text", also=("summarize",), model="tiny-llm",
                 api_key_env=ENGINE_KEY_ENV, **options)  # fmt: skip
    return backend_for(model)


def png(color: tuple[int, int, int] = (200, 40, 90), size: tuple[int, int] = (64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def direct(engine: EngineProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=engine.base_url, api_key=engine.api_key, max_retries=0, timeout=60)


# text


def test_text_streams_token_events_that_add_up_to_the_engines_answer(engine: EngineProcess) -> None:
    backend = llm(engine)
    recorder = Recorder(seed=11)
    params = TextParams(messages=HELLO, max_tokens=24, temperature=0.8)
    result = run(backend, params, recorder)

    assert len(recorder.tokens) > 1, recorder.events
    assert "".join(recorder.tokens) == result.text and result.text
    assert result.data["usage"]["completion_tokens"] > 0
    assert result.data["finish_reason"] in ("stop", "length")
    steps = [step for step, _ in recorder.steps]
    assert steps == sorted(steps) and recorder.steps[-1] == (24, 24)
    # The same request made directly gives the same text: model, seed and sampling reached the engine.
    answer = direct(engine).chat.completions.create(
        model="tiny-llm", messages=HELLO, max_tokens=24, temperature=0.8, top_p=0.95, seed=11
    )
    assert answer.choices[0].message.content == result.text


def test_summaries_stream_through_chat_completions(engine: EngineProcess) -> None:
    recorder = Recorder()
    params = SummarizeParams(text="The river rose overnight and the town moved its market uphill.", max_tokens=16)
    result = run(llm(engine), params, recorder)
    assert recorder.tokens and "".join(recorder.tokens) == result.text


def test_stop_strings_and_length_reach_the_engine(engine: EngineProcess) -> None:
    result = run(llm(engine), TextParams(messages=HELLO, max_tokens=5, temperature=0.0))
    assert result.data["finish_reason"] == "length"
    assert result.data["usage"]["completion_tokens"] <= 5


# images and audio


def test_text_to_image_decodes_the_engines_images(engine: EngineProcess) -> None:
    model = spec("openai", engine.base_url, "text-to-image", model="tiny-sd", api_key_env=ENGINE_KEY_ENV,
                 image_extras=True)  # fmt: skip
    params = TextToImageParams(prompt="a lighthouse", width=64, height=72, steps=2, num_images=2)
    result = run(backend_for(model), params, Recorder(seed=21))
    assert [image.size for image in result.images] == [(64, 72), (64, 72)]
    answer = direct(engine).images.generate(
        model="tiny-sd", prompt="a lighthouse", n=2, size="64x72", response_format="b64_json",
        extra_body={"seed": 21, "steps": 2},
    )  # fmt: skip
    expected = [Image.open(io.BytesIO(base64.b64decode(item.b64_json or ""))).convert("RGB") for item in answer.data]
    assert [image.tobytes() for image in result.images] == [image.tobytes() for image in expected]


@pytest.mark.parametrize("prompt", ["as a watercolour", ""])
def test_image_to_image_uses_edits_with_a_prompt_and_variations_without(engine: EngineProcess, prompt: str) -> None:
    model = spec("openai", engine.base_url, "image-to-image", model="tiny-sd", api_key_env=ENGINE_KEY_ENV)
    recorder = Recorder(inputs={ASSET: InputFile(ASSET, png(), "image/png", "image")})
    params = ImageToImageParams(source=ASSET, prompt=prompt, num_variations=2, steps=2, strength=0.5)
    result = run(backend_for(model), params, recorder)
    assert len(result.images) == 2 and all(image.size == (64, 64) for image in result.images)
    assert result.data["source_size"] == [64, 64]


def test_transcribe_returns_text_segments_and_segment_events(engine: EngineProcess) -> None:
    model = spec("openai", engine.base_url, "transcribe", model="tiny-whisper", api_key_env=ENGINE_KEY_ENV)
    recorder = Recorder(inputs={ASSET: InputFile(ASSET, wav_bytes(2.0), "audio/wav", "audio")})
    result = run(backend_for(model), TranscribeParams(source=ASSET), recorder)
    segments = result.data["segments"]
    assert isinstance(result.text, str) and isinstance(segments, list)
    assert [data for kind, data in recorder.events if kind == "segment"] == segments
    for segment in segments:
        assert 0.0 <= segment["start"] <= segment["end"] <= 2.0 + 1e-6
    assert result.data["duration"] == pytest.approx(2.0, abs=0.05)


# captions


@pytest.fixture
def vision() -> Iterator[OpenAIDouble]:
    double = OpenAIDouble(answer='Here is a caption: "A bold red square sits alone on a calm, empty backdrop today."')
    yield double
    double.stop()


def test_caption_sends_the_picture_as_an_image_part_with_tone_and_length(vision: OpenAIDouble) -> None:
    model = spec("openai", vision.base_url, "caption", model="a-vision-model")
    recorder = Recorder(inputs={ASSET: InputFile(ASSET, png(size=(3000, 1500)), "image/png", "image")})
    result = run(backend_for(model), CaptionParams(source=ASSET, tone="formal", length=8), recorder)

    assert result.text == "A bold red square sits alone on a…"  # no preface or quotes; 8 words
    request = vision.requests[0]
    system, user = request["messages"]
    assert "Formal: polished and precise" in system["content"] and "at most 8 words" in system["content"]
    image_part = next(part for part in user["content"] if part["type"] == "image_url")
    url = image_part["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    picture = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert picture.size == (1536, 768)  # scaled to the vision size, aspect kept
    assert request["model"] == "a-vision-model" and request["temperature"] == 0.3 and request["seed"] == 7
    assert "stream" not in request


def test_a_video_is_captioned_from_its_keyframe(vision: OpenAIDouble) -> None:
    model = spec("openai", vision.base_url, "caption")
    recorder = Recorder(inputs={ASSET: InputFile(ASSET, mp4_without_audio(1.0), "video/mp4", "video")})
    result = run(backend_for(model), CaptionParams(source=ASSET, tone="playful", length="medium"), recorder)
    assert result.data["note"] == "the caption describes the video's keyframe" and result.text
    system, user = vision.requests[0]["messages"]
    assert "keyframe of a video" in system["content"] and "Playful:" in system["content"]
    url = next(part for part in user["content"] if part["type"] == "image_url")["image_url"]["url"]
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == (64, 48)  # the video's frame size


def test_a_content_filter_finish_is_content_filtered(vision: OpenAIDouble) -> None:
    vision.finish_reason = "content_filter"
    model = spec("openai", vision.base_url, "caption")
    recorder = Recorder(inputs={ASSET: InputFile(ASSET, png(), "image/png", "image")})
    with pytest.raises(InferenceError) as caught:
        run(backend_for(model), CaptionParams(source=ASSET), recorder)
    assert caught.value.code == "content_filtered" and not caught.value.transient


def test_an_engine_without_vision_refuses_the_caption_permanently(engine: EngineProcess) -> None:
    model = spec("openai", engine.base_url, "caption", model="tiny-llm", api_key_env=ENGINE_KEY_ENV)
    recorder = Recorder(inputs={ASSET: InputFile(ASSET, png(), "image/png", "image")})
    with pytest.raises(InferenceError) as caught:
        run(backend_for(model), CaptionParams(source=ASSET), recorder)
    assert not caught.value.transient and "answered 4" in str(caught.value), caught.value


# failures


def test_a_wrong_key_is_a_permanent_error_naming_the_variable(
    engine: EngineProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMOTE_TEST_WRONG_KEY", "sk-wrong-key-0123456789")
    model = spec("openai", engine.base_url, "text", model="tiny-llm", api_key_env="REMOTE_TEST_WRONG_KEY")
    with pytest.raises(InferenceError) as caught:
        run(backend_for(model), TextParams(messages=HELLO, max_tokens=4))
    message = str(caught.value)
    assert not caught.value.transient and "401" in message and "REMOTE_TEST_WRONG_KEY" in message
    assert "sk-wrong-key" not in message


def test_a_missing_key_variable_fails_the_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REMOTE_TEST_NO_SUCH_KEY", raising=False)
    model = spec("openai", "http://127.0.0.1:9/v1", "text", api_key_env="REMOTE_TEST_NO_SUCH_KEY")
    with pytest.raises(ModelLoadError, match="REMOTE_TEST_NO_SUCH_KEY"):
        backend_for(model)


def test_bad_options_fail_the_load_with_the_field() -> None:
    with pytest.raises(ModelLoadError, match="max_in_flight"):
        backend_for(spec("openai", "http://127.0.0.1:9/v1", "text", max_in_flight=0))
    with pytest.raises(ModelLoadError, match="base URL"):
        backend_for(spec("openai", "tiny-llm", "text"))
    with pytest.raises(ModelLoadError, match="use api_key_env"):
        backend_for(spec("openai", "http://user:sk-inline@127.0.0.1:9/v1", "text"))


def test_an_engine_that_is_down_is_transient() -> None:
    model = spec("openai", "http://127.0.0.1:9/v1", "text", timeout_seconds=2)
    with pytest.raises(TransientInferenceError, match="could not be reached"):
        run(backend_for(model), TextParams(messages=HELLO, max_tokens=4))


def test_a_cancel_between_tokens_closes_the_stream(engine: EngineProcess) -> None:
    recorder = Recorder()
    ctx = recorder.ctx()
    canceled = threading.Event()

    def on_step(step: int, total: int) -> None:
        if canceled.is_set():
            raise JobCanceled("job-remote-test")

    ctx.on_step = on_step
    inner = ctx.on_event

    def on_event(kind: str, data: dict[str, object]) -> None:
        inner(kind, data)
        if len(recorder.tokens) == 3:
            canceled.set()

    ctx.on_event = on_event
    with pytest.raises(JobCanceled):
        llm(engine).run(TextParams(messages=HELLO, max_tokens=400, temperature=0.0), ctx)
    assert len(recorder.tokens) == 3


@pytest.fixture
def spare_engine(tmp_path: Path, models_dir: Path) -> Iterator[EngineProcess]:
    """An engine of its own, for tests that kill or freeze it."""
    server = start_engine(tmp_path / "spare", models_dir)
    yield server
    server.stop()


@pytest.mark.slow
def test_an_engine_killed_mid_stream_is_transient(spare_engine: EngineProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMOTE_TEST_SPARE_KEY", spare_engine.api_key)
    model = spec("openai", spare_engine.base_url, "text", model="tiny-llm", api_key_env="REMOTE_TEST_SPARE_KEY")
    backend = backend_for(model)
    recorder = Recorder(on_token=lambda count: spare_engine.kill() if count == 1 else None)
    with pytest.raises(TransientInferenceError, match="broke off|ended before|could not be reached") as caught:
        run(backend, TextParams(messages=HELLO, max_tokens=400, temperature=0.0), recorder)
    assert 1 <= len(recorder.tokens) < 400, caught.value


@pytest.mark.slow
def test_a_frozen_engine_times_out_before_and_during_an_answer(
    spare_engine: EngineProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMOTE_TEST_SPARE_KEY", spare_engine.api_key)
    model = spec("openai", spare_engine.base_url, "text", model="tiny-llm", api_key_env="REMOTE_TEST_SPARE_KEY",
                 timeout_seconds=1)  # fmt: skip
    backend = backend_for(model)
    warm = spec("openai", spare_engine.base_url, "text", model="tiny-llm", api_key_env="REMOTE_TEST_SPARE_KEY")
    run(backend_for(warm), TextParams(messages=HELLO, max_tokens=2))  # the engine loads its model first
    spare_engine.pause()
    try:
        started = time.monotonic()
        with pytest.raises(TransientInferenceError, match="did not answer within 1 s"):
            run(backend, TextParams(messages=HELLO, max_tokens=4))
        assert time.monotonic() - started < 10
    finally:
        spare_engine.resume()
    recorder = Recorder(on_token=lambda count: spare_engine.pause() if count == 1 else None)
    try:
        with pytest.raises(TransientInferenceError, match="sent nothing for 1 s mid-answer"):
            run(backend, TextParams(messages=HELLO, max_tokens=400, temperature=0.0), recorder)
    finally:
        spare_engine.resume()
    assert run(backend, TextParams(messages=HELLO, max_tokens=3)).text is not None  # back once it is


def test_max_in_flight_caps_the_requests_the_engine_sees() -> None:
    double = OpenAIDouble(answer="one two three", delay=0.3)
    try:
        model = spec("openai", double.base_url, "text", max_in_flight=2)
        backend = backend_for(model)
        results: list[str | None] = []
        threads = [
            threading.Thread(target=lambda: results.append(run(backend, TextParams(messages=HELLO)).text))
            for _ in range(6)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        elapsed = time.monotonic() - started
    finally:
        double.stop()
    assert results == ["one two three"] * 6
    assert double.peak == 2  # never more than the limit, and the limit was used
    assert elapsed >= 0.9  # 6 requests of 0.3 s, 2 at a time
    assert engine_load(f"openai:{double.base_url}") == (0, 2)


# through the job API of a first aptmagic


@pytest.mark.slow
def test_a_remote_model_runs_as_a_job_with_token_events(engine: EngineProcess, make_settings: object) -> None:
    """The first aptmagic has the second one's tiny-llm as a registry model: the job goes to the
    cpu queue, its SSE stream carries the engine's tokens, and the job's text is their sum."""
    from aptmagic.jobs.repository import JobRepository
    from tests.conftest import start_server
    from tests.jobs.conftest import collect_events

    remote = spec("openai", engine.base_url, "text", model="tiny-llm", api_key_env=ENGINE_KEY_ENV)
    live = start_server(make_settings(models=[remote.model_copy(update={"id": "remote-llm"})]))  # type: ignore[operator]
    try:
        with httpx.Client(base_url=live.url, headers=live.auth_headers, timeout=30) as client:
            body = {"task": "text", "model": "remote-llm", "params": {"messages": HELLO, "max_tokens": 12}}
            response = client.post("/api/v1/jobs", json=body)
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
            events = collect_events(client, job_id)
            job = client.get(f"/api/v1/jobs/{job_id}").json()
        with live.services.session_factory() as session:
            queue = JobRepository(session).snapshot(job_id).queue_name
    finally:
        live.stop()
    tokens = [item.data["text"] for item in events if item.event == "token"]
    assert job["status"] == "succeeded", job
    assert len(tokens) > 1 and "".join(tokens) == job["result"]["text"]
    assert queue == "cpu"

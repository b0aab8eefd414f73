"""The official openai package, unchanged, against the live app."""

from __future__ import annotations

import base64
import io

import httpx
import openai
import pytest
from PIL import Image

from tests.compat.conftest import png_bytes
from tests.conftest import LiveServer
from tests.inference.test_whisper import wav_bytes


def test_models_list_the_registry(oai: openai.OpenAI, compat_live: LiveServer) -> None:
    ids = {model.id for model in oai.models.list()}
    assert ids == {spec.id for spec in compat_live.services.registry.all()}
    assert oai.models.retrieve("tiny-sd").id == "tiny-sd"
    with pytest.raises(openai.NotFoundError):
        oai.models.retrieve("no-such-model")


def test_generate_b64_json_with_seed_is_reproducible(oai: openai.OpenAI) -> None:
    extra = {"seed": 7, "steps": 2}
    first = oai.images.generate(
        model="tiny-sd", prompt="a red fox", n=2, size="64x64", response_format="b64_json", extra_body=extra
    )
    assert len(first.data) == 2
    image = Image.open(io.BytesIO(base64.b64decode(first.data[0].b64_json or "")))
    assert image.size == (64, 64) and image.format == "PNG"
    again = oai.images.generate(
        model="tiny-sd", prompt="a red fox", n=2, size="64x64", response_format="b64_json", extra_body=extra
    )
    assert again.data[0].b64_json == first.data[0].b64_json


def test_generate_url_is_fetchable_without_a_key_and_signed(oai: openai.OpenAI, compat_live: LiveServer) -> None:
    result = oai.images.generate(model="dall-e-3", prompt="a blue whale", size="64x64", response_format="url")
    url = result.data[0].url or ""
    assert url.startswith(compat_live.url + "/v1/files/signed/")
    fetched = httpx.get(url)  # no Authorization header
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(fetched.content)).size == (64, 64)
    tampered = httpx.get(url[:-3] + ("abc" if not url.endswith("abc") else "xyz"))
    assert tampered.status_code == 403
    assert tampered.json()["error"]["type"] == "permission_error"


def test_edit_and_variation_multipart(oai: openai.OpenAI) -> None:
    edited = oai.images.edit(
        image=("in.png", png_bytes(), "image/png"), prompt="as a watercolour", n=2, response_format="b64_json"
    )
    assert len(edited.data) == 2
    varied = oai.images.create_variation(image=("in.png", png_bytes(), "image/png"), n=1, response_format="url")
    assert len(varied.data) == 1 and varied.data[0].url


def test_chat_without_stream(oai: openai.OpenAI) -> None:
    answer = oai.chat.completions.create(
        model="tiny-llm", messages=[{"role": "user", "content": "Say hi"}], max_tokens=8, temperature=0, seed=3
    )
    assert answer.object == "chat.completion"
    assert answer.model == "tiny-llm"
    choice = answer.choices[0]
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert choice.finish_reason in ("stop", "length")
    assert answer.usage is not None and answer.usage.completion_tokens <= 8
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens


def test_chat_stream_adds_up_to_the_whole_answer(oai: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Count to three"}]
    stream = oai.chat.completions.create(
        model="tiny-llm",
        messages=messages,
        max_tokens=12,
        temperature=0,
        seed=11,
        stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes and finishes[-1] in ("stop", "length")
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    whole = oai.chat.completions.create(model="tiny-llm", messages=messages, max_tokens=12, temperature=0, seed=11)  # type: ignore[arg-type]
    assert whole.choices[0].message.content == text


def test_chat_stream_ends_with_done(http: httpx.Client) -> None:
    body = {
        "model": "tiny-llm",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 4,
        "stream": True,
        "seed": 5,
    }
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    assert lines[-1] == "data: [DONE]"


def test_transcription_formats(oai: openai.OpenAI) -> None:
    audio = ("clip.wav", wav_bytes(2.0), "audio/wav")
    plain = oai.audio.transcriptions.create(model="whisper-1", file=audio)
    assert isinstance(plain.text, str)
    verbose = oai.audio.transcriptions.create(model="tiny-whisper", file=audio, response_format="verbose_json")
    assert verbose.duration == pytest.approx(2.0, abs=0.1)
    srt = oai.audio.transcriptions.create(model="whisper-1", file=audio, response_format="srt")
    assert isinstance(srt, str)
    text = oai.audio.transcriptions.create(model="whisper-1", file=audio, response_format="text")
    assert isinstance(text, str) and text.strip() == plain.text.strip()


def test_a_bad_key_is_an_authentication_error(compat_live: LiveServer) -> None:
    with openai.OpenAI(base_url=compat_live.url + "/v1", api_key="amk_wrong", max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError) as caught:
            bad.models.list()
        assert caught.value.code == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            bad.images.generate(prompt="x")


def test_unknown_model_and_bad_params_are_openai_errors(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        oai.images.generate(model="no-such-model", prompt="x")
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        oai.images.generate(model="tiny-sd", prompt="x", size="4096x4096")  # type: ignore[arg-type]
    assert bad.value.param == "size"
    with pytest.raises(openai.BadRequestError):
        oai.images.generate(model="tiny-sd", prompt="x", n=50)
    with pytest.raises(openai.BadRequestError):
        oai.chat.completions.create(model="tiny-llm", messages=[], max_tokens=4)

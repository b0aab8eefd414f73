"""Any OpenAI-compatible server as an engine: vLLM, TGI, Ollama, llama.cpp's server, LiteLLM, another aptmagic.

``source`` is the engine's base URL (``http://host:8000/v1``); options: ``model``
(the engine's name for the model, default the spec id), ``api_key_env`` (the
name of the environment variable that holds the key), ``timeout_seconds``,
``max_in_flight``, ``image_extras`` (send ``seed``, ``steps``, ``guidance``,
``negative_prompt`` and ``strength`` with image requests, for engines that
take them, such as aptmagic).

Text and summaries stream through chat completions: each delta is sent as the
same ``token`` event local models send, and a cancel closes the stream.
Images go through the images routes (``b64_json``), transcripts through audio
transcriptions, captions through a vision chat message with the picture as an
``image_url`` data URL and aptmagic's tone and length as the instruction.

The official ``openai`` client does the HTTP, with its own retries off: the
job runner decides what to retry."""

from __future__ import annotations

import base64
import mimetypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import openai
from pydantic import BaseModel, Field

from aptmagic.inference.base import (
    BackendEnv,
    ContentFiltered,
    InferenceError,
    InferenceResult,
    ModelLoadError,
    RunContext,
    TransientInferenceError,
)
from aptmagic.inference.params import (
    CaptionParams,
    ImageToImageParams,
    SummarizeParams,
    TextParams,
    TextToImageParams,
    TranscribeParams,
)
from aptmagic.inference.registry import register_backend
from aptmagic.inference.remote import (
    CAPTION_ASK,
    Engine,
    Redactor,
    RemoteOptions,
    Watch,
    call_watched,
    caption_instruction,
    caption_settings,
    check_tasks,
    decode_b64_image,
    encode_image,
    engine_for,
    finish_caption,
    parse_options,
    redact_library_logs,
    source_image,
    unsupported,
    vision_image,
)
from aptmagic.inference.spec import ModelSpec
from aptmagic.inference.transformers_llm import SUMMARY_TEMPERATURE, SUMMARY_TOP_P, summary_messages

TASKS = {"text", "summarize", "text-to-image", "image-to-image", "transcribe", "caption"}
NO_KEY = "not-needed"  # the client insists on a key; keyless servers (vLLM, Ollama) ignore it
TRANSIENT_CODES = {"transient_error", "server_error", "rate_limit_exceeded", "overloaded", "service_unavailable"}
FILTER_CODES = {"content_filter", "content_policy_violation", "content_filtered", "moderation_blocked"}


class OpenAIOptions(RemoteOptions):
    model: str | None = Field(None, min_length=1, description="The engine's name for the model.")
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    image_extras: bool = False


class OpenAIEngine:
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        check_tasks(spec, TASKS)
        if not spec.source.startswith(("http://", "https://")):
            raise ModelLoadError(f"model {spec.id!r}: source must be the engine's base URL, e.g. http://host:8000/v1")
        parts = urlsplit(spec.source)
        if parts.username or parts.password or parts.query:
            raise ModelLoadError(
                f"model {spec.id!r}: no credentials or query in source (it is listed by the API); use api_key_env"
            )
        self.spec = spec
        self.options = parse_options(spec, OpenAIOptions)
        self.model_name = self.options.model or spec.id
        self.engine: Engine = engine_for(f"openai:{spec.source.rstrip('/')}", self.options.max_in_flight)
        self.wait_seconds = self.options.queue_seconds
        self.client: openai.OpenAI | None = None
        self.redact = Redactor()

    # loading
    def setup(self) -> None:
        key = self._api_key()
        self.redact = Redactor([key] if key != NO_KEY else [])
        redact_library_logs(key)
        timeout = self.options.timeout_seconds
        self.client = openai.OpenAI(base_url=self.spec.source, api_key=key, timeout=timeout, max_retries=0)

    def _api_key(self) -> str:
        name = self.options.api_key_env
        if name is None:
            return NO_KEY
        value = os.environ.get(name, "")
        if not value:
            raise ModelLoadError(f"model {self.spec.id!r}: the environment variable {name} (api_key_env) is not set")
        return value

    def unload(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def memory_bytes(self) -> int:
        return 0

    @property
    def api(self) -> openai.OpenAI:
        if self.client is None:
            raise InferenceError(f"model {self.spec.id!r} is not loaded")
        return self.client

    # running
    def run(self, params: BaseModel, ctx: RunContext) -> InferenceResult:
        with self.errors():
            if isinstance(params, TextParams):
                messages = [m.model_dump() for m in params.messages]
                return self._chat(messages, params.max_tokens, params.temperature, params.top_p, params.stop, ctx)
            if isinstance(params, SummarizeParams):
                messages = summary_messages(params.text, params.length, params.style)
                return self._chat(messages, params.max_tokens, SUMMARY_TEMPERATURE, SUMMARY_TOP_P, [], ctx)
            if isinstance(params, TextToImageParams):
                return self._generate(params, ctx)
            if isinstance(params, ImageToImageParams):
                return self._edit(params, ctx)
            if isinstance(params, TranscribeParams):
                return self._transcribe(params, ctx)
            if isinstance(params, CaptionParams):
                return self._caption(params, ctx)
            raise unsupported(self.spec, params)

    def _chat(
        self,
        messages: list[dict[str, Any]],
        max_tokens: int,
        temperature: float,
        top_p: float,
        stop: list[str],
        ctx: RunContext,
    ) -> InferenceResult:
        watch = Watch(ctx, max_tokens)
        watch.step(0)
        request: dict[str, Any] = {
            "model": self.model_name,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": top_p,
            "seed": ctx.seed,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if stop:
            request["stop"] = stop
        with self.engine.slot(watch, self.wait_seconds):
            stream = self.api.chat.completions.create(**request)
            with stream:
                try:
                    return _read_stream(stream, watch)
                except openai.APIConnectionError as exc:  # newer clients wrap what breaks mid-stream
                    timeout = isinstance(exc, openai.APITimeoutError)
                    raise self._broken("timeout" if timeout else "transport", exc) from None

    def _generate(self, p: TextToImageParams, ctx: RunContext) -> InferenceResult:
        request: dict[str, Any] = {
            "model": self.model_name,
            "prompt": p.prompt,
            "n": p.num_images,
            "response_format": "b64_json",
        }
        if p.width and p.height:
            request["size"] = f"{p.width}x{p.height}"
        extras = {"seed": ctx.seed, "steps": p.steps, "guidance": p.guidance, "negative_prompt": p.negative_prompt}
        self._add_extras(request, extras)
        watch = Watch(ctx, p.progress_total())
        watch.step(0)
        answer = call_watched(self.engine, watch, self.wait_seconds, lambda: self.api.images.generate(**request))
        watch.finish()
        return InferenceResult(images=self._images(answer, p.num_images))

    def _edit(self, p: ImageToImageParams, ctx: RunContext) -> InferenceResult:
        source = source_image(ctx.load_input(p.source))
        request: dict[str, Any] = {
            "model": self.model_name,
            "image": ("source.png", encode_image(source), "image/png"),
            "n": p.num_variations,
            "response_format": "b64_json",
        }
        extras: dict[str, Any] = {"seed": ctx.seed, "strength": p.strength, "steps": p.steps, "guidance": p.guidance}
        if p.prompt:
            request["prompt"] = p.prompt
            extras["negative_prompt"] = p.negative_prompt
        self._add_extras(request, extras)
        images = self.api.images
        call = (lambda: images.edit(**request)) if p.prompt else (lambda: images.create_variation(**request))
        watch = Watch(ctx, p.progress_total())
        watch.step(0)
        answer = call_watched(self.engine, watch, self.wait_seconds, call)
        watch.finish()
        return InferenceResult(images=self._images(answer, p.num_variations), data={"source_size": list(source.size)})

    def _add_extras(self, request: dict[str, Any], extras: dict[str, Any]) -> None:
        if self.options.image_extras:
            request["extra_body"] = {k: v for k, v in extras.items() if v not in (None, "")}

    def _images(self, answer: Any, expected: int) -> list[Any]:
        items = list(getattr(answer, "data", None) or [])
        if not items:
            raise InferenceError(f"engine {self.spec.source} answered no images")
        if any(getattr(item, "b64_json", None) is None for item in items):
            raise InferenceError(f"engine {self.spec.source} answered image URLs, not b64_json as asked")
        return [decode_b64_image(item.b64_json, "an image from the engine") for item in items[:expected]]

    def _transcribe(self, p: TranscribeParams, ctx: RunContext) -> InferenceResult:
        source = ctx.load_input(p.source)
        if source.media_kind not in ("audio", "video"):
            raise InferenceError(
                f"cannot transcribe this {source.media_kind or 'unknown'} asset; expected audio or video"
            )
        extension = mimetypes.guess_extension(source.content_type) or ".bin"
        request: dict[str, Any] = {
            "model": self.model_name,
            "file": (f"audio{extension}", source.data, source.content_type),
            "response_format": "verbose_json" if p.timestamps else "json",
        }
        if p.language:
            request["language"] = p.language
        watch = Watch(ctx, 1)
        watch.step(0)
        answer = call_watched(
            self.engine, watch, self.wait_seconds, lambda: self.api.audio.transcriptions.create(**request)
        )
        text = " ".join(str(getattr(answer, "text", "") or "").split())
        data: dict[str, Any] = {"language": getattr(answer, "language", None) or p.language}
        if getattr(answer, "duration", None) is not None:
            data["duration"] = round(float(answer.duration), 3)
        if p.timestamps:
            data["segments"] = [_segment(s) for s in getattr(answer, "segments", None) or []]
            for segment in data["segments"]:
                ctx.emit("segment", dict(segment))
        watch.finish()
        return InferenceResult(text=text, data=data)

    def _caption(self, p: CaptionParams, ctx: RunContext) -> InferenceResult:
        source = ctx.load_input(p.source)
        watch = Watch(ctx, 2)
        watch.step(0)
        picture = base64.b64encode(vision_image(source)).decode()
        watch.step(1)
        max_tokens, temperature, top_p = caption_settings(p.tone, p.length)
        messages = [
            {"role": "system", "content": caption_instruction(p.tone, p.length, source.media_kind == "video")},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": CAPTION_ASK},
                    {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{picture}"}},
                ],
            },
        ]
        request: dict[str, Any] = {"model": self.model_name, "messages": messages, "max_tokens": max_tokens,
                                   "temperature": temperature, "top_p": top_p, "seed": ctx.seed}  # fmt: skip
        answer = call_watched(
            self.engine, watch, self.wait_seconds, lambda: self.api.chat.completions.create(**request)
        )
        choice = answer.choices[0] if answer.choices else None
        if choice is None:
            raise InferenceError(f"engine {self.spec.source} answered no choices")
        if choice.finish_reason == "content_filter":
            raise ContentFiltered("the engine's content filter stopped the caption")
        text = finish_caption(choice.message.content or "", choice.finish_reason == "length", p.length)
        watch.finish()
        data = {"tone": p.tone, "length": p.length, "finish_reason": choice.finish_reason}
        if source.media_kind == "video":
            data["note"] = "the caption describes the video's keyframe"
        return InferenceResult(text=text, data=data)

    # errors
    @contextmanager
    def errors(self) -> Iterator[None]:
        """The client's exceptions as aptmagic's: transient (retry, then the next engine) or permanent."""
        try:
            yield
        except InferenceError:
            raise
        except openai.APITimeoutError:
            raise TransientInferenceError(
                f"engine {self.spec.source} did not answer within {self.options.timeout_seconds:g} s"
            ) from None
        except openai.APIConnectionError as exc:
            raise TransientInferenceError(
                f"engine {self.spec.source} could not be reached: {self._cause(exc)}"
            ) from None
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except openai.APIError as exc:  # an error event inside a stream
            raise self._stream_error(exc) from None
        except Exception as exc:  # older clients let the HTTP library's errors out of a stream
            kind = _transport_error(exc)
            if kind is None:
                raise
            raise self._broken(kind, exc) from None

    def _broken(self, kind: str, exc: BaseException) -> TransientInferenceError:
        if kind == "timeout":
            seconds = self.options.timeout_seconds
            return TransientInferenceError(f"engine {self.spec.source} sent nothing for {seconds:g} s mid-answer")
        return TransientInferenceError(f"engine {self.spec.source} broke off the answer: {self._cause(exc)}")

    def _cause(self, exc: BaseException) -> str:
        cause = exc.__cause__ or exc.__context__
        return self.redact(f"{type(cause).__name__}: {cause}" if cause else exc)

    def _status_error(self, exc: openai.APIStatusError) -> InferenceError:
        status = exc.status_code
        code, message = _error_body(exc.body)
        detail = self.redact(message or exc.message)
        where = f"engine {self.spec.source} answered {status}"
        if code in FILTER_CODES:
            return ContentFiltered(f"{where}: the engine's content filter refused the request ({detail})")
        if status in (401, 403):
            hint = f"check the key in {self.options.api_key_env}" if self.options.api_key_env else "set api_key_env"
            return InferenceError(f"{where}: the engine refused the credentials ({hint}): {detail}")
        if status in (408, 409, 429) or status >= 500:
            return TransientInferenceError(f"{where}: {detail}")
        return InferenceError(f"{where}: {detail}")

    def _stream_error(self, exc: openai.APIError) -> InferenceError:
        code, message = _error_body(exc.body)
        detail = self.redact(message or exc.message)
        if code in FILTER_CODES:
            return ContentFiltered(f"the engine's content filter stopped the answer ({detail})")
        if code in TRANSIENT_CODES or code is None:
            return TransientInferenceError(f"engine {self.spec.source} failed mid-answer: {detail}")
        return InferenceError(f"engine {self.spec.source} refused the request ({code}): {detail}")


def _read_stream(stream: Any, watch: Watch) -> InferenceResult:
    """Send each delta as a ``token`` event; a cancel raised by ``watch`` leaves the loop,
    and the caller's ``with stream`` closes the connection."""
    pieces: list[str] = []
    finish: str | None = None
    usage: dict[str, int] | None = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = {"prompt_tokens": chunk.usage.prompt_tokens, "completion_tokens": chunk.usage.completion_tokens}
        for choice in chunk.choices:
            text = choice.delta.content if choice.delta is not None else None
            if text:
                pieces.append(text)
                watch.ctx.emit("token", {"text": text})
            finish = choice.finish_reason or finish
        watch.step(len(pieces))
    if finish is None:
        raise TransientInferenceError("the engine's stream ended before the answer was complete")
    if finish == "content_filter":
        raise ContentFiltered("the engine's content filter stopped the answer")
    data: dict[str, Any] = {"finish_reason": "length" if finish == "length" else "stop"}
    if usage is not None:
        data["usage"] = usage
    watch.finish()
    return InferenceResult(text="".join(pieces), data=data)


def _transport_error(exc: BaseException) -> str | None:
    """ "timeout" or "transport" for an error of the client's HTTP library (httpx, or httpx2 in newer
    clients), which the client raises unwrapped while a stream is read; None for anything else."""
    classes = type(exc).__mro__
    if not any(cls.__module__.split(".")[0] in ("httpx", "httpx2", "httpcore") for cls in classes):
        return None
    return "timeout" if any(cls.__name__ == "TimeoutException" for cls in classes) else "transport"


def _segment(segment: Any) -> dict[str, Any]:
    fields = segment if isinstance(segment, dict) else {k: getattr(segment, k, None) for k in ("start", "end", "text")}
    return {
        "start": round(float(fields.get("start") or 0.0), 3),
        "end": round(float(fields.get("end") or 0.0), 3),
        "text": " ".join(str(fields.get("text") or "").split()),
    }


def _error_body(body: object) -> tuple[str | None, str | None]:
    """(code, message) of an OpenAI-shaped error body ({"error": {...}} or the inner object)."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            code = inner.get("code") or inner.get("type")
            message = inner.get("message")
            return (str(code) if code else None), (str(message) if message else None)
        if isinstance(inner, str):
            return None, inner
    return None, None


register_backend("openai")(OpenAIEngine)

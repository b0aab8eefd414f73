"""OpenAI requests as aptmagic jobs, and the jobs' results as OpenAI responses."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from aptmagic.auth.principal import Principal
from aptmagic.compat.errors import BadRequest, ModelNotFound, openai_shape
from aptmagic.compat.forms import FormInput
from aptmagic.compat.jobs import CompatJobs, Submitted, succeeded
from aptmagic.compat.links import SIGNED_PATH, LinkSigner
from aptmagic.compat.openai.schemas import (
    ChatChoice,
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessageOut,
    ImageData,
    ImageFormFields,
    ImageGenerationRequest,
    ImagesResponse,
    ModelCard,
    ModelList,
    Segment,
    Transcription,
    TranscriptionFields,
    Usage,
    VerboseTranscription,
    chunk,
)
from aptmagic.inference.registry import ModelRegistry, UnknownModel
from aptmagic.jobs.schemas import JobRead
from aptmagic.kit.errors import AppError
from aptmagic.shared_state.events import JobEvent

# OpenAI's own model names, answered by the task's default model so that tools
# that hard-code them work unchanged. Any other name must be a registry id.
IMAGE_ALIASES = frozenset({"dall-e-2", "dall-e-3", "gpt-image-1"})
CHAT_ALIASES = frozenset({"gpt-3.5-turbo", "gpt-4", "gpt-4-turbo", "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini"})
AUDIO_ALIASES = frozenset({"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"})
IMAGE_NAMES = {"width": "size", "height": "size", "num_images": "n", "num_variations": "n", "source": "image"}


class OpenAIService:
    def __init__(self, jobs: CompatJobs, registry: ModelRegistry, signer: LinkSigner) -> None:
        self.jobs = jobs
        self.registry = registry
        self.signer = signer

    def models(self) -> ModelList:
        return ModelList(data=[ModelCard(id=spec.id) for spec in self.registry.all()])

    def model(self, model_id: str) -> ModelCard:
        try:
            return ModelCard(id=self.registry.get(model_id).id)
        except UnknownModel:
            raise ModelNotFound(f"The model '{model_id}' does not exist", param="model") from None

    # images

    async def generate(self, principal: Principal, body: ImageGenerationRequest, request: Request) -> ImagesResponse:
        model = self.jobs.model_for("text-to-image", body.model, IMAGE_ALIASES)
        params: dict[str, Any] = {"prompt": body.prompt, "num_images": body.n, **_size(body.size)}
        extras = {
            "seed": body.seed,
            "steps": body.steps,
            "guidance": body.guidance,
            "negative_prompt": body.negative_prompt,
        }
        params.update({k: v for k, v in extras.items() if v is not None})
        job = await self.jobs.run(principal, "text-to-image", model, params, request, IMAGE_NAMES)
        return await self._images(job, principal, body.response_format or "url", request)

    async def edit(self, principal: Principal, form: FormInput, request: Request, *, variation: bool) -> ImagesResponse:
        fields = form.validate(ImageFormFields)
        if "mask" in form.files:
            raise BadRequest("masks (inpainting) are not supported; send the image alone", param="mask")
        if not variation and not (fields.prompt or "").strip():
            raise BadRequest("prompt is required", param="prompt")
        _size(fields.size)  # checked for form; variations keep the source's aspect ratio
        model = self.jobs.model_for("image-to-image", fields.model, IMAGE_ALIASES)
        image = form.file("image", "image[]")
        source = await self.jobs.upload(principal, image.data, image.content_type, image.filename)
        params: dict[str, Any] = {"source": source, "num_variations": fields.n, "prompt": fields.prompt or ""}
        if fields.seed is not None:
            params["seed"] = fields.seed
        if fields.strength is not None:
            params["strength"] = fields.strength
        job = await self.jobs.run(principal, "image-to-image", model, params, request, IMAGE_NAMES)
        return await self._images(job, principal, fields.response_format or "url", request)

    async def _images(
        self, job: JobRead, principal: Principal, response_format: str, request: Request
    ) -> ImagesResponse:
        data = []
        for output in job.outputs:
            if response_format == "b64_json":
                raw, _ = await run_in_threadpool(self.jobs.read_asset, output.asset_id, principal)
                data.append(ImageData(b64_json=base64.b64encode(raw).decode()))
            else:
                token = self.signer.sign(output.asset_id, principal.user_id)
                data.append(ImageData(url=str(request.base_url).rstrip("/") + SIGNED_PATH + token))
        return ImagesResponse(created=_created(job), data=data, seed=job.seed, job_id=job.id)

    # chat

    async def start_chat(self, principal: Principal, body: ChatCompletionRequest) -> Submitted:
        model = self.jobs.model_for("text", body.model, CHAT_ALIASES)
        return await self.jobs.submit(principal, "text", model, _text_params(body))

    async def chat(self, principal: Principal, body: ChatCompletionRequest, request: Request) -> ChatCompletion:
        submitted = await self.start_chat(principal, body)
        job: Any = submitted.job
        async for item in self.jobs.follow(submitted, principal, request):
            job = item
        if not isinstance(job, JobRead):
            raise BadRequest("the request ended before the job")
        job = succeeded(job)
        result = job.result or {}
        return ChatCompletion(
            id=f"chatcmpl-{job.id}",
            created=_created(job),
            model=job.model,
            choices=[ChatChoice(message=ChatMessageOut(content=result.get("text", "")), finish_reason=_finish(result))],
            usage=_usage(result),
        )

    async def chat_chunks(
        self, submitted: Submitted, principal: Principal, body: ChatCompletionRequest, request: Request
    ) -> AsyncIterator[dict[str, str]]:
        """Server-sent ``chat.completion.chunk`` events fed by the job's tokens, then ``[DONE]``."""
        ident, created, model = f"chatcmpl-{submitted.job.id}", int(time.time()), submitted.job.model
        yield _data(chunk(ident, created, model, {"role": "assistant", "content": ""}, None))
        streamed = False
        try:
            async for item in self.jobs.follow(submitted, principal, request):
                if isinstance(item, JobEvent):
                    if item.type == "token" and item.data.get("text"):
                        streamed = True
                        yield _data(chunk(ident, created, model, {"content": item.data["text"]}, None))
                    continue
                result = succeeded(item).result or {}
                if not streamed and result.get("text"):  # a cache hit: the whole answer at once
                    yield _data(chunk(ident, created, model, {"content": result["text"]}, None))
                yield _data(chunk(ident, created, model, {}, _finish(result)))
                if body.stream_options is not None and body.stream_options.include_usage:
                    usage = chunk(ident, created, model, {}, None) | {
                        "choices": [],
                        "usage": _usage(result).model_dump(),
                    }
                    yield _data(usage)
        except AppError as exc:
            _, shaped = openai_shape(
                exc.status_code, {"code": exc.code, "message": exc.message, "details": exc.details}
            )
            yield _data(shaped)
        yield {"data": "[DONE]"}

    # audio

    async def transcribe(self, principal: Principal, form: FormInput, request: Request) -> tuple[Any, str]:
        """The transcript in the asked format, and that format."""
        fields = form.validate(TranscriptionFields)
        model = self.jobs.model_for("transcribe", fields.model, AUDIO_ALIASES)
        upload = form.file("file")
        source = await self.jobs.upload(principal, upload.data, upload.content_type, upload.filename)
        params: dict[str, Any] = {"source": source, "timestamps": True}
        if fields.language:
            params["language"] = fields.language
        job = await self.jobs.run(principal, "transcribe", model, params, request, {"source": "file"})
        return _transcript(job.result or {}, fields.response_format), fields.response_format


def _size(size: str | None) -> dict[str, int]:
    if size is None or size == "auto":
        return {}
    width, _, height = size.partition("x")
    return {"width": int(width), "height": int(height)}


def _created(job: JobRead) -> int:
    return int(job.timings.created_at.timestamp())


def _text_params(body: ChatCompletionRequest) -> dict[str, Any]:
    messages = [
        {"role": "system" if m.role == "developer" else m.role, "content": _content(m.content)} for m in body.messages
    ]
    params: dict[str, Any] = {"messages": messages}
    max_tokens = body.max_completion_tokens or body.max_tokens
    optional = {"max_tokens": max_tokens, "temperature": body.temperature, "top_p": body.top_p, "seed": body.seed}
    params.update({k: v for k, v in optional.items() if v is not None})
    if body.stop is not None:
        params["stop"] = [body.stop] if isinstance(body.stop, str) else body.stop
    return params


def _content(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content)


def _finish(result: dict[str, Any]) -> str:
    return "length" if result.get("finish_reason") == "length" else "stop"


def _usage(result: dict[str, Any]) -> Usage:
    usage = result.get("usage") or {}
    prompt, completion = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _data(payload: dict[str, Any]) -> dict[str, str]:
    return {"data": json.dumps(payload, separators=(",", ":"))}


def _transcript(result: dict[str, Any], response_format: str) -> Any:
    from aptmagic.jobs.text_formats import render

    text = result.get("text", "")
    if response_format in ("srt", "vtt"):
        return render(result, response_format)
    if response_format == "text":
        return text
    if response_format == "verbose_json":
        segments = [
            Segment(id=i, start=s["start"], end=s["end"], text=s["text"])
            for i, s in enumerate(result.get("segments", []))
        ]
        return VerboseTranscription(
            language=result.get("language") or "",
            duration=float(result.get("duration") or 0.0),
            text=text,
            segments=segments,
        )
    return Transcription(text=text)

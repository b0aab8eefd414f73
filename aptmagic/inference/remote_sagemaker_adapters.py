"""Request and response shapes of the model containers a SageMaker endpoint may run.

* ``aptmagic``: ``aptmagic serve-model`` (aptmagic.serving). Request
  ``{"task", "params", "inputs"}`` where ``params`` are the job API's params and
  ``inputs`` carries each uploaded file the params name (base64); answer
  ``{"images": [base64 PNG], "text", "data"}``. Streamed (``Accept:
  application/jsonlines``): one JSON object a line, ``{"type": "token"|"segment"|
  "progress", "data"}``, then ``{"type": "result", ...}`` or ``{"type": "error",
  "error": {"code", "message", "transient"}}``.
* ``tgi``: Hugging Face TGI / LMI. ``{"inputs": prompt, "parameters": {...}}``
  answered by ``[{"generated_text"}]``; streamed as ``data:{"token": {"text",
  "special"}, ...}`` lines.
* ``jumpstart-sd``: JumpStart Stable Diffusion. ``{"prompt", "width", "height",
  "num_images_per_prompt", ...}`` with ``Accept: application/json;jpeg``,
  answered by ``{"generated_images": [base64 JPEG]}``."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from aptmagic.inference.base import (
    ContentFiltered,
    InferenceError,
    InferenceResult,
    RunContext,
    TransientInferenceError,
)
from aptmagic.inference.params import SourceParams, SummarizeParams, TaskParams, TextParams, TextToImageParams
from aptmagic.inference.remote import decode_b64_image, stability_seed
from aptmagic.inference.transformers_llm import SUMMARY_TEMPERATURE, SUMMARY_TOP_P, summary_messages

ALL_TASKS = {"text", "summarize", "text-to-image", "image-to-image", "caption", "transcribe"}


def parse_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise InferenceError(f"{what} answered a body that is not JSON") from None


class StreamReader(Protocol):
    def feed(self, data: bytes, ctx: RunContext) -> int:
        """Read a streamed part; returns how many tokens came in it."""
        ...

    def result(self) -> InferenceResult: ...


class Adapter(Protocol):
    tasks: set[str]
    streams: bool
    accept: str

    def request(self, params: TaskParams, ctx: RunContext) -> dict[str, Any]: ...

    def answer(self, body: bytes, what: str) -> InferenceResult: ...

    def reader(self, what: str) -> StreamReader: ...


class Lines:
    """Whole lines out of stream parts that may cut a line anywhere."""

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, data: bytes) -> list[str]:
        self.pending += data
        *lines, self.pending = self.pending.split(b"\n")
        return [line.decode("utf-8", "replace").strip() for line in lines if line.strip()]

    def rest(self) -> list[str]:
        rest, self.pending = self.pending.strip(), b""
        return [rest.decode("utf-8", "replace")] if rest else []


# aptmagic serve-model


def container_error(error: Any, what: str) -> InferenceError:
    """An aptmagic container's ``{"code", "message", "transient"}`` as the matching error."""
    if not isinstance(error, dict):
        return InferenceError(f"{what} failed")
    message = f"{what}: {error.get('message') or error.get('code') or 'failed'}"
    if error.get("code") == ContentFiltered.code:
        return ContentFiltered(message)
    if error.get("transient"):
        return TransientInferenceError(message)
    return InferenceError(message)


def result_from(body: Any, what: str) -> InferenceResult:
    if not isinstance(body, dict):
        raise InferenceError(f"{what} answered {type(body).__name__}, not an aptmagic result")
    if "error" in body:
        raise container_error(body["error"], what)
    images = [decode_b64_image(item, f"an image from {what}") for item in body.get("images") or []]
    data = body["data"] if isinstance(body.get("data"), dict) else {}
    return InferenceResult(images=images, text=body.get("text"), data=data)


@dataclass
class AptmagicReader:
    what: str
    lines: Lines = field(default_factory=Lines)
    outcome: InferenceResult | None = None

    def feed(self, data: bytes, ctx: RunContext) -> int:
        tokens = 0
        for line in self.lines.feed(data):
            tokens += self._line(line, ctx)
        return tokens

    def _line(self, line: str, ctx: RunContext) -> int:
        event = parse_json(line.encode(), self.what)
        kind = event.get("type") if isinstance(event, dict) else None
        if kind in ("token", "segment"):
            ctx.emit(kind, event.get("data") or {})
            return 1 if kind == "token" else 0
        if kind == "result":
            self.outcome = result_from(event.get("result"), self.what)
        elif kind == "error":
            raise container_error(event.get("error"), self.what)
        return 0

    def result(self) -> InferenceResult:
        for line in self.lines.rest():
            self._line(line, RunContext(job_id="", seed=0))
        if self.outcome is None:
            raise TransientInferenceError(f"{self.what}: the stream ended before the result")
        return self.outcome


class AptmagicAdapter:
    tasks = ALL_TASKS
    streams = True
    accept = "application/json"

    def request(self, params: TaskParams, ctx: RunContext) -> dict[str, Any]:
        body: dict[str, Any] = {
            "task": params.task_name,
            "params": {**params.model_dump(mode="json", exclude_none=True), "seed": ctx.seed},
        }
        if isinstance(params, SourceParams):
            body["inputs"] = {}
            for asset_id in params.input_asset_ids():
                source = ctx.load_input(asset_id)
                body["inputs"][asset_id] = {
                    "data": base64.b64encode(source.data).decode(),
                    "content_type": source.content_type,
                    "media_kind": source.media_kind,
                }
        return body

    def answer(self, body: bytes, what: str) -> InferenceResult:
        return result_from(parse_json(body, what), what)

    def reader(self, what: str) -> StreamReader:
        return AptmagicReader(what)


# Hugging Face TGI / LMI


def render_chat(messages: list[dict[str, str]]) -> str:
    """A plain ``System:/User:/Assistant:`` transcript ending with the assistant's turn."""
    names = {"system": "System", "user": "User", "assistant": "Assistant"}
    lines = [f"{names[m['role']]}: {m['content']}" for m in messages]
    return "\n".join([*lines, "Assistant:"])


@dataclass
class TGIReader:
    what: str
    lines: Lines = field(default_factory=Lines)
    pieces: list[str] = field(default_factory=list)
    finish: str | None = None
    usage: dict[str, int] | None = None

    def feed(self, data: bytes, ctx: RunContext) -> int:
        tokens = 0
        for line in self.lines.feed(data):
            tokens += self._line(line, ctx)
        return tokens

    def _line(self, line: str, ctx: RunContext) -> int:
        if not line.startswith("data:"):
            return 0
        event = parse_json(line[5:].strip().encode(), self.what)
        if not isinstance(event, dict):
            return 0
        if event.get("error"):
            raise TransientInferenceError(f"{self.what} failed mid-answer: {event['error']}")
        token = event.get("token") or {}
        if token.get("text") and not token.get("special"):
            self.pieces.append(token["text"])
            ctx.emit("token", {"text": token["text"]})
        details = event.get("details") or {}
        if event.get("generated_text") is not None:
            self.finish = str(details.get("finish_reason") or "eos_token")
            if "generated_tokens" in details:
                self.usage = {"completion_tokens": int(details["generated_tokens"])}
        return 1 if token else 0

    def result(self) -> InferenceResult:
        for line in self.lines.rest():
            self._line(line, RunContext(job_id="", seed=0))
        if self.finish is None:
            raise TransientInferenceError(f"{self.what}: the stream ended before the answer was complete")
        return _tgi_result("".join(self.pieces), self.finish, self.usage)


def _tgi_result(text: str, finish: str, usage: dict[str, int] | None) -> InferenceResult:
    data: dict[str, Any] = {"finish_reason": "length" if finish == "length" else "stop"}
    if usage is not None:
        data["usage"] = usage
    return InferenceResult(text=text, data=data)


class TGIAdapter:
    tasks = {"text", "summarize"}
    streams = True
    accept = "application/json"

    def request(self, params: TaskParams, ctx: RunContext) -> dict[str, Any]:
        if isinstance(params, TextParams):
            messages = [m.model_dump() for m in params.messages]
            temperature, top_p, stop, max_tokens = params.temperature, params.top_p, params.stop, params.max_tokens
        elif isinstance(params, SummarizeParams):
            messages = summary_messages(params.text, params.length, params.style)
            temperature, top_p, stop, max_tokens = SUMMARY_TEMPERATURE, SUMMARY_TOP_P, [], params.max_tokens
        else:
            raise InferenceError(f"the tgi adapter runs text and summaries, not {params.task_name}")
        parameters: dict[str, Any] = {"max_new_tokens": max_tokens, "return_full_text": False, "details": True,
                                      "seed": ctx.seed, "do_sample": temperature > 0}  # fmt: skip
        if temperature > 0:
            parameters |= {"temperature": temperature, "top_p": min(top_p, 0.999)}  # TGI wants top_p < 1
        if stop:
            parameters["stop"] = list(stop)
        return {"inputs": render_chat(messages), "parameters": parameters}

    def answer(self, body: bytes, what: str) -> InferenceResult:
        answer = parse_json(body, what)
        first = answer[0] if isinstance(answer, list) and answer else answer
        if not isinstance(first, dict) or "generated_text" not in first:
            raise InferenceError(f"{what} answered no generated_text")
        details = first.get("details") or {}
        usage = {"completion_tokens": int(details["generated_tokens"])} if "generated_tokens" in details else None
        return _tgi_result(str(first["generated_text"]), str(details.get("finish_reason") or "eos_token"), usage)

    def reader(self, what: str) -> StreamReader:
        return TGIReader(what)


# JumpStart Stable Diffusion


class JumpStartSDAdapter:
    tasks = {"text-to-image"}
    streams = False
    accept = "application/json;jpeg"

    def request(self, params: TaskParams, ctx: RunContext) -> dict[str, Any]:
        if not isinstance(params, TextToImageParams):
            raise InferenceError(f"the jumpstart-sd adapter runs text-to-image, not {params.task_name}")
        body: dict[str, Any] = {"prompt": params.prompt, "num_images_per_prompt": params.num_images,
                                "seed": stability_seed(ctx.seed)}  # fmt: skip
        optional = {"width": params.width, "height": params.height, "num_inference_steps": params.steps,
                    "guidance_scale": params.guidance, "negative_prompt": params.negative_prompt or None}  # fmt: skip
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    def answer(self, body: bytes, what: str) -> InferenceResult:
        answer = parse_json(body, what)
        images = answer.get("generated_images") if isinstance(answer, dict) else None
        if not images:
            raise InferenceError(f"{what} answered no generated_images")
        return InferenceResult(images=[decode_b64_image(item, f"an image from {what}") for item in images])

    def reader(self, what: str) -> StreamReader:
        raise InferenceError("the jumpstart-sd adapter does not stream")


ADAPTERS: dict[str, type[AptmagicAdapter] | type[TGIAdapter] | type[JumpStartSDAdapter]] = {
    "aptmagic": AptmagicAdapter,
    "tgi": TGIAdapter,
    "jumpstart-sd": JumpStartSDAdapter,
}

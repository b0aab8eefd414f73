"""Amazon Bedrock as an engine (boto3 ``bedrock-runtime``).

``source`` is the Bedrock model id (or an inference profile id or ARN);
options: ``region``, ``endpoint_url``, ``profile``, ``timeout_seconds``,
``max_in_flight``.

* Images (text-to-image, image-to-image): Stability models (Stable Image
  Core and Ultra, SD3.5 Large) through ``InvokeModel`` with their documented
  body: ``prompt``, ``negative_prompt``, ``seed``, ``aspect_ratio`` (the
  nearest to the asked width and height), ``output_format``; image-to-image
  sends ``mode``, ``image`` (base64) and ``strength``. The answer is
  ``{"images": [base64], "seeds": [...], "finish_reasons": [...]}``; one image
  per call, so several images are several calls with consecutive seeds. A
  ``finish_reasons`` entry other than null (``Filter reason: prompt``...) ends
  the job with ``content_filtered``.
* Text and summaries: ``ConverseStream`` (any Bedrock chat model); each text
  delta is a ``token`` event. Captions: ``Converse`` with the picture as an
  image content block."""

from __future__ import annotations

import base64
import json
import math
from functools import partial
from typing import Any

from pydantic import BaseModel

from aptmagic.inference.base import (
    BackendEnv,
    ContentFiltered,
    InferenceError,
    InferenceResult,
    RunContext,
    TransientInferenceError,
)
from aptmagic.inference.params import CaptionParams, ImageToImageParams, SummarizeParams, TextParams, TextToImageParams
from aptmagic.inference.registry import register_backend
from aptmagic.inference.remote import (
    CAPTION_ASK,
    Engine,
    Redactor,
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
    source_image,
    stability_seed,
    unsupported,
    vision_image,
)
from aptmagic.inference.remote_aws import AWSOptions, aws_client, aws_errors
from aptmagic.inference.spec import ModelSpec
from aptmagic.inference.transformers_llm import SUMMARY_TEMPERATURE, SUMMARY_TOP_P, summary_messages

TASKS = {"text", "summarize", "text-to-image", "image-to-image", "caption"}
ASPECT_RATIOS = ("21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21")
FILTERED_STOPS = {"content_filtered", "guardrail_intervened"}


def aspect_ratio(width: int | None, height: int | None) -> str:
    """The Stability aspect ratio nearest to width:height (1:1 when either is unknown)."""
    if not width or not height:
        return "1:1"

    def distance(ratio: str) -> float:
        w, h = ratio.split(":")
        return abs(math.log(width / height) - math.log(int(w) / int(h)))

    return min(ASPECT_RATIOS, key=distance)


def converse_messages(messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """aptmagic's chat as Converse's ``system`` blocks and ``messages``; consecutive
    turns of one role are joined, since Converse wants the roles to alternate."""
    system = [{"text": m["content"]} for m in messages if m["role"] == "system" and m["content"]]
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message["role"] == "system":
            continue
        if turns and turns[-1]["role"] == message["role"]:
            turns[-1]["content"].append({"text": message["content"]})
        else:
            turns.append({"role": message["role"], "content": [{"text": message["content"]}]})
    return system, turns


class BedrockEngine:
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        check_tasks(spec, TASKS)
        self.spec = spec
        self.options = parse_options(spec, AWSOptions)
        region = self.options.region or "default-region"
        self.engine: Engine = engine_for(f"bedrock:{region}:{spec.source}", self.options.max_in_flight)
        self.wait_seconds = self.options.queue_seconds
        self.name = f"Bedrock model {spec.source}"
        self.redact = Redactor()
        self.client: Any = None

    def setup(self) -> None:
        self.client = aws_client("bedrock-runtime", self.options, self.spec.id)

    def unload(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def memory_bytes(self) -> int:
        return 0

    def run(self, params: BaseModel, ctx: RunContext) -> InferenceResult:
        if self.client is None:
            raise InferenceError(f"model {self.spec.id!r} is not loaded")
        with aws_errors(self.name, self.options.timeout_seconds, self.redact):
            if isinstance(params, TextParams):
                messages = [m.model_dump() for m in params.messages]
                config: dict[str, Any] = {
                    "maxTokens": params.max_tokens,
                    "temperature": params.temperature,
                    "topP": params.top_p,
                }
                if params.stop:
                    config["stopSequences"] = list(params.stop)
                return self._stream(messages, config, Watch(ctx, params.max_tokens))
            if isinstance(params, SummarizeParams):
                messages = summary_messages(params.text, params.length, params.style)
                config = {"maxTokens": params.max_tokens, "temperature": SUMMARY_TEMPERATURE, "topP": SUMMARY_TOP_P}
                return self._stream(messages, config, Watch(ctx, params.max_tokens))
            if isinstance(params, TextToImageParams):
                return self._images(self._text_body(params), params.num_images, ctx)
            if isinstance(params, ImageToImageParams):
                body, size = self._image_body(params, ctx)
                result = self._images(body, params.num_variations, ctx)
                result.data["source_size"] = list(size)
                return result
            if isinstance(params, CaptionParams):
                return self._caption(params, ctx)
            raise unsupported(self.spec, params)

    # images
    def _text_body(self, p: TextToImageParams) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": p.prompt, "aspect_ratio": aspect_ratio(p.width, p.height)}
        if p.negative_prompt:
            body["negative_prompt"] = p.negative_prompt
        return body

    def _image_body(self, p: ImageToImageParams, ctx: RunContext) -> tuple[dict[str, Any], tuple[int, int]]:
        source = source_image(ctx.load_input(p.source))
        body: dict[str, Any] = {
            "prompt": p.prompt,
            "mode": "image-to-image",
            "image": base64.b64encode(encode_image(source)).decode(),
            "strength": p.strength,
        }
        if p.negative_prompt:
            body["negative_prompt"] = p.negative_prompt
        return body, source.size

    def _images(self, body: dict[str, Any], count: int, ctx: RunContext) -> InferenceResult:
        """One InvokeModel per image, with consecutive seeds; cancel is seen between them."""
        watch = Watch(ctx, count)
        watch.step(0)
        images, seeds = [], []
        for index in range(count):
            request = {**body, "seed": stability_seed(ctx.seed + index), "output_format": "png"}
            answer = call_watched(self.engine, watch, self.wait_seconds, partial(self._invoke, request))
            image, seed = self._stability_answer(answer)
            images.append(image)
            seeds.append(seed)
            watch.step(index + 1)
        return InferenceResult(images=images, data={"seeds": seeds})

    def _invoke(self, body: dict[str, Any]) -> Any:
        response = self.client.invoke_model(
            modelId=self.spec.source, body=json.dumps(body), contentType="application/json", accept="application/json"
        )
        raw = response["body"].read()
        try:
            return json.loads(raw)
        except ValueError:
            raise InferenceError(f"{self.name} answered a body that is not JSON") from None

    def _stability_answer(self, answer: Any) -> tuple[Any, int | None]:
        if not isinstance(answer, dict):
            raise InferenceError(f"{self.name} answered {type(answer).__name__}, not a Stability response object")
        reasons = [r for r in answer.get("finish_reasons") or [] if r is not None]
        if reasons:
            reason = str(reasons[0])
            if reason.lower().startswith("filter"):
                raise ContentFiltered(f"{self.name} filtered the request: {reason}")
            raise TransientInferenceError(f"{self.name} did not finish the image: {reason}")
        images = answer.get("images") or []
        if not images:
            raise InferenceError(f"{self.name} answered no images (is it a Stability image model?)")
        seeds = answer.get("seeds") or [None]
        seed = seeds[0]
        return decode_b64_image(images[0], f"the image from {self.name}"), int(seed) if seed is not None else None

    # text
    def _stream(self, messages: list[dict[str, str]], config: dict[str, Any], watch: Watch) -> InferenceResult:
        system, turns = converse_messages(messages)
        request: dict[str, Any] = {"modelId": self.spec.source, "messages": turns, "inferenceConfig": config}
        if system:
            request["system"] = system
        watch.step(0)
        with self.engine.slot(watch, self.wait_seconds):
            stream = self.client.converse_stream(**request)["stream"]
            try:
                return self._read_stream(stream, watch)
            finally:
                stream.close()

    def _read_stream(self, stream: Any, watch: Watch) -> InferenceResult:
        pieces: list[str] = []
        stop: str | None = None
        usage: dict[str, int] | None = None
        for event in stream:
            text = event.get("contentBlockDelta", {}).get("delta", {}).get("text")
            if text:
                pieces.append(text)
                watch.ctx.emit("token", {"text": text})
            if "messageStop" in event:
                stop = str(event["messageStop"].get("stopReason") or "end_turn")
            if "metadata" in event and "usage" in event["metadata"]:
                counts = event["metadata"]["usage"]
                usage = {
                    "prompt_tokens": counts.get("inputTokens", 0),
                    "completion_tokens": counts.get("outputTokens", 0),
                }
            watch.step(len(pieces))
        if stop is None:
            raise TransientInferenceError(f"{self.name}: the stream ended before the answer was complete")
        return self._text_result("".join(pieces), stop, usage, watch)

    def _text_result(self, text: str, stop: str, usage: dict[str, int] | None, watch: Watch) -> InferenceResult:
        if stop in FILTERED_STOPS:
            raise ContentFiltered(f"{self.name} stopped the answer: {stop}")
        data: dict[str, Any] = {"finish_reason": "length" if stop == "max_tokens" else "stop"}
        if usage is not None:
            data["usage"] = usage
        watch.finish()
        return InferenceResult(text=text, data=data)

    # captions
    def _caption(self, p: CaptionParams, ctx: RunContext) -> InferenceResult:
        source = ctx.load_input(p.source)
        watch = Watch(ctx, 2)
        watch.step(0)
        picture = vision_image(source)
        watch.step(1)
        max_tokens, temperature, top_p = caption_settings(p.tone, p.length)
        request = {
            "modelId": self.spec.source,
            "system": [{"text": caption_instruction(p.tone, p.length, source.media_kind == "video")}],
            "messages": [
                {
                    "role": "user",
                    "content": [{"image": {"format": "jpeg", "source": {"bytes": picture}}}, {"text": CAPTION_ASK}],
                }
            ],
            "inferenceConfig": {"maxTokens": max_tokens, "temperature": temperature, "topP": top_p},
        }
        answer = call_watched(self.engine, watch, self.wait_seconds, lambda: self.client.converse(**request))
        stop = str(answer.get("stopReason") or "end_turn")
        if stop in FILTERED_STOPS:
            raise ContentFiltered(f"{self.name} stopped the caption: {stop}")
        blocks = answer.get("output", {}).get("message", {}).get("content", [])
        text = "".join(block.get("text", "") for block in blocks)
        caption = finish_caption(text, stop == "max_tokens", p.length)
        watch.finish()
        data: dict[str, Any] = {"tone": p.tone, "length": p.length, "finish_reason": stop}
        if source.media_kind == "video":
            data["note"] = "the caption describes the video's keyframe"
        return InferenceResult(text=caption, data=data)


register_backend("bedrock")(BedrockEngine)

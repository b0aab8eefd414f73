"""Captions in a chosen tone and length: BLIP describes, an instruct LLM rewrites.

BLIP (``BlipForConditionalGeneration``) writes a plain description of the
image, or of a keyframe for a video, whose speech the registry's transcriber
model turns into text. The rewriter LLM, borrowed from the warm-model cache,
then writes the caption with a style guide per tone and a length rule; its
token budget follows the length too, and the result is trimmed to the word
limit. Without a rewriter the plain description is the caption."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from PIL import Image, ImageOps
from pydantic import BaseModel

from aptmagic.inference import tiny_caption  # noqa: F401  (registers the tiny-caption builder)
from aptmagic.inference.base import BackendEnv, InferenceError, InferenceResult, InputFile, RunContext
from aptmagic.inference.params import ChatMessage, TextParams, TranscribeParams
from aptmagic.inference.registry import register_backend
from aptmagic.inference.spec import ModelSpec
from aptmagic.inference.torch_base import TorchBackend

log = logging.getLogger(__name__)

TONE_GUIDES: dict[str, str] = {
    "neutral": (
        "Neutral: plain, factual and objective. Say what is there in clear everyday words, "
        "with no opinions, jokes, exclamation marks or emoji."
    ),
    "playful": (
        "Playful: light-hearted, warm and witty, a little cheeky. A pun or a wink is welcome, and at most one emoji."
    ),
    "formal": (
        "Formal: polished and precise, like a museum label or a press-agency caption. "
        "Complete sentences, no contractions, no slang, no emoji."
    ),
    "poetic": (
        "Poetic: lyrical and evocative, like a line of free verse. Use vivid imagery, rhythm "
        "and a metaphor, but stay true to the scene."
    ),
    "marketing": (
        "Marketing: upbeat, persuasive copy that makes the scene appealing and ends with a short "
        "call to action. No prices, brands or claims that the description does not support."
    ),
}
TONE_TEMPERATURES: dict[str, float] = {
    "neutral": 0.3,
    "formal": 0.3,
    "playful": 0.9,
    "poetic": 1.0,
    "marketing": 0.8,
}
NAMED_LENGTHS: dict[str, tuple[int, int, str]] = {
    # name: (word limit, max new tokens, rule for the prompt)
    "short": (15, 48, "one sentence of at most 15 words."),
    "medium": (60, 128, "two or three sentences, at most 60 words in all."),
    "long": (150, 320, "one paragraph of four to six sentences, at most 150 words in all."),
}
TOP_P = 0.9
MAX_TRANSCRIPT_CHARS = 4000
DEFAULT_CAPTION_TOKENS = 30
SENTENCE_END = re.compile(r"[.!?…][\"'”’)]*$")
_BLIP_ARTIFACTS = re.compile(r"\b(?:ara+f+\w*|arafed)\b\s*", re.IGNORECASE)
_LEADING_LABEL = re.compile(r"^(?:(?:here(?:'s| is)|sure)[^:\n]{0,60}:|caption\s*:)\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’"


def word_limit(length: str | int) -> int:
    return length if isinstance(length, int) else NAMED_LENGTHS[length][0]


def token_budget(length: str | int) -> int:
    """New tokens for the rewrite: about 1.3 tokens a word in English, with room to finish."""
    return 2 * length + 16 if isinstance(length, int) else NAMED_LENGTHS[length][1]


def length_rule(length: str | int) -> str:
    if isinstance(length, str):
        return NAMED_LENGTHS[length][2]
    if length <= 15:
        return f"one sentence of at most {length} words."
    return f"at most {length} words in all."


def system_prompt(tone: str, length: str | int, video: bool = False) -> str:
    source = (
        "a description of a keyframe from a video, made by an image captioning model, and a transcript of its audio"
        if video
        else "a plain description of an image, made by an image captioning model"
    )
    return (
        f"You write captions for social media posts. You are given {source}. "
        "Rewrite it as one caption in the tone and length below. Keep to what you are given: "
        "do not invent people, names, places, brands or events. "
        "Reply with the caption only: no preface, no quotes, no hashtags, no notes.\n"
        f"Tone: {TONE_GUIDES[tone]}\n"
        f"Length: {length_rule(length)}"
    )


def user_prompt(base_caption: str, video: bool = False, transcript: str | None = None) -> str:
    if not video:
        return f"Image description: {base_caption}"
    lines = [f"Keyframe description: {base_caption}"]
    if transcript is None:
        lines.append("Audio: the video has no audio track.")
    elif transcript:
        clipped = transcript if len(transcript) <= MAX_TRANSCRIPT_CHARS else transcript[:MAX_TRANSCRIPT_CHARS] + " …"
        lines.append(f"Audio transcript: {clipped}")
    else:
        lines.append("Audio: no speech was recognised.")
    return "\n".join(lines)


def rewrite_messages(
    base_caption: str, tone: str, length: str | int, video: bool = False, transcript: str | None = None
) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content=system_prompt(tone, length, video)),
        ChatMessage(
            role="user", content=f"{user_prompt(base_caption, video, transcript)}\n\n{caption_request(tone, video)}"
        ),
    ]


def caption_request(tone: str, video: bool = False) -> str:
    """The closing request of the user turn: small chat models drift from the description
    into a story of their own unless the turn itself asks for the caption."""
    return f"Write the {tone} caption for this {'video' if video else 'image'}."


def trim_words(text: str, limit: int) -> str:
    """At most ``limit`` words; ends at the last full sentence when that keeps half of them."""
    words = text.split()
    if len(words) <= limit:
        return " ".join(words)
    kept = words[:limit]
    for end in range(len(kept), 0, -1):
        if SENTENCE_END.search(kept[end - 1]):
            if end * 2 >= limit:
                return " ".join(kept[:end])
            break
    last = kept[-1].rstrip(",;:-–—")
    return " ".join([*kept[:-1], last] if last else kept[:-1]) + "…"


def end_at_sentence(text: str) -> str:
    """A text cut off by the token budget: back to its last full sentence when that keeps half of it."""
    words = text.split()
    for end in range(len(words), 0, -1):
        if SENTENCE_END.search(words[end - 1]):
            if end == len(words) or end * 2 >= len(words):
                return " ".join(words[:end])
            break
    text = " ".join(words).rstrip(",;:-–— ")
    return text + "…" if text else ""


def clean_base_caption(text: str) -> str:
    """BLIP output without its known filler words (``arafed``) or stray word pieces."""
    words = _BLIP_ARTIFACTS.sub("", text).split()
    return " ".join(word.removeprefix("##") for word in words if word.removeprefix("##"))


def clean_rewrite(text: str) -> str:
    """Drop a preface such as ``Here is a caption:`` and quotes around the whole caption."""
    text = _LEADING_LABEL.sub("", text.strip()).strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return " ".join(text.split())


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _stage_ctx(ctx: RunContext, step: int, total: int) -> RunContext:
    """A context for a borrowed model: its steps report this stage and keep cancel working."""
    return RunContext(
        job_id=ctx.job_id,
        seed=ctx.seed,
        on_step=lambda _step, _total: ctx.step(step, total),
        load_input=ctx.load_input,
    )


def has_audio_track(data: bytes) -> bool:
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            return len(container.streams.audio) > 0
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InferenceError(f"the source video could not be read: {exc}") from exc


class TransformersCaption(TorchBackend):
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        super().__init__(spec, env)
        self.model: Any = None
        self.processor: Any = None

    def setup(self) -> None:
        from transformers import BlipForConditionalGeneration, BlipProcessor

        source = self.prepare()
        self.processor = self.pretrained(BlipProcessor.from_pretrained, source)
        model = self.weights(BlipForConditionalGeneration.from_pretrained, source)
        self.model = self.place(model).eval()

    def run(self, params: BaseModel, ctx: RunContext) -> InferenceResult:
        p: Any = params
        source = ctx.load_input(p.source)
        if source.media_kind not in ("image", "video"):
            raise InferenceError(f"cannot caption a {source.media_kind or 'unknown'} asset; expected image or video")
        video = source.media_kind == "video"
        total = 4 if video else 3
        ctx.step(0, total)
        image = self._keyframe(source.data) if video else self._decode(source.data)
        ctx.step(1, total)
        with self.oom_is_transient():
            base = self._describe(image)
        ctx.step(2, total)
        data: dict[str, Any] = {"base_caption": base, "tone": p.tone, "length": p.length}
        transcript = None
        if video:
            transcript, video_data = self._transcribe(source, ctx, 3, total)
            data.update(video_data)
            ctx.step(3, total)
        text, rewriter = self._rewrite(base, p.tone, p.length, video, transcript, ctx, total)
        data["rewriter"] = rewriter
        ctx.step(total, total)
        return InferenceResult(text=text, data=data)

    # stage 1: the picture
    def _decode(self, data: bytes) -> Image.Image:
        try:
            return ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise InferenceError(f"the source image could not be decoded: {exc}") from exc

    def _keyframe(self, data: bytes) -> Image.Image:
        from aptmagic.inference.media_audio import extract_keyframe

        try:
            frame = extract_keyframe(data)
        except InferenceError:
            raise
        except (OSError, ValueError, RuntimeError, IndexError, StopIteration) as exc:
            raise InferenceError(f"no frame could be read from the source video: {exc}") from exc
        return frame.convert("RGB")

    # stage 2: BLIP's plain description
    def _describe(self, image: Image.Image) -> str:
        """Greedy (or beam search with the ``num_beams`` option): the same picture always gets the
        same description, and the seed steers the rewrite."""
        import torch

        options = self.spec.options
        generation = self.model.generation_config
        kwargs: dict[str, Any] = {
            "max_new_tokens": int(
                options.get("max_caption_tokens") or generation.max_new_tokens or DEFAULT_CAPTION_TOKENS
            ),
        }
        if options.get("num_beams"):
            kwargs["num_beams"] = int(options["num_beams"])
        if generation.min_new_tokens:
            kwargs["min_new_tokens"] = generation.min_new_tokens
        inputs = self.processor(images=image, return_tensors="pt").to(self.device, self.dtype)
        with torch.inference_mode():
            out = self.model.generate(pixel_values=inputs["pixel_values"], **kwargs)
        base = clean_base_caption(self.processor.decode(out[0], skip_special_tokens=True))
        if not base:
            raise InferenceError("the captioner saw nothing it could describe in this picture")
        return base

    # stage 3 (videos): what is said
    def _transcribe(
        self, source: InputFile, ctx: RunContext, step: int, total: int
    ) -> tuple[str | None, dict[str, Any]]:
        transcriber = self.spec.options.get("transcriber")
        if not has_audio_track(source.data):
            return None, {
                "transcript": None,
                "has_audio": False,
                "note": "the video has no audio track; the caption describes its keyframe alone",
            }
        if not transcriber:
            return None, {
                "transcript": None,
                "has_audio": True,
                "note": "this model has no transcriber; the caption describes the keyframe alone",
            }
        params = TranscribeParams(source=source.asset_id, timestamps=False, seed=ctx.seed)
        with self._borrow(transcriber, "transcriber") as asr:
            result = asr.run(params, _stage_ctx(ctx, step, total))
        transcript = " ".join((result.text or "").split())
        return transcript, {"transcript": transcript, "has_audio": True}

    # stage 4: the caption in the tone and length asked
    def _rewrite(
        self,
        base: str,
        tone: str,
        length: str | int,
        video: bool,
        transcript: str | None,
        ctx: RunContext,
        total: int,
    ) -> tuple[str, str | None]:
        limit = word_limit(length)
        rewriter = self.spec.options.get("rewriter")
        if not rewriter:
            return trim_words(sentence_case(base), limit), None
        with self._borrow(rewriter, "rewriter") as llm:
            max_tokens = token_budget(length)
            cap = llm.spec.limits.get("max_max_tokens")
            params = TextParams(
                messages=rewrite_messages(base, tone, length, video, transcript),
                max_tokens=min(max_tokens, cap) if cap else max_tokens,
                temperature=TONE_TEMPERATURES[tone],
                top_p=TOP_P,
                seed=ctx.seed,
            )
            result = llm.run(params, _stage_ctx(ctx, total - 1, total))
        text = clean_rewrite(result.text or "")
        if text and result.data.get("finish_reason") == "length":
            text = end_at_sentence(text)
        if not text:
            log.warning("the rewriter wrote nothing; using the plain description", extra={"job_id": ctx.job_id})
            return trim_words(sentence_case(base), limit), None
        return trim_words(text, limit), rewriter

    def _borrow(self, model_id: str, role: str) -> Any:
        try:
            return self.env.use_model(model_id)
        except LookupError as exc:
            raise InferenceError(f"the {role} model {model_id!r} of {self.spec.id!r} is not available: {exc}") from exc

    def release(self) -> None:
        self.model = self.processor = None

    def modules(self) -> tuple[Any, ...]:
        return (self.model,)


register_backend("transformers-caption")(TransformersCaption)

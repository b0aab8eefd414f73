"""Typed params of each task, as the backends accept them, and the task registry.

A task's params model validates the request, fills the model's defaults and checks the
model's limits. Tasks register themselves with ``register_task``; the job request body
is a union keyed on the task name (built in ``aptmagic.jobs.tasks``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from aptmagic.inference.spec import ModelSpec


class LimitViolation(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_name: ClassVar[str]
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Random seed; one is chosen when omitted.")

    def resolve(self, spec: ModelSpec) -> TaskParams:
        """Fill unset fields from the model's defaults, then check the model's limits."""
        merged = {**spec.default_params, **self.model_dump(exclude_none=True)}
        resolved = type(self).model_validate({k: v for k, v in merged.items() if k in type(self).model_fields})
        resolved.check_limits(spec)
        return resolved

    def check_limits(self, spec: ModelSpec) -> None:
        for name, value in self.model_dump().items():
            limit = spec.limits.get(f"max_{name}")
            if limit is not None and isinstance(value, (int, float)) and value > limit:
                raise LimitViolation(name, f"{name} is at most {limit} for model {spec.id!r}")

    def progress_total(self) -> int:
        return 1


ParamsT = TypeVar("ParamsT", bound=type[TaskParams])
_TASKS: dict[str, type[TaskParams]] = {}


def register_task(name: str) -> Callable[[ParamsT], ParamsT]:
    def decorator(cls: ParamsT) -> ParamsT:
        cls.task_name = name
        _TASKS[name] = cls
        return cls

    return decorator


def task_names() -> list[str]:
    return sorted(_TASKS)


def params_model(task: str) -> type[TaskParams]:
    return _TASKS[task]


MAX_PROMPT_CHARS = 1000

Prompt = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PROMPT_CHARS)]
NegativePrompt = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_PROMPT_CHARS)]
Side = Annotated[int, Field(ge=64, le=2048, multiple_of=8)]


@register_task("text-to-image")
class TextToImageParams(TaskParams):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"prompt": "a lighthouse at dawn, oil painting", "width": 512, "height": 512, "steps": 2, "seed": 42}
            ]
        },
    )

    prompt: Prompt = Field(description="What to draw.")
    negative_prompt: NegativePrompt = Field("", description="What to avoid.")
    width: Side | None = Field(None, description="Pixels, a multiple of 8; the model's default when omitted.")
    height: Side | None = Field(None, description="Pixels, a multiple of 8; the model's default when omitted.")
    steps: int | None = Field(None, ge=1, le=150, description="Denoising steps.")
    guidance: float | None = Field(None, ge=0.0, le=30.0, description="Classifier-free guidance scale.")
    num_images: int = Field(1, ge=1, le=8, description="Images to make from the one prompt.")

    def progress_total(self) -> int:
        return self.steps or 1


AssetId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_PROMPT_CHARS)]
Tone = Literal["neutral", "playful", "formal", "poetic", "marketing"]
LengthName = Literal["short", "medium", "long"]
MAX_TEXT_CHARS = 100_000


class SourceParams(TaskParams):
    """A task that reads an uploaded asset; ``source_kinds`` lists what it accepts."""

    source_kinds: ClassVar[tuple[str, ...]] = ()
    source: AssetId = Field(description="Asset id of an upload (POST /api/v1/uploads).")

    def input_asset_ids(self) -> list[str]:
        return [self.source]


@register_task("image-to-image")
class ImageToImageParams(SourceParams):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"source": "0" * 32, "prompt": "as a watercolour", "strength": 0.6, "num_variations": 4}]
        },
    )
    source_kinds: ClassVar[tuple[str, ...]] = ("image",)

    prompt: NegativePrompt = Field("", description="Optional direction for the variations.")
    negative_prompt: NegativePrompt = Field("", description="What to avoid.")
    strength: float = Field(0.6, gt=0.0, le=1.0, description="How far from the source: near 0 keeps it, 1 ignores it.")
    num_variations: int = Field(4, ge=1, le=8, description="Variations to make.")
    steps: int | None = Field(None, ge=1, le=150, description="Denoising steps before strength is applied.")
    guidance: float | None = Field(None, ge=0.0, le=30.0, description="Classifier-free guidance scale.")

    def progress_total(self) -> int:
        return max(1, int((self.steps or 1) * self.strength))

    def check_limits(self, spec: ModelSpec) -> None:
        super().check_limits(spec)
        if self.steps is not None and int(self.steps * self.strength) < 1:
            raise LimitViolation(
                "strength", f"steps x strength must be at least 1 (got {self.steps} x {self.strength})"
            )


@register_task("caption")
class CaptionParams(SourceParams):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"source": "0" * 32, "tone": "playful", "length": "short"}]},
    )
    source_kinds: ClassVar[tuple[str, ...]] = ("image", "video")

    tone: Tone = Field("neutral", description="Voice of the caption.")
    length: LengthName | Annotated[int, Field(ge=3, le=300)] = Field(
        "short", description="short, medium, long, or a maximum number of words."
    )


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]


@register_task("text")
class TextParams(TaskParams):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"messages": [{"role": "user", "content": "Write a haiku about rain."}], "max_tokens": 64}]
        },
    )

    messages: list[ChatMessage] = Field(min_length=1, max_length=200, description="The conversation so far.")
    max_tokens: int = Field(256, ge=1, le=8192, description="Most new tokens to generate.")
    temperature: float = Field(0.7, ge=0.0, le=2.0, description="0 is greedy.")
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    stop: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=4, description="Generation ends before any of these strings."
    )

    def progress_total(self) -> int:
        return self.max_tokens


@register_task("summarize")
class SummarizeParams(TaskParams):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "A long article ...", "length": "short", "style": "bullets"}]},
    )

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS)]
    length: LengthName = Field("short")
    style: Literal["paragraph", "bullets", "tldr"] = Field("paragraph")
    max_tokens: int = Field(512, ge=1, le=8192)

    def progress_total(self) -> int:
        return self.max_tokens


@register_task("transcribe")
class TranscribeParams(SourceParams):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"source": "0" * 32, "language": "en"}]},
    )
    source_kinds: ClassVar[tuple[str, ...]] = ("audio", "video")

    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")] | None = Field(
        None, description="ISO 639 code; detected when omitted."
    )
    timestamps: bool = Field(True, description="Return segments with start and end times.")

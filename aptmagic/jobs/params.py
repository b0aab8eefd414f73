"""Params of each job task."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from aptmagic.jobs.tasks import TaskParams, register_task

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

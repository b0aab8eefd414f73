"""What a plan allows. Plans are named in Settings.plans; ``None`` means unlimited."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

PLAN_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field("", max_length=200, description="Shown to the user with their usage.")
    daily_jobs: int | None = Field(None, ge=0, description="Jobs per UTC day (cache hits included).")
    concurrent_jobs: int | None = Field(None, ge=0, description="Jobs queued or running at once.")
    max_width: int | None = Field(None, ge=1, description="Widest image a job may ask for, in pixels.")
    max_height: int | None = Field(None, ge=1, description="Tallest image a job may ask for, in pixels.")
    max_steps: int | None = Field(None, ge=1, description="Most denoising steps per job.")
    max_outputs: int | None = Field(None, ge=1, description="Most images per job (num_images, num_variations).")
    max_tokens: int | None = Field(None, ge=1, description="Most new tokens per text or summary job.")


# Request param -> the plan field that caps it. The params are checked after the
# model's defaults are filled in, so an omitted value is checked too.
PARAM_CAPS: dict[str, str] = {
    "width": "max_width",
    "height": "max_height",
    "steps": "max_steps",
    "num_images": "max_outputs",
    "num_variations": "max_outputs",
    "max_tokens": "max_tokens",
}


def default_plans() -> dict[str, Plan]:
    return {
        "free": Plan(
            description="Free: a few jobs a day, small images.",
            daily_jobs=50, concurrent_jobs=2, max_width=1024, max_height=1024, max_steps=50, max_outputs=4,
            max_tokens=1024,
        ),
        "pro": Plan(
            description="Pro: many jobs a day, large images.",
            daily_jobs=1000, concurrent_jobs=8, max_width=2048, max_height=2048, max_steps=150, max_outputs=8,
            max_tokens=8192,
        ),
        "unlimited": Plan(description="No limits."),
    }  # fmt: skip

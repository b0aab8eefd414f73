"""AUTOMATIC1111 web UI API bodies, as its clients send and read them.

A1111 clients send many fields aptmagic has no use for (samplers, hires fix,
face restoration, scripts); they are accepted and ignored. Fields aptmagic
uses are type- and range-checked; omitted sizes, steps and CFG scale come from
the model's defaults rather than A1111's (512x512, 50 steps, 7.0)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from aptmagic.inference.params import MAX_PROMPT_CHARS

MAX_BATCH = 8
MAX_BASE64_CHARS = 50 * 1024 * 1024
PromptText = Annotated[str, StringConstraints(max_length=MAX_PROMPT_CHARS)]
Base64Image = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BASE64_CHARS)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", protected_namespaces=())


class GenerationRequest(_Lenient):
    prompt: PromptText = ""
    negative_prompt: PromptText = ""
    seed: int = Field(-1, ge=-1, le=2**32 - 1, description="-1: random.")
    steps: int | None = Field(None, ge=1, le=150)
    cfg_scale: float | None = Field(None, ge=0.0, le=30.0)
    width: int | None = Field(None, ge=64, le=2048, multiple_of=8)
    height: int | None = Field(None, ge=64, le=2048, multiple_of=8)
    batch_size: int = Field(1, ge=1, le=MAX_BATCH)
    n_iter: int = Field(1, ge=1, le=MAX_BATCH)
    sampler_name: str | None = None
    override_settings: dict[str, Any] | None = None
    send_images: bool = True


class Txt2ImgRequest(GenerationRequest):
    pass


class Img2ImgRequest(GenerationRequest):
    init_images: list[Base64Image] = Field(min_length=1, max_length=4, description="Base64 images; the first is used.")
    denoising_strength: float = Field(0.75, gt=0.0, le=1.0)
    mask: str | None = Field(None, description="Inpainting is not supported: a mask is refused.")
    include_init_images: bool = False


class ImageResponse(BaseModel):
    images: list[str]
    parameters: dict[str, Any]
    info: str = Field(description="A JSON string, as A1111 sends it.")


class InterrogateRequest(_Lenient):
    image: Base64Image
    model: Annotated[str, StringConstraints(max_length=64)] = "clip"


class InterrogateResponse(BaseModel):
    caption: str


class ProgressState(BaseModel):
    skipped: bool = False
    interrupted: bool = False
    job: str = ""
    job_count: int = 0
    job_timestamp: str = "0"
    job_no: int = 0
    sampling_step: int = 0
    sampling_steps: int = 0


class ProgressResponse(BaseModel):
    progress: float
    eta_relative: float
    state: ProgressState
    current_image: str | None = None
    textinfo: str | None = None


class SDModel(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    title: str
    model_name: str
    hash: str | None = None
    sha256: str | None = None
    filename: str
    config: str | None = None

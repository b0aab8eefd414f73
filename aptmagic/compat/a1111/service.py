"""A1111 requests as aptmagic jobs, and the jobs' results in A1111's shapes."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from aptmagic.auth.principal import Principal
from aptmagic.compat.a1111.schemas import (
    GenerationRequest,
    ImageResponse,
    Img2ImgRequest,
    InterrogateRequest,
    InterrogateResponse,
    ProgressResponse,
    ProgressState,
    SDModel,
    Txt2ImgRequest,
)
from aptmagic.compat.errors import Unprocessable
from aptmagic.compat.jobs import CompatJobs
from aptmagic.inference.registry import ModelRegistry
from aptmagic.jobs.repository import JobFilters
from aptmagic.jobs.schemas import JobRead
from aptmagic.jobs.service import JobService
from aptmagic.kit.errors import InvalidRequest

NAMES = {
    "num_images": "batch_size",
    "num_variations": "batch_size",
    "guidance": "cfg_scale",
    "source": "init_images",
    "strength": "denoising_strength",
}
INTERROGATORS = frozenset({"clip", "deepdanbooru"})  # A1111's names, answered by the default captioner
DATA_URL = re.compile(r"^data:[\w/+.-]+;base64,", re.IGNORECASE)


class A1111Service:
    def __init__(self, jobs: CompatJobs, registry: ModelRegistry, job_service: JobService) -> None:
        self.jobs = jobs
        self.registry = registry
        self.job_service = job_service

    # generation

    async def txt2img(self, principal: Principal, body: Txt2ImgRequest, request: Request) -> ImageResponse:
        model = self._checkpoint(body, "text-to-image")
        params = {"prompt": body.prompt, **self._common(body), "num_images": _count(body)}
        params.update({k: v for k, v in (("width", body.width), ("height", body.height)) if v is not None})
        job = await self.jobs.run(principal, "text-to-image", model, params, request, NAMES)
        return await self._answer(job, principal, body, [])

    async def img2img(self, principal: Principal, body: Img2ImgRequest, request: Request) -> ImageResponse:
        if body.mask:
            raise InvalidRequest.field(["body", "mask"], "inpainting is not supported; send no mask")
        model = self._checkpoint(body, "image-to-image")
        data = decode_image(body.init_images[0], ["body", "init_images", 0])
        source = await self.jobs.upload(principal, data, None, "init_image")
        params = {"source": source, "prompt": body.prompt, **self._common(body), "num_variations": _count(body),
                  "strength": body.denoising_strength}  # fmt: skip
        job = await self.jobs.run(principal, "image-to-image", model, params, request, NAMES)
        extra = body.init_images[:1] if body.include_init_images else []
        return await self._answer(job, principal, body, extra)

    def _checkpoint(self, body: GenerationRequest, task: str) -> str | None:
        wanted = (body.override_settings or {}).get("sd_model_checkpoint")
        if wanted is not None and not isinstance(wanted, str):
            raise InvalidRequest.field(["body", "override_settings", "sd_model_checkpoint"], "must be a model title")
        return self.jobs.model_for(task, checkpoint_id(wanted) if wanted else None)

    @staticmethod
    def _common(body: GenerationRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"negative_prompt": body.negative_prompt}
        if body.seed >= 0:
            params["seed"] = body.seed
        params.update({k: v for k, v in (("steps", body.steps), ("guidance", body.cfg_scale)) if v is not None})
        return params

    async def _answer(
        self, job: JobRead, principal: Principal, body: GenerationRequest, extra: list[str]
    ) -> ImageResponse:
        images: list[str] = []
        if body.send_images:
            for output in job.outputs:
                raw, _ = await run_in_threadpool(self.jobs.read_asset, output.asset_id, principal)
                images.append(base64.b64encode(raw).decode())
        parameters = body.model_dump(exclude={"init_images", "mask"})
        return ImageResponse(images=images + extra, parameters=parameters, info=json.dumps(_info(job, body)))

    # captions

    async def interrogate(
        self, principal: Principal, body: InterrogateRequest, request: Request
    ) -> InterrogateResponse:
        model = None if body.model in INTERROGATORS else self.jobs.model_for("caption", body.model)
        data = decode_image(body.image, ["body", "image"])
        source = await self.jobs.upload(principal, data, None, "interrogate")
        job = await self.jobs.run(principal, "caption", model, {"source": source}, request, {"source": "image"})
        return InterrogateResponse(caption=(job.result or {}).get("text", ""))

    # state

    def progress(self, session: Session, principal: Principal) -> ProgressResponse:
        running, _ = self.job_service.page(session, JobFilters(status="running", owner_id=principal.user_id), None, 1)
        queued, _ = self.job_service.page(session, JobFilters(status="queued", owner_id=principal.user_id), None, 100)
        current = JobRead.of(running[0]) if running else None
        if current is None:
            return ProgressResponse(progress=0.0, eta_relative=0.0, state=ProgressState(job_count=len(queued)))
        step, total = current.progress.step, current.progress.total
        started = current.timings.started_at or current.timings.created_at
        elapsed = (datetime.now(UTC) - started).total_seconds()
        fraction = current.progress.fraction
        eta = max(0.0, elapsed / fraction - elapsed) if fraction > 0 else 0.0
        state = ProgressState(job=current.id, job_count=1 + len(queued), job_timestamp=_stamp(current),
                              sampling_step=step, sampling_steps=total)  # fmt: skip
        return ProgressResponse(progress=round(fraction, 4), eta_relative=round(eta, 3), state=state)

    def sd_models(self) -> list[SDModel]:
        specs = [spec for spec in self.registry.all() if spec.serves("text-to-image")]
        return [SDModel(title=f"{s.id} [{s.version}]", model_name=s.id, filename=s.source) for s in specs]

    def options(self) -> dict[str, Any]:
        spec = self.registry.default_for("text-to-image")
        return {
            "sd_model_checkpoint": f"{spec.id} [{spec.version}]",
            "sd_checkpoint_hash": None,
            "samples_format": "png",
            "CLIP_stop_at_last_layers": 1,
            "eta_noise_seed_delta": 0,
        }


def checkpoint_id(title: str) -> str:
    """``"tiny-sd [tiny-1]"`` (a title from /sd-models) or ``"tiny-sd.safetensors"`` -> ``"tiny-sd"``."""
    name = re.sub(r"\s*\[[^\]]*\]\s*$", "", title.strip())
    return re.sub(r"\.(safetensors|ckpt)$", "", name)


def decode_image(value: str, loc: list[str | int]) -> bytes:
    try:
        data = base64.b64decode(DATA_URL.sub("", value.strip(), count=1), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest.field(loc, "not valid base64 (send the image file's bytes as base64)") from None
    if not data:
        raise Unprocessable("the image is empty")
    return data


def _count(body: GenerationRequest) -> int:
    total = body.batch_size * body.n_iter
    if total > 8:
        raise InvalidRequest.field(["body", "batch_size"], f"batch_size x n_iter is at most 8 (got {total})")
    return total


def _stamp(job: JobRead) -> str:
    return job.timings.created_at.strftime("%Y%m%d%H%M%S")


def _info(job: JobRead, body: GenerationRequest) -> dict[str, Any]:
    params = job.params
    count = len(job.outputs)
    width = job.outputs[0].width if job.outputs else params.get("width")
    height = job.outputs[0].height if job.outputs else params.get("height")
    infotext = (
        f"{body.prompt}\nNegative prompt: {body.negative_prompt}\nSteps: {params.get('steps')}, "
        f"CFG scale: {params.get('guidance')}, Seed: {job.seed}, Size: {width}x{height}, Model: {job.model}"
    )
    return {
        "prompt": body.prompt,
        "all_prompts": [body.prompt] * count,
        "negative_prompt": body.negative_prompt,
        "all_negative_prompts": [body.negative_prompt] * count,
        "seed": job.seed,
        "all_seeds": [job.seed] * count,  # one seed makes the whole batch
        "subseed": -1,
        "all_subseeds": [-1] * count,
        "subseed_strength": 0,
        "width": width,
        "height": height,
        "sampler_name": body.sampler_name or "default",
        "cfg_scale": params.get("guidance"),
        "steps": params.get("steps"),
        "batch_size": body.batch_size,
        "denoising_strength": params.get("strength"),
        "sd_model_name": job.model,
        "sd_model_hash": None,
        "job_timestamp": _stamp(job),
        "styles": [],
        "infotexts": [infotext] * count,
        "job_id": job.id,
        "version": "aptmagic",
    }

"""Text-to-image with a diffusers pipeline loaded by ``from_pretrained``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aptmagic.inference.base import (
    BackendEnv,
    InferenceResult,
    ModelLoadError,
    RunContext,
    TransientInferenceError,
)
from aptmagic.inference.device import module_bytes, resolve_device, resolve_dtype
from aptmagic.inference.registry import register_backend
from aptmagic.inference.spec import ModelSpec
from aptmagic.inference.tiny import ensure_builtin

log = logging.getLogger(__name__)


def resolve_source(spec: ModelSpec, env: BackendEnv) -> str:
    if spec.is_builtin:
        return str(ensure_builtin(spec.source.removeprefix("builtin:"), Path(env.models_dir)))
    return spec.source


class DiffusersTextToImage:
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        self.spec = spec
        self.env = env
        self.pipe: Any = None
        self.device = "cpu"

    def setup(self) -> None:
        import diffusers
        from diffusers import AutoPipelineForText2Image

        diffusers.utils.logging.disable_progress_bar()
        self.device = resolve_device(self.spec.device)
        source = resolve_source(self.spec, self.env)
        try:
            pipe = AutoPipelineForText2Image.from_pretrained(
                source,
                dtype=resolve_dtype(self.spec, self.device),
                use_safetensors=True,
                revision=self.spec.revision,
                variant=self.spec.variant,
            )
        except (OSError, ValueError, EnvironmentError) as exc:
            raise ModelLoadError(f"model {self.spec.id!r} could not be loaded from {source!r}: {exc}") from exc
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe.to(self.device)

    def run(self, params: BaseModel, ctx: RunContext) -> InferenceResult:
        import torch

        p: Any = params
        total = p.steps

        def on_step_end(_pipe: Any, index: int, _timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            ctx.step(index + 1, total)
            return kwargs

        generator = torch.Generator(device="cpu").manual_seed(ctx.seed)
        ctx.step(0, total)
        try:
            out = self.pipe(
                prompt=p.prompt,
                negative_prompt=p.negative_prompt or None,
                width=p.width,
                height=p.height,
                num_inference_steps=p.steps,
                guidance_scale=p.guidance,
                num_images_per_prompt=p.num_images,
                generator=generator,
                callback_on_step_end=on_step_end,
            )
        except torch.OutOfMemoryError as exc:
            self._free_cache()
            raise TransientInferenceError(f"out of memory on {self.device}: {exc}") from exc
        return InferenceResult(images=list(out.images))

    def _free_cache(self) -> None:
        import torch

        if self.device == "cuda":
            torch.cuda.empty_cache()

    def unload(self) -> None:
        self.pipe = None
        self._free_cache()

    def memory_bytes(self) -> int:
        if self.pipe is None:
            return 0
        return module_bytes(*(getattr(self.pipe, name, None) for name in ("unet", "transformer", "vae", "text_encoder", "text_encoder_2")))


register_backend("diffusers-text2img")(DiffusersTextToImage)

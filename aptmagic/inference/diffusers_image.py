"""Text-to-image and image-to-image with diffusers pipelines loaded by ``from_pretrained``.

Image-to-image reuses the text-to-image weights (``from_pipe``), so one
registry entry serves both tasks. A source image larger than the model's
limits is scaled down to fit, keeping its aspect ratio, to multiples of 8."""

from __future__ import annotations

import io
import logging
from typing import Any

from PIL import Image, ImageOps
from pydantic import BaseModel

from aptmagic.inference.base import BackendEnv, InferenceError, InferenceResult, RunContext
from aptmagic.inference.registry import register_backend
from aptmagic.inference.spec import ModelSpec
from aptmagic.inference.torch_base import TorchBackend

log = logging.getLogger(__name__)
MIN_SIDE = 64


def fit_size(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """Scale down to fit the limits (never up), keeping the aspect ratio, to multiples of 8."""
    scale = min(1.0, max_width / width, max_height / height)
    fitted = [max(MIN_SIDE, int(side * scale) // 8 * 8) for side in (width, height)]
    return fitted[0], fitted[1]


class DiffusersImage(TorchBackend):
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        super().__init__(spec, env)
        self.pipe: Any = None
        self._img2img: Any = None

    def setup(self) -> None:
        import diffusers
        from diffusers import AutoPipelineForText2Image

        diffusers.utils.logging.disable_progress_bar()
        source = self.prepare()
        pipe = self.weights(AutoPipelineForText2Image.from_pretrained, source, variant=self.spec.variant)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = self.place(pipe)

    def run(self, params: BaseModel, ctx: RunContext) -> InferenceResult:
        import torch

        generator = torch.Generator(device="cpu").manual_seed(ctx.seed)
        with self.oom_is_transient():
            if hasattr(params, "source"):
                return self._image_to_image(params, ctx, generator)
            return self._text_to_image(params, ctx, generator)

    def _text_to_image(self, p: Any, ctx: RunContext, generator: Any) -> InferenceResult:
        ctx.step(0, p.steps)
        out = self.pipe(
            prompt=p.prompt,
            negative_prompt=p.negative_prompt or None,
            width=p.width,
            height=p.height,
            num_inference_steps=p.steps,
            guidance_scale=p.guidance,
            num_images_per_prompt=p.num_images,
            generator=generator,
            callback_on_step_end=_step_callback(ctx, p.steps),
        )
        return InferenceResult(images=list(out.images))

    def _image_to_image(self, p: Any, ctx: RunContext, generator: Any) -> InferenceResult:
        source = self._source_image(ctx.load_input(p.source).data)
        total = max(1, int(p.steps * p.strength))
        ctx.step(0, total)
        out = self._img2img_pipe()(
            prompt=p.prompt,
            negative_prompt=p.negative_prompt or None,
            image=source,
            strength=p.strength,
            num_inference_steps=p.steps,
            guidance_scale=p.guidance,
            num_images_per_prompt=p.num_variations,
            generator=generator,
            callback_on_step_end=_step_callback(ctx, total),
        )
        return InferenceResult(images=list(out.images), data={"source_size": list(source.size)})

    def _source_image(self, data: bytes) -> Image.Image:
        try:
            image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
        except (OSError, ValueError) as exc:
            raise InferenceError(f"the source image could not be decoded: {exc}") from exc
        limits = self.spec.limits
        size = fit_size(image.width, image.height, limits.get("max_width", 1024), limits.get("max_height", 1024))
        return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)

    def _img2img_pipe(self) -> Any:
        if self._img2img is None:
            from diffusers import AutoPipelineForImage2Image

            self._img2img = AutoPipelineForImage2Image.from_pipe(self.pipe)
            self._img2img.set_progress_bar_config(disable=True)
        return self._img2img

    def release(self) -> None:
        self.pipe = self._img2img = None

    def modules(self) -> tuple[Any, ...]:
        if self.pipe is None:
            return ()
        names = ("unet", "transformer", "vae", "text_encoder", "text_encoder_2")
        return tuple(getattr(self.pipe, name, None) for name in names)


def _step_callback(ctx: RunContext, total: int) -> Any:
    def on_step_end(_pipe: Any, index: int, _timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        ctx.step(min(index + 1, total), total)
        return kwargs

    return on_step_end


register_backend("diffusers")(DiffusersImage)

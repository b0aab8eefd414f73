"""PNG encoding of generated images, with the generation parameters embedded."""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

PNG_COMPRESS_LEVEL = 4


def a1111_parameters(params: dict[str, Any], model_id: str) -> str:
    """The 'parameters' text chunk in the form other image tools read."""
    lines = [str(params.get("prompt", ""))]
    if params.get("negative_prompt"):
        lines.append(f"Negative prompt: {params['negative_prompt']}")
    fields = [
        ("Steps", params.get("steps")),
        ("CFG scale", params.get("guidance")),
        ("Seed", params.get("seed")),
        ("Size", f"{params.get('width')}x{params.get('height')}" if params.get("width") else None),
        ("Model", model_id),
    ]
    lines.append(", ".join(f"{name}: {value}" for name, value in fields if value is not None))
    return "\n".join(lines)


def encode_png(image: Image.Image, metadata: dict[str, Any]) -> bytes:
    info = PngInfo()
    info.add_text("parameters", a1111_parameters(metadata.get("params", {}), str(metadata.get("model", ""))))
    info.add_text("aptmagic", json.dumps(metadata, sort_keys=True))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()

